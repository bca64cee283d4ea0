import { describe, expect, test } from "bun:test";
import { alertmanagerPayloadSchema } from "../../src/alerts/alert.ts";
import type { AnalysisBrief } from "../../src/alerts/brief.ts";
import type { Dialect } from "../../src/notify/defaults.ts";
import { inputOf } from "../../src/notify/job.ts";
import type { Locale } from "../../src/notify/locale.ts";
import { type RenderSpec, renderAlerts } from "../../src/notify/templates.ts";
import { escapeHtml, escapeMarkdown, escapeText, safeUrl } from "../../src/notify/text.ts";
import { formatDuration, formatTime } from "../../src/notify/time.ts";
import { buildView, partView } from "../../src/notify/view.ts";
import { fixture } from "../support/alert-groups.ts";

/** 2026-11-28 09:00:00 UTC: an hour after the HighCPU fixture started firing. */
const NOW = Date.UTC(2026, 10, 28, 9, 0, 0);

function render(
  file: string,
  dialect: Dialect,
  opts: {
    tz?: string;
    compact?: boolean;
    title?: string;
    analyses?: Record<string, AnalysisBrief>;
    truncated?: number;
    locale?: Locale;
    part?: number;
  } = {},
) {
  const payload = alertmanagerPayloadSchema.parse({ ...fixture(file), truncatedAlerts: opts.truncated ?? 0 });
  const input = inputOf({ payload }, opts.analyses);
  if (input.kind !== "alerts") throw new Error("alerts expected");
  const group = buildView(input, { timezone: opts.tz ?? "UTC", now: NOW, locale: opts.locale });
  const esc = dialect === "html" ? escapeHtml : dialect === "text" ? escapeText : escapeMarkdown;
  const spec: RenderSpec = {
    template: { name: opts.compact ? "alert-compact" : "alert-default", builtin: true },
    dialect,
    escape: esc,
    title: opts.title,
  };
  return renderAlerts(spec, partView(group, group.all, opts.part ?? 1, opts.part ?? 1));
}

describe("the default templates: what an on-call engineer reads at 3 a.m.", () => {
  test("the title carries the worst severity, the counts and the group", () => {
    expect(render("alertmanager-firing.json", "text").title).toBe("🔴 [FIRING:2] HighCPU");
    expect(render("alertmanager-mixed.json", "text").title).toBe(
      "🟡 [FIRING:1, RESOLVED:1] KubePodCrashLooping",
    );
  });

  test("firing and resolved in separate sections, firing first; times and durations in the zone", () => {
    const { body } = render("alertmanager-mixed.json", "text", { tz: "Asia/Shanghai" });
    expect(body.indexOf("== FIRING (1) ==")).toBeLessThan(body.indexOf("== RESOLVED (1) =="));
    expect(body).toContain("Started: 2026-11-28 15:41:00 UTC+8 (firing for 1h 19m)");
    expect(body).toContain("Resolved: 2026-11-28 15:55:00 UTC+8 (lasted 35m)");
    // The label all alerts share is shown once, not on every alert.
    expect(body).toStartWith("Labels: namespace=payments\n");
    expect(body).not.toMatch(/^\s+namespace: /m);
  });

  test("one block per alert: severity, summary, description, the labels that matter, links", () => {
    const { body } = render("alertmanager-firing.json", "markdown");
    expect(body).toContain(
      "**🔴 HighCPU** · CRITICAL\n\nCPU usage above 90%\n\n> 10.0.0.11:9100 has been above 90% CPU",
    );
    expect(body).toContain("- instance: 10.0.0.11:9100\n- Started: 2026-11-28 08:00:00 UTC (firing for 1h)");
    expect(body).toContain("[📖 Runbook](https://runbooks.example/HighCPU)");
    expect(body).toContain(
      "[📈 Graph](http://prometheus.example:9090/graph?g0.expr=node_cpu_busy%3E90&g0.tab=1)",
    );
    expect(body).not.toContain("alertname:");
    expect(body).not.toContain("- severity:");
  });

  test("the silence link filters on what identifies the alert (alertname, groupLabels, instance); one link silences the group", () => {
    const { body } = render("alertmanager-firing.json", "text");
    const url = / {2}Silence: (\S+)/.exec(body)?.[1] ?? "";
    expect(url).toStartWith("http://alertmanager.example:9093/#/silences/new?filter=");
    expect(decodeURIComponent(url.split("filter=")[1])).toBe(
      '{alertname="HighCPU",instance="10.0.0.11:9100"}',
    );
    const all = /Silence all: (\S+)/.exec(body)?.[1] ?? "";
    expect(decodeURIComponent(all.split("filter=")[1])).toBe('{alertname="HighCPU"}');
    // Pod alerts have no instance: their links fall back to all their labels, so each still names its pod.
    const pods = render("alertmanager-mixed.json", "text").body;
    const links = [...pods.matchAll(/ {2}Silence: (\S+)/g)].map((m) =>
      decodeURIComponent(m[1].split("filter=")[1]),
    );
    expect(links).toHaveLength(2);
    expect(links[0]).toContain('pod="api-7d9f8-x2k4q"');
    expect(links[1]).toContain('pod="ledger-6f4c9-r7t2w"');
  });

  test("a firing alert's analysis under its block in every dialect: summary, cause, evidence, conflicts — escaped", () => {
    const payload = alertmanagerPayloadSchema.parse(fixture("alertmanager-firing.json"));
    const id = payload.alerts[0].fingerprint as string;
    const analysis: AnalysisBrief = {
      summary: "CPU saturated by *batch* jobs",
      cause: "A cron <job> started at 08:00",
      evidence: ["Busy 97% of the last 5 min", "Top mode: user (88%)"],
      evidence_unavailable: "",
      conflicts: ["Rated warning, but the CPU has been saturated for an hour."],
      engine: "ollama",
    };
    const expected: Record<Dialect, string[]> = {
      text: [
        "  🔎 Analysis: CPU saturated by *batch* jobs",
        "  📊 Top mode: user (88%)",
        "  ⚠️ Contradicts the evidence: Rated warning",
      ],
      markdown: [
        "- 🔎 **Analysis**: CPU saturated by \\*batch\\* jobs",
        "- Likely cause: A cron &lt;job&gt;",
        "- 📊 Busy 97% of the last 5 min",
      ],
      wecom: ["> 🔎 **Analysis**: ", "> 📊 Busy 97%"],
      lark: ["• 🔎 **Analysis**: ", "• 📊 Top mode"],
      slack: ["• 🔎 *Analysis*: ", "• ⚠️ Contradicts the evidence: "],
      html: [
        "🔎 <b>Analysis</b>: CPU saturated by *batch* jobs",
        "Likely cause: A cron &lt;job&gt; started",
        "<div>📊 Busy 97% of the last 5 min</div>",
      ],
    };
    for (const [dialect, parts] of Object.entries(expected) as [Dialect, string[]][]) {
      const { body } = render("alertmanager-firing.json", dialect, { analyses: { [id]: analysis } });
      for (const p of parts) expect(body).toContain(p);
      // Only the analysed alert carries it; the compact template has none.
      expect(body.split("Analysis").length - 1).toBe(1);
      const compact = render("alertmanager-firing.json", dialect, {
        compact: true,
        analyses: { [id]: analysis },
      });
      expect(compact.body).not.toContain("Analysis");
    }
  });

  test("alerts Alertmanager's max_alerts left out are said on the first part, in every dialect and locale", () => {
    const dialects: Dialect[] = ["text", "markdown", "wecom", "lark", "slack", "html"];
    for (const dialect of dialects) {
      expect(render("alertmanager-firing.json", dialect, { truncated: 48 }).body).toContain(
        "Alertmanager left 48 more alerts out of this notification",
      );
      expect(render("alertmanager-firing.json", dialect, { truncated: 48, locale: "zh-CN" }).body).toContain(
        "截去了另外 48 条告警",
      );
      expect(render("alertmanager-firing.json", dialect, { truncated: 48, part: 2 }).body).not.toContain(
        "left 48",
      );
      expect(render("alertmanager-firing.json", dialect).body).not.toContain("Alertmanager left");
    }
  });

  test("the compact template: one line per alert", () => {
    const { body } = render("alertmanager-firing.json", "markdown", { compact: true });
    const lines = body.split("\n").filter((l) => l.startsWith("- 🔴"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      "- 🔴 **HighCPU** 10.0.0.11:9100: CPU usage above 90% (for 1h) [graph](http://prometheus.example:9090/graph?g0.expr=node_cpu_busy%3E90&g0.tab=1)",
    );
  });

  test("the HTML email escapes every value and keeps its links", () => {
    const { body } = render("alertmanager-firing.json", "html");
    expect(body).toStartWith("<!DOCTYPE html>");
    expect(body).toContain("<title>🔴 [FIRING:2] HighCPU</title>");
    expect(body).toContain('<a href="https://runbooks.example/HighCPU">Runbook</a>');
    expect(body).toContain("<td>10.0.0.11:9100</td>");
  });

  test("the job's title template replaces the default", () => {
    expect(
      render("alertmanager-firing.json", "text", { title: "{{receiver}}: {{count}} alerts" }).title,
    ).toBe("alertagent-notify: 2 alerts");
  });
});

describe("escaping and links", () => {
  test("markdown: inline markup escaped, HTML as entities, block markers at line starts neutralised", () => {
    expect(escapeMarkdown("a*b_c`d[e](f)")).toBe("a\\*b\\_c\\`d\\[e\\](f)");
    expect(escapeMarkdown("<@all> & <font>")).toBe("&lt;@all&gt; &amp; &lt;font&gt;");
    expect(escapeMarkdown("# h\n- i\n12. x\nok")).toBe("\\# h  \n\\- i  \n12\\. x  \nok");
    expect(escapeMarkdown("10.0.0.1 -x #tag")).toBe("10.0.0.1 -x #tag");
  });

  test("only http(s) links survive, with what could end a link percent-encoded", () => {
    expect(safeUrl("javascript:alert(1)")).toBe("");
    expect(safeUrl("http://x/a b(c)|<d>")).toBe("http://x/a%20b%28c%29%7C%3Cd%3E");
    expect(safeUrl("http://x/?q=rate(x[5m])")).toBe("http://x/?q=rate%28x%5B5m%5D%29");
  });

  test("times in a zone and compact durations", () => {
    expect(formatTime("2026-11-28T08:00:00Z", "America/New_York")).toBe("2026-11-28 03:00:00 UTC-5");
    expect(formatTime("2026-11-28T08:00:00Z", "UTC")).toBe("2026-11-28 08:00:00 UTC");
    expect(formatDuration(45_000)).toBe("45s");
    expect(formatDuration(330_000)).toBe("5m 30s");
    expect(formatDuration(7_500_000)).toBe("2h 5m");
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe("3d 4h");
  });
});

describe("template parsing is cached by template", () => {
  test("a title template renders the same every time, and changed delimiters still work", () => {
    const first = render("alertmanager-firing.json", "markdown", {
      title: "{{=<% %>=}}[<% status %>] <% group_name %>",
    });
    const again = render("alertmanager-firing.json", "markdown", {
      title: "{{=<% %>=}}[<% status %>] <% group_name %>",
    });
    expect(first.title).toBe("[firing] HighCPU");
    expect(again).toEqual(first);
  });

  test("many distinct job titles render correctly (the cache is bounded, not a leak)", () => {
    for (let i = 0; i < 1500; i++) {
      expect(render("alertmanager-firing.json", "text", { title: `#${i} {{group_name}}` }).title).toBe(
        `#${i} HighCPU`,
      );
    }
  });
});

test("raw output ({{{…}}}) is left as it comes: a bidi control in it is not turned into '[U+202E]', whose brackets made a markdown link of '…(url)' after it", () => {
  const input = inputOf({
    alerts: [
      { status: "firing", labels: { alertname: "DiskFull\u202e(https://evil.example)" }, annotations: {} },
    ],
  });
  if (input.kind !== "alerts") throw new Error("alerts expected");
  const group = buildView(input, { timezone: "UTC", now: NOW });
  const spec = {
    template: {
      name: "rawmd",
      builtin: false,
      format: "markdown",
      title: "t",
      body: "{{#alerts}}- {{{alertname}}}{{/alerts}}",
    },
    dialect: "markdown",
    escape: escapeMarkdown,
  } as unknown as RenderSpec;
  const out = renderAlerts(spec, partView(group, group.all, 1, 1));
  expect(out.body).not.toContain("[U+202E](");
  // The same value escaped ({{…}}) is shown, its brackets escaped.
  const shown = renderAlerts(
    { ...spec, template: { ...spec.template, body: "{{#alerts}}- {{alertname}}{{/alerts}}" } } as RenderSpec,
    partView(group, group.all, 1, 1),
  );
  expect(shown.body).toContain("\\[U+202E\\]");
});
