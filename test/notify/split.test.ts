import { describe, expect, test } from "bun:test";
import { alertmanagerPayloadSchema } from "../../src/alerts/alert.ts";
import { inputOf } from "../../src/notify/job.ts";
import { type OutPart, splitAlerts, splitText } from "../../src/notify/split.ts";
import type { RenderSpec } from "../../src/notify/templates.ts";
import { escapeText, utf8Length } from "../../src/notify/text.ts";
import { buildView } from "../../src/notify/view.ts";
import { bigGroup } from "../support/alert-groups.ts";

const spec: RenderSpec = {
  template: { name: "alert-default", builtin: true },
  dialect: "text",
  escape: escapeText,
};
const fitsBytes = (max: number) => (p: OutPart) => utf8Length(p.title) + utf8Length(p.body) <= max;

function group(
  n: number,
  over: (a: Record<string, unknown>, i: number) => void = () => {},
  locale: "en" | "zh-CN" = "en",
) {
  const p = bigGroup(n, { zh: true });
  for (const [i, a] of p.alerts.entries()) over(a as unknown as Record<string, unknown>, i);
  const input = inputOf({ payload: alertmanagerPayloadSchema.parse(p) });
  if (input.kind !== "alerts") throw new Error("alerts expected");
  return { payload: p, view: buildView(input, { timezone: "UTC", now: Date.UTC(2026, 10, 28, 9), locale }) };
}

describe("splitting at alert boundaries (UTF-8 bytes)", () => {
  test("a group that fits is one part, unnumbered", () => {
    const parts = splitAlerts(group(3).view, spec, fitsBytes(20_000), 5);
    expect(parts).toHaveLength(1);
    expect(parts[0].title).toBe("🔴 [FIRING:3] 磁盘空间不足");
  });

  test("a large group: numbered parts, each within the limit, every alert whole in exactly one part", () => {
    const { payload, view } = group(200);
    const parts = splitAlerts(view, spec, fitsBytes(4096), 50);
    expect(parts.length).toBeGreaterThan(10);
    parts.forEach((p, i) => {
      expect(utf8Length(p.title) + utf8Length(p.body)).toBeLessThanOrEqual(4096);
      expect(p.title).toEndWith(` (${i + 1}/${parts.length})`);
    });
    expect(parts.reduce((n, p) => n + p.alerts, 0)).toBe(200);
    for (const a of payload.alerts) {
      expect(parts.filter((p) => p.body.includes(a.annotations.description))).toHaveLength(1);
    }
  });

  test("past max_parts: max_parts − 1 parts of alerts and a summary part that counts the rest", () => {
    const parts = splitAlerts(group(200).view, spec, fitsBytes(4096), 4);
    expect(parts).toHaveLength(4);
    const shown = parts.slice(0, 3).reduce((n, p) => n + p.alerts, 0);
    expect(parts[3].alerts).toBe(0);
    expect(parts[3].title).toEndWith("(4/4)");
    expect(parts[3].body).toContain(`${200 - shown} more alerts are not listed here (${shown} were sent`);
    const counts = /By severity: critical (\d+) · warning (\d+) · info (\d+)/.exec(parts[3].body);
    expect(counts?.slice(1).reduce((n, c) => n + Number(c), 0)).toBe(200 - shown);
  });

  test("max_parts 1: the one summary part also says what Alertmanager's max_alerts left out", () => {
    const { payload } = group(60);
    const input = inputOf({ payload: alertmanagerPayloadSchema.parse({ ...payload, truncatedAlerts: 48 }) });
    if (input.kind !== "alerts") throw new Error("alerts expected");
    const view = buildView(input, { timezone: "UTC", now: Date.UTC(2026, 10, 28, 9) });
    for (const dialect of ["text", "markdown", "slack"] as const) {
      const parts = splitAlerts(view, { ...spec, dialect }, fitsBytes(4096), 1);
      expect(parts).toHaveLength(1);
      expect(parts[0].body).toContain("Alertmanager left 48 more alerts out of this notification");
    }
  });

  test("one alert larger than a message is shortened visibly, never cut silently", () => {
    const { view } = group(1, (a) => {
      (a.annotations as Record<string, string>).description = "数据".repeat(5000);
    });
    const [p] = splitAlerts(view, spec, fitsBytes(2048), 5);
    expect(utf8Length(p.title) + utf8Length(p.body)).toBeLessThanOrEqual(2048);
    expect(p.body).toContain("… [truncated]");
    expect(p.body).toContain("Started:");
  });

  test("the marker of a cut text is in the page's language", () => {
    const long = (a: Record<string, unknown>) => {
      (a.annotations as Record<string, string>).description = "数据".repeat(5000);
    };
    const [zh] = splitAlerts(group(1, long, "zh-CN").view, spec, fitsBytes(2048), 5);
    expect(zh.body).toContain("… [已截断]");
    expect(zh.body).not.toContain("truncated");
    const cut = splitAlerts(group(1, long, "zh-CN").view, spec, fitsBytes(120), 5)[0];
    expect(cut.body).toEndWith("[已截断]");
  });

  test("free text is split at line boundaries, numbered, and capped with a note", () => {
    const body = Array.from({ length: 100 }, (_, i) => `line ${i} ${"字".repeat(20)}`).join("\n");
    const parts = splitText({ title: "Report", body }, fitsBytes(1000), 50);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(utf8Length(p.title) + utf8Length(p.body)).toBeLessThanOrEqual(1000);
    expect(parts.map((p) => p.body).join("\n")).toBe(body);
    const capped = splitText({ title: "Report", body }, fitsBytes(1000), 2);
    expect(capped).toHaveLength(2);
    expect(capped[1].body).toMatch(/… \[\d+ more lines? not sent: max_parts is 2\]$/);
    const [, left] = /\[(\d+) more/.exec(capped[1].body) ?? [];
    const shownLines = capped.map((p) => p.body.split("\n").length).reduce((a, b) => a + b, 0) - 1;
    expect(shownLines + Number(left)).toBe(100);
  });
});

describe("free text of many short lines", () => {
  test("300,000 lines are packed in time, each part as full as it can be, nothing lost", () => {
    // Before: every line joined the part so far again, 22 s of a blocked loop (bun:test cannot stop
    // a blocked test, so the time is asserted; fixed, it takes well under a second).
    const body = Array.from({ length: 300_000 }, (_, i) => `l${i % 10}`).join("\n");
    const started = performance.now();
    const parts = splitText({ title: "Report", body }, fitsBytes(20_000), 1_000);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(parts.map((p) => p.body).join("\n")).toBe(body);
    for (const p of parts.slice(0, -1)) expect(fitsBytes(20_000)(p)).toBe(true);
    // As full as it can be: the next part's first line would not have fitted.
    const [a, b] = parts;
    expect(fitsBytes(20_000)({ ...a, body: `${a.body}\n${b.body.split("\n")[0]}` })).toBe(false);
  });
});

describe("the last-resort cut of a line too long for any part", () => {
  /** What is kept of one long line cut to fit 1000 bytes (the title and the marker included). */
  const kept = (line: string) => splitText({ title: "t", body: line }, fitsBytes(1000), 1)[0].body;

  test("ASCII data after a link or a URL is cut at its end, not back to the URL (about 900 of 1000 bytes kept)", () => {
    for (const line of [
      `{"runbook":"https://wiki.example.com/x","msg":"${"a".repeat(30_000)}"}`,
      `[runbook](https://wiki.example.com/x)${"a".repeat(30_000)}`,
      `see https://wiki.example.com/x?${"k=v,".repeat(8_000)}`,
      `[INFO] 服务 value\\](${"b".repeat(30_000)}`,
    ])
      expect(kept(line).length).toBeGreaterThan(800);
  });

  test("a link or URL the cut went through goes whole, its opening too (markdown, Slack, HTML)", () => {
    const pad = "字".repeat(250);
    expect(kept(`${pad}[图表](https://grafana.example/d/${"x".repeat(3000)})`)).toStartWith(`${pad}\n…`);
    expect(kept(`${pad}<https://grafana.example/d/${"x".repeat(3000)}|图表>`)).toStartWith(`${pad}\n…`);
    expect(kept(`${pad}<a href="https://grafana.example/d/${"x".repeat(3000)}">图表</a>`)).toStartWith(
      `${pad}\n…`,
    );
    // Escaped for DingTalk's markdown, a URL holds backslashes: still one URL.
    const escapedUrl = `https://grafana.example.com/d/abc/node\\_exporter\\_full?orgId=1${"&var\\_instance=node\\_1".repeat(100)}`;
    expect(kept(`${pad} ${escapedUrl}`)).toStartWith(`${pad} \n…`);
    // A URL inside another's query is part of it: the outer one goes whole, not to its `?next=`.
    const nested = `https://sso.example.com/login?next=https://grafana.example.com/d/abc?${"var-instance=db-03&".repeat(200)}`;
    expect(kept(`${pad}面板：${nested} 请检查`)).toStartWith(`${pad}面板：\n…`);
    // A backslash escaped before `](` leaves the link a link.
    expect(kept(`${pad}[C:\\\\](https://x.example/${"y".repeat(3000)})`)).toStartWith(`${pad}\n…`);
  });
});
