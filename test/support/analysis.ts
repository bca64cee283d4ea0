/**
 * Helpers for the analysis tests: the fixtures as alerts, a valid engine answer, the
 * `ai:` config for fakes, a hand-driven clock, and reading a job's answer as the result schema.
 */

import { expect } from "bun:test";
import { type Alert, type AlertmanagerPayload, alertsOf } from "../../src/alerts/alert.ts";
import { type AnalysisResult, resultSchema } from "../../src/analysis/schema.ts";
import { readFixture } from "./fixtures.ts";

export function fixture(
  name: "alertmanager-firing" | "alertmanager-mixed" | "alertmanager-zh",
): AlertmanagerPayload {
  return readFixture<AlertmanagerPayload>(`${name}.json`);
}

/** The first alert of a fixture, with its id. */
export function fixtureAlert(name: Parameters<typeof fixture>[0], i = 0): Alert {
  return alertsOf(fixture(name))[i];
}

export function alertOf(labels: Record<string, string>, more: Partial<Alert> = {}): Alert {
  return {
    status: "firing",
    labels,
    annotations: {},
    startsAt: "2026-11-28T08:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    ...more,
  } as Alert;
}

/** A valid engine answer (the analysis shape), as an object. */
export function goodAnalysis(over: Record<string, unknown> = {}) {
  return {
    summary: "CPU saturated by a runaway batch job on 10.0.0.11",
    severity: "critical",
    root_causes: [
      {
        cause: "nightly-report job stuck in a loop",
        confidence: 0.8,
        evidence: "top shows report.py at 390%",
      },
    ],
    remediation: [{ step: "Stop the job", command: "systemctl stop nightly-report", risk: "medium" }],
    ...over,
  };
}

export interface AiOpts {
  order?: string[];
  dify?: {
    url: string;
    workflowKey?: string;
    chatKey?: string;
    chatMode?: "chat" | "agent";
    timeout?: string;
  };
  ollama?: { url: string; model?: string; embed?: string; timeout?: string };
  timeout?: string;
  breaker?: { failures: number; cooloff: string };
  language?: "en" | "zh";
  similar?: string;
  /** ai.reuse_for; `0s` unless given: these tests ask the engines for every job of one alert. */
  reuseFor?: string;
}

/** The `ai:` section of a worker.yaml for the fakes. */
export function aiYaml(o: AiOpts): string {
  const lines = ["ai:", `  order: [${(o.order ?? ["dify", "ollama", "builtin"]).join(", ")}]`];
  if (o.timeout) lines.push(`  timeout: ${o.timeout}`);
  if (o.language) lines.push(`  language: ${o.language}`);
  lines.push(`  reuse_for: ${o.reuseFor ?? "0s"}`);
  if (o.dify) {
    lines.push("  dify:", `    url: ${o.dify.url}`);
    if (o.dify.timeout) lines.push(`    timeout: ${o.dify.timeout}`);
    lines.push("    apps:");
    if (o.dify.workflowKey) lines.push(`      comprehensive: { mode: workflow, key: ${o.dify.workflowKey} }`);
    if (o.dify.chatKey)
      lines.push(
        `      quick: { mode: ${o.dify.chatMode ?? "chat"}, key: ${o.dify.chatKey} }`,
        `      root_cause: { mode: ${o.dify.chatMode ?? "chat"}, key: ${o.dify.chatKey} }`,
      );
  }
  if (o.ollama) {
    lines.push("  ollama:", `    url: ${o.ollama.url}`, `    model: ${o.ollama.model ?? "qwen2.5:7b"}`);
    if (o.ollama.embed) lines.push(`    embed_model: ${o.ollama.embed}`);
    if (o.ollama.timeout) lines.push(`    timeout: ${o.ollama.timeout}`);
  }
  if (o.breaker) lines.push(`  breaker: { failures: ${o.breaker.failures}, cooloff: ${o.breaker.cooloff} }`);
  if (o.similar) lines.push(`  similar: ${o.similar}`);
  return `${lines.join("\n")}\n`;
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()) {
  const c = {
    t: start,
    now: () => c.t,
    advance(ms: number) {
      c.t += ms;
    },
  };
  return c;
}

/** A 200 answer read as the result schema (which it must satisfy on every path). */
export async function resultOf(res: Response): Promise<AnalysisResult> {
  const body = await res.json();
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${JSON.stringify(body)}`);
  const r = resultSchema.safeParse(body);
  if (!r.success) throw new Error(`the answer does not fit the result schema: ${r.error.message}`);
  return r.data;
}

/** A payload job's 200 answer: its results, each read as the result schema. */
export async function resultsOf(res: Response): Promise<AnalysisResult[]> {
  const body = (await res.json()) as { results?: unknown[] };
  if (res.status !== 200 || !Array.isArray(body.results))
    throw new Error(`expected 200 with results, got ${res.status}: ${JSON.stringify(body)}`);
  return body.results.map((r) => resultSchema.parse(r));
}

/** A non-2xx answer's problem body. */
export async function problemOf(res: Response) {
  const body = (await res.json()) as {
    error: { code: string; message: string; retryable: boolean; details?: unknown };
  };
  expect(body.error).toBeDefined();
  return body.error;
}
