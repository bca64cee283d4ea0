/**
 * A read-only Prometheus HTTP API client for evidence (docs/contracts.md#prometheus-http-api):
 * GET /api/v1/query and /api/v1/query_range, each under a deadline. Anything but
 * `{"status":"success"}` is an EvidenceError saying why, never a crash.
 */

import { credentialsOf, maskCredentials } from "../../mask.ts";
import type { Fetch } from "../../ports.ts";
import { MiB, moreThan, readAnswer } from "../../read-limited.ts";

/** The most of a query's answer read: evidence queries are aggregated; a runaway answer must not fill memory. */
const ANSWER_LIMIT = 8 * MiB;

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Series {
  metric: Record<string, string>;
  values: [number, number][];
}

/** Why Prometheus gave no evidence, in English (`message`) and in Chinese (`zh`): a zh-CN page says it in Chinese. */
export class EvidenceError extends Error {
  override name = "EvidenceError";
  constructor(
    message: string,
    readonly zh: string,
  ) {
    super(message);
  }
}

export interface PromClient {
  instant(query: string, atS: number, signal: AbortSignal): Promise<Sample[]>;
  range(query: string, startS: number, endS: number, stepS: number, signal: AbortSignal): Promise<Series[]>;
}

export function promClient(fetch: Fetch, baseUrl: string, headers: Record<string, string> = {}): PromClient {
  const base = baseUrl.replace(/\/+$/, "");
  const get = async (path: string, params: Record<string, string>, signal: AbortSignal): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { headers, signal });
    } catch (e) {
      throw signal.aborted
        ? new EvidenceError("Prometheus did not answer in time", "Prometheus 未在时限内回答")
        : new EvidenceError(
            `Prometheus unreachable: ${(e as Error).message}`,
            `无法连接 Prometheus：${(e as Error).message}`,
          );
    }
    const { text, over } = await readAnswer(res, ANSWER_LIMIT).catch((e) => {
      // Headers came, then the body stalled past the timeout: said as that, not as its status.
      if (signal.aborted)
        throw new EvidenceError("Prometheus did not answer in time", "Prometheus 未在时限内回答");
      throw e;
    });
    if (over)
      throw new EvidenceError(
        `Prometheus answered ${moreThan(ANSWER_LIMIT)}; not read further`,
        `Prometheus 的回答超过 ${ANSWER_LIMIT / MiB} MiB，未继续读取`,
      );
    let body: { status?: string; data?: { resultType?: string; result?: unknown }; error?: string } | null =
      null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: reported below with the status
    }
    if (!res.ok || body?.status !== "success") {
      // Its error quoted back without the credentials we sent it (README, "Security").
      if (res.ok && !body)
        throw new EvidenceError(
          "Prometheus answered HTTP 200 but not with the query API's JSON (is the URL a Prometheus, not a login page or Grafana?)",
          "Prometheus 回答了 HTTP 200，但不是查询 API 的 JSON（该地址是 Prometheus 吗？还是登录页或 Grafana？）",
        );
      const why = body?.error ? `: ${maskCredentials(body.error, credentialsOf(base, headers))}` : "";
      throw new EvidenceError(
        `Prometheus answered HTTP ${res.status}${why}`,
        `Prometheus 回答 HTTP ${res.status}${why}`,
      );
    }
    return body.data?.result;
  };
  const num = (v: unknown) => Number(v);
  return {
    async instant(query, atS, signal) {
      const result = (await get("/api/v1/query", { query, time: String(atS) }, signal)) as
        | { metric: Record<string, string>; value: [number, string] }[]
        | undefined;
      if (!Array.isArray(result))
        throw new EvidenceError("Prometheus answered no vector", "Prometheus 的回答不是向量");
      return result.map((r) => ({ metric: r.metric ?? {}, value: num(r.value?.[1]) }));
    },
    async range(query, startS, endS, stepS, signal) {
      const result = (await get(
        "/api/v1/query_range",
        { query, start: String(startS), end: String(endS), step: String(stepS) },
        signal,
      )) as { metric: Record<string, string>; values: [number, string][] }[] | undefined;
      if (!Array.isArray(result))
        throw new EvidenceError("Prometheus answered no matrix", "Prometheus 的回答不是矩阵");
      return result.map((r) => ({
        metric: r.metric ?? {},
        values: (r.values ?? []).map(([t, v]) => [t, num(v)] as [number, number]),
      }));
    },
  };
}
