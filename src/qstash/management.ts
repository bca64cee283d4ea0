/**
 * QStash's management API as the worker uses it (docs/contracts.md#qstash): flow-control keys
 * (read the wait list, pin parallelism/rate), schedules (create idempotently by id) and the
 * DLQ link. A thin wrapper over @upstash/qstash's Client so callers get plain data and tests
 * can point it at a loopback fake.
 */
import { Client } from "@upstash/qstash";
import type { Config } from "../config/schema.ts";
import { ConfigError, transient } from "../errors.ts";
import { maskText, quotedAnswer, secretValuesOf } from "../mask.ts";

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
  /** Where QStash reports a scheduled run it gave up on (the worker's /jobs/failure). */
  failureCallback?: string;
}

/**
 * QStash saying it does not know a key: a 404 with QStash's JSON error body. A 404 in any other
 * shape ("404 page not found": a wrong qstash.url, a proxy) is an error, not "no key yet".
 */
const notFound = (e: unknown) => {
  const x = e as { status?: unknown; message?: unknown };
  return x.status === 404 && /^\s*\{[\s\S]*"error"/.test(String(x.message));
};

export interface QstashApi {
  /** undefined: QStash does not know the key yet (nothing was published under it). */
  flowControl(key: string): Promise<FlowControlState | undefined>;
  /** false: QStash refused it for a key it does not know yet (docs/contracts.md#qstash). */
  pin(key: string, opts: { parallelism?: number; rate?: number; period?: number }): Promise<boolean>;
  createSchedule(spec: ScheduleSpec): Promise<string>;
  listSchedules(): Promise<{ scheduleId: string; destination: string; cron: string }[]>;
}

/**
 * The SDK's client for this config. `devMode: false`: the SDK would otherwise obey QSTASH_DEV in
 * the environment, ignore the configured URL and token, and download and start its dev server.
 */
export function qstashClient(config: Config, retry?: false): Client {
  return new Client({
    token: config.qstash.token as string,
    baseUrl: config.qstash.url,
    devMode: false,
    ...(retry === false ? { retry: false } : {}),
  });
}

/** A count QStash reports: absent is 0; anything but a whole number is an answer not to act on. */
function count(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  throw new Error(`its ${field} is ${JSON.stringify(v)}, not a count`);
}

/**
 * A QStash client's error, its secrets masked: a proxy or a wrong qstash.url may quote the
 * request's Authorization back, escaped or encoded.
 */
export function qstashSaid(config: Config, e: unknown): string {
  return maskText(quotedAnswer(String((e as Error | null)?.message ?? e), secretValuesOf(config)).text);
}

export function qstashApi(config: Config): QstashApi {
  if (!config.qstash.token) {
    throw new ConfigError("qstash.token is required for the QStash API (setup-qstash, autoscale)", [
      { path: "qstash.token", message: "is required for the QStash API" },
    ]);
  }
  const client = qstashClient(config, false);
  const wrap = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw transient("qstash_api_failed", `QStash API: ${what} failed: ${qstashSaid(config, e)}`, 30);
    }
  };
  return {
    flowControl: (key) =>
      wrap(`reading flow-control key ${key}`, async () => {
        let info: Awaited<ReturnType<typeof client.flowControl.get>>;
        try {
          info = await client.flowControl.get(key);
        } catch (e) {
          // A key appears with its first message: before that QStash answers 404 (docs/contracts.md).
          if (notFound(e)) return undefined;
          throw e;
        }
        return {
          key,
          waitList: count(info.waitListSize, "waitListSize"),
          parallelism: count(info.parallelismMax, "parallelismMax"),
          active: count(info.parallelismCount, "parallelismCount"),
          pinned: !!info.isPinnedParallelism,
        };
      }),
    pin: (key, opts) =>
      wrap(`pinning flow-control key ${key}`, async () => {
        try {
          await client.flowControl.pin(key, opts);
          return true;
        } catch (e) {
          if (notFound(e)) return false;
          throw e;
        }
      }),
    createSchedule: (s) =>
      wrap(`creating schedule ${s.scheduleId}`, async () => {
        const res = await client.schedules.create({
          scheduleId: s.scheduleId,
          destination: s.destination,
          cron: s.cron,
          body: s.body,
          headers: { "content-type": "application/json" },
          ...(s.failureCallback ? { failureCallback: s.failureCallback } : {}),
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
