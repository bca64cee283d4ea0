/**
 * QStash's management API as the worker uses it (docs/contracts.md#qstash): flow-control keys
 * (read the wait list, pin parallelism/rate), schedules (create idempotently by id) and the
 * DLQ link. A thin wrapper over @upstash/qstash's Client so callers get plain data and tests
 * can point it at a loopback fake.
 */
import { Client } from "@upstash/qstash";
import type { Config } from "../config/schema.ts";
import { ConfigError, transient } from "../errors.ts";

export interface FlowControlState {
  key: string;
  waitList: number;
  parallelism: number;
  active: number;
  pinned: boolean;
}

export interface ScheduleSpec {
  scheduleId: string;
  destination: string;
  cron: string;
  body?: string;
  flowControl?: { key: string; parallelism?: number; rate?: number; period?: number };
}

export interface QstashApi {
  flowControl(key: string): Promise<FlowControlState>;
  pin(key: string, opts: { parallelism?: number; rate?: number; period?: number }): Promise<void>;
  createSchedule(spec: ScheduleSpec): Promise<string>;
  listSchedules(): Promise<{ scheduleId: string; destination: string; cron: string }[]>;
}

export function qstashApi(config: Config): QstashApi {
  if (!config.qstash.token) {
    throw new ConfigError("qstash.token is required for the QStash API (setup-qstash, autoscale)", [
      { path: "qstash.token", message: "is required for the QStash API" },
    ]);
  }
  const client = new Client({ token: config.qstash.token, baseUrl: config.qstash.url, retry: false });
  const wrap = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw transient("qstash_api_failed", `QStash API: ${what} failed: ${(e as Error).message}`, 30);
    }
  };
  return {
    flowControl: (key) =>
      wrap(`reading flow-control key ${key}`, async () => {
        const info = await client.flowControl.get(key);
        return {
          key,
          waitList: info.waitListSize ?? 0,
          parallelism: info.parallelismMax ?? 0,
          active: info.parallelismCount ?? 0,
          pinned: !!info.isPinnedParallelism,
        };
      }),
    pin: (key, opts) => wrap(`pinning flow-control key ${key}`, () => client.flowControl.pin(key, opts)),
    createSchedule: (s) =>
      wrap(`creating schedule ${s.scheduleId}`, async () => {
        const res = await client.schedules.create({
          scheduleId: s.scheduleId,
          destination: s.destination,
          cron: s.cron,
          body: s.body,
          headers: { "content-type": "application/json" },
          ...(s.flowControl?.parallelism
            ? { flowControl: { ...s.flowControl, parallelism: s.flowControl.parallelism } }
            : {}),
        });
        return res.scheduleId;
      }),
    listSchedules: () =>
      wrap("listing schedules", async () =>
        (await client.schedules.list()).map((s) => ({
          scheduleId: s.scheduleId,
          destination: s.destination,
          cron: s.cron,
        })),
      ),
  };
}
