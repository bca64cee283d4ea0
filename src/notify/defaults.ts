/**
 * The built-in templates, one set per output dialect: what an on-call engineer wants to read
 * at 3 a.m. — firing and resolved in separate sections (worst first), the count in the title,
 * one block per alert with severity, summary, description, the labels that matter, start time
 * (and how long) in worker.timezone, and links to the graph, the runbook and a prefilled
 * silence. `alert-default` shows full blocks, `alert-compact` one line per alert. Each set also
 * has the summary shown as the last part of a group too large to send whole.
 * Values are escaped by the renderer for the dialect; URLs come pre-sanitised ({{{…_url}}}).
 */

/** How a rendered body is written: decides the default template and how values are escaped. */
export type Dialect = "text" | "markdown" | "wecom" | "lark" | "slack" | "html";

export interface TemplateSet {
  body: string;
  partials: { alert: string };
  /** The last part when a group is capped at max_parts. */
  summary: string;
}

export const BUILTIN_TEMPLATES = ["alert-default", "alert-compact"] as const;
export type BuiltinName = (typeof BUILTIN_TEMPLATES)[number];

const lines = (...l: string[]) => `${l.join("\n")}\n`;

/**
 * A firing alert's latest analysis, one line each (docs/notifications.md, "The analysis in the
 * message"): its summary, likely cause, evidence sentences, why there is no evidence, conflicts.
 */
const analysisLines = (prefix: string, bold = "") => [
  "{{#analysis}}",
  `${prefix}🔎 ${bold}{{t.analysis}}${bold}{{#by_rules}} ({{t.by_rules}}){{/by_rules}}: {{summary}}`,
  "{{#cause}}",
  `${prefix}{{t.likely_cause}}: {{cause}}`,
  "{{/cause}}",
  "{{#evidence}}",
  `${prefix}📊 {{.}}`,
  "{{/evidence}}",
  "{{#evidence_unavailable}}",
  `${prefix}{{t.evidence_unavailable}}: {{evidence_unavailable}}`,
  "{{/evidence_unavailable}}",
  "{{#conflicts}}",
  `${prefix}⚠️ {{t.contradicts}}: {{.}}`,
  "{{/conflicts}}",
  "{{/analysis}}",
];

// ---- plain text (DingTalk/WeCom/Feishu text, console, the email's text part)
const TEXT_BODY = lines(
  "{{#has_common_labels}}",
  "{{t.labels}}: {{#common_labels}}{{name}}={{value}}{{sep}}{{/common_labels}}",
  "{{/has_common_labels}}",
  "{{#left_out}}",
  "{{left_out}}",
  "{{/left_out}}",
  "{{#has_firing}}",
  "",
  "== {{t.FIRING}} ({{firing_count}}) ==",
  "{{#firing}}",
  "{{> alert}}",
  "{{/firing}}",
  "{{/has_firing}}",
  "{{#has_resolved}}",
  "",
  "== {{t.RESOLVED}} ({{resolved_count}}) ==",
  "{{#resolved}}",
  "{{> alert}}",
  "{{/resolved}}",
  "{{/has_resolved}}",
  "{{#alertmanager_url}}",
  "",
  "{{t.alertmanager}}: {{{alertmanager_url}}}",
  "{{/alertmanager_url}}",
  "{{#silence_all_url}}",
  "{{t.silence_all}}: {{{silence_all_url}}}",
  "{{/silence_all_url}}",
);
const TEXT_ALERT = lines(
  "",
  "{{mark}} [{{severity_upper}}] {{alertname}}{{#summary}} - {{summary}}{{/summary}}",
  "{{#description}}",
  // Each line indented: a later line at column 0 would read as another entry of the list.
  "{{#description_lines}}",
  "  {{.}}",
  "{{/description_lines}}",
  "{{/description}}",
  "{{#label_list}}",
  "  {{name}}: {{value}}",
  "{{/label_list}}",
  "{{#starts_at}}",
  "  {{t.started}}: {{starts_at}}{{#firing}} ({{t.firing_for}} {{duration}}){{/firing}}",
  "{{/starts_at}}",
  "{{#ends_at}}",
  "  {{t.resolved_at}}: {{ends_at}} ({{t.lasted}} {{duration}})",
  "{{/ends_at}}",
  "{{#has_value}}",
  "  {{t.value}}: {{value}}",
  "{{/has_value}}",
  ...analysisLines("  "),
  "{{#generator_url}}",
  "  {{t.graph}}: {{{generator_url}}}",
  "{{/generator_url}}",
  "{{#runbook_url}}",
  "  {{t.runbook}}: {{{runbook_url}}}",
  "{{/runbook_url}}",
  "{{#silence_url}}",
  "  {{t.silence}}: {{{silence_url}}}",
  "{{/silence_url}}",
);
const TEXT_COMPACT = lines(
  "{{mark}} [{{severity_upper}}] {{alertname}}{{#instance}} {{instance}}{{/instance}}{{#summary}} - {{summary}}{{/summary}}{{#duration}} ({{#firing}}{{t.for}} {{/firing}}{{duration}}){{/duration}}",
);
const TEXT_SUMMARY = lines(
  "{{#left_out}}",
  "{{left_out}}",
  "{{/left_out}}",
  "{{#omitted}}",
  "{{t.omitted_count}} {{t.omitted_shown}}",
  "{{t.by_severity}}: {{#by_severity}}{{name}} {{value}}{{sep}}{{/by_severity}}",
  "{{t.by_alertname}}: {{#by_alertname}}{{name}} {{value}}{{sep}}{{/by_alertname}}{{#more_alertnames}} · +{{more_alertnames}} {{t.more}}{{/more_alertnames}}",
  "{{/omitted}}",
  "{{#alertmanager_url}}",
  "{{t.every_alert}}: {{{alertmanager_url}}}",
  "{{/alertmanager_url}}",
);

// ---- markdown (DingTalk, Feishu, WeCom markdown_v2, webhook): blocks separated by blank lines
const MD_BODY = lines(
  "{{#has_common_labels}}",
  "**{{t.labels}}:** {{#common_labels}}{{name}}={{value}}{{sep}}{{/common_labels}}",
  "",
  "{{/has_common_labels}}",
  "{{#left_out}}",
  "**{{left_out}}**",
  "",
  "{{/left_out}}",
  "{{#has_firing}}",
  "#### 🔥 {{t.firing}} ({{firing_count}})",
  "",
  "{{#firing}}",
  "{{> alert}}",
  "{{/firing}}",
  "{{/has_firing}}",
  "{{#has_resolved}}",
  "#### ✅ {{t.resolved}} ({{resolved_count}})",
  "",
  "{{#resolved}}",
  "{{> alert}}",
  "{{/resolved}}",
  "{{/has_resolved}}",
  "{{#alertmanager_url}}",
  "[{{t.open_in_alertmanager}}]({{{alertmanager_url}}}){{#silence_all_url}} · [🔕 {{t.silence_all}}]({{{silence_all_url}}}){{/silence_all_url}}",
  "{{/alertmanager_url}}",
);
const MD_ALERT = lines(
  "**{{mark}} {{alertname}}** · {{severity_upper}}",
  "",
  "{{#summary}}",
  "{{summary}}",
  "",
  "{{/summary}}",
  "{{#description}}",
  "> {{description}}",
  "",
  "{{/description}}",
  "{{#label_list}}",
  "- {{name}}: {{value}}",
  "{{/label_list}}",
  "{{#starts_at}}",
  "- {{t.started}}: {{starts_at}}{{#firing}} ({{t.firing_for}} {{duration}}){{/firing}}",
  "{{/starts_at}}",
  "{{#ends_at}}",
  "- {{t.resolved_at}}: {{ends_at}} ({{t.lasted}} {{duration}})",
  "{{/ends_at}}",
  "{{#has_value}}",
  "- {{t.value}}: {{value}}",
  "{{/has_value}}",
  ...analysisLines("- ", "**"),
  "{{#has_links}}",
  "",
  "{{#generator_url}}[📈 {{t.graph}}]({{{generator_url}}}) {{/generator_url}}{{#runbook_url}}[📖 {{t.runbook}}]({{{runbook_url}}}) {{/runbook_url}}{{#silence_url}}[🔕 {{t.silence}}]({{{silence_url}}}){{/silence_url}}",
  "{{/has_links}}",
  "",
);
const MD_COMPACT = lines(
  "- {{mark}} **{{alertname}}**{{#instance}} {{instance}}{{/instance}}{{#summary}}: {{summary}}{{/summary}}{{#duration}} ({{#firing}}{{t.for}} {{/firing}}{{duration}}){{/duration}}{{#generator_url}} [{{t.graph_short}}]({{{generator_url}}}){{/generator_url}}",
);
const MD_SUMMARY = lines(
  "{{#left_out}}",
  "**{{left_out}}**",
  "",
  "{{/left_out}}",
  "{{#omitted}}",
  "**{{t.omitted_count}}** {{t.omitted_shown}}",
  "",
  "- {{t.by_severity}}: {{#by_severity}}{{name}} {{value}}{{sep}}{{/by_severity}}",
  "- {{t.by_alertname}}: {{#by_alertname}}{{name}} {{value}}{{sep}}{{/by_alertname}}{{#more_alertnames}} · +{{more_alertnames}} {{t.more}}{{/more_alertnames}}",
  "{{/omitted}}",
  "{{#alertmanager_url}}",
  "",
  "[{{t.see_every_alert}}]({{{alertmanager_url}}})",
  "{{/alertmanager_url}}",
);

// ---- WeCom markdown: its own colours for severity and status (<font color="warning|info|comment">),
// quotes for details; what the group shares (summary, graph, alertname, its links) shown once — the
// links on the first part — so a 4096-byte part holds 8+ alerts
const WECOM_BODY = lines(
  "{{#has_common_labels}}",
  "> {{#common_labels}}{{name}}={{value}}{{sep}}{{/common_labels}}",
  "",
  "{{/has_common_labels}}",
  "{{#shared_summary}}",
  "**{{shared_summary}}**",
  "",
  "{{/shared_summary}}",
  "{{#left_out}}",
  '<font color="warning">{{left_out}}</font>',
  "",
  "{{/left_out}}",
  "{{#has_firing}}",
  '**<font color="warning">🔥 {{t.firing}} ({{firing_count}})</font>**',
  "{{#firing}}",
  "{{> alert}}",
  "{{/firing}}",
  "{{/has_firing}}",
  "{{#has_resolved}}",
  '**<font color="info">✅ {{t.resolved}} ({{resolved_count}})</font>**',
  "{{#resolved}}",
  "{{> alert}}",
  "{{/resolved}}",
  "{{/has_resolved}}",
  "{{#first_part}}",
  "{{#alertmanager_url}}[{{t.open_in_alertmanager}}]({{{alertmanager_url}}}) {{/alertmanager_url}}{{#shared_graph_url}}[{{t.graph}}]({{{shared_graph_url}}}) {{/shared_graph_url}}{{#silence_all_url}}[{{t.silence_all}}]({{{silence_all_url}}}){{/silence_all_url}}",
  "{{/first_part}}",
);
const WECOM_ALERT = lines(
  // The title names a group's shared alertname: a block repeats it only when the group mixes names.
  '{{mark}} {{^shared_alertname}}**{{alertname}}** {{/shared_alertname}}<font color="{{color}}">{{severity_upper}}</font>',
  "{{#own_summary}}",
  "{{own_summary}}",
  "{{/own_summary}}",
  "{{#description}}",
  // WeCom quotes one line per "> ": each line of a description gets its own.
  "{{#description_lines}}",
  "> {{.}}",
  "{{/description_lines}}",
  "{{/description}}",
  "{{#label_list}}",
  "> {{name}}: {{value}}",
  "{{/label_list}}",
  "{{#starts_at}}",
  "> {{t.started}}: {{starts_at}}{{#firing}} ({{t.firing_for}} {{duration}}){{/firing}}",
  "{{/starts_at}}",
  "{{#ends_at}}",
  "> {{t.resolved_at}}: {{ends_at}} ({{t.lasted}} {{duration}})",
  "{{/ends_at}}",
  "{{#has_value}}",
  "> {{t.value}}: {{value}}",
  "{{/has_value}}",
  ...analysisLines("> ", "**"),
  "{{#has_links}}",
  "{{#own_graph_url}}[{{t.graph}}]({{{own_graph_url}}}) {{/own_graph_url}}{{#runbook_url}}[{{t.runbook}}]({{{runbook_url}}}) {{/runbook_url}}{{#silence_url}}[{{t.silence}}]({{{silence_url}}}){{/silence_url}}",
  "{{/has_links}}",
  "",
);

// WeCom markdown v1 renders no lists: "• " instead of "- " (docs/contracts.md#wecom-group-robot).
const bullets = (t: string) => t.replace(/^- /gm, "• ");
const WECOM_COMPACT = bullets(MD_COMPACT);
const WECOM_SUMMARY = bullets(MD_SUMMARY);

// ---- Feishu card lark_md: bold, links and colour render; headings, quotes and lists do not
// (docs/contracts.md#feishu-bot), so sections are bold lines, details plain, bullets "• ".
const LARK_BODY = MD_BODY.replace(/^#### (.*)$/gm, "**$1**");
const LARK_ALERT = bullets(MD_ALERT).replace(/^> /gm, "");
const LARK_COMPACT = WECOM_COMPACT;
const LARK_SUMMARY = WECOM_SUMMARY;

// ---- Slack mrkdwn (*bold*, <url|text>)
const SLACK_BODY = lines(
  "{{#has_common_labels}}",
  "*{{t.labels}}:* {{#common_labels}}{{name}}={{value}}{{sep}}{{/common_labels}}",
  "",
  "{{/has_common_labels}}",
  "{{#left_out}}",
  "*{{left_out}}*",
  "",
  "{{/left_out}}",
  "{{#has_firing}}",
  "*🔥 {{t.firing}} ({{firing_count}})*",
  "",
  "{{#firing}}",
  "{{> alert}}",
  "{{/firing}}",
  "{{/has_firing}}",
  "{{#has_resolved}}",
  "*✅ {{t.resolved}} ({{resolved_count}})*",
  "",
  "{{#resolved}}",
  "{{> alert}}",
  "{{/resolved}}",
  "{{/has_resolved}}",
  "{{#alertmanager_url}}",
  "<{{{alertmanager_url}}}|{{t.open_in_alertmanager}}>{{#silence_all_url}} · <{{{silence_all_url}}}|🔕 {{t.silence_all}}>{{/silence_all_url}}",
  "{{/alertmanager_url}}",
);
const SLACK_ALERT = lines(
  "{{mark}} *{{alertname}}* · {{severity_upper}}{{#summary}} — {{summary}}{{/summary}}",
  "{{#description}}",
  // Slack quotes one line per ">": each line of a description gets its own.
  "{{#description_lines}}",
  ">{{.}}",
  "{{/description_lines}}",
  "{{/description}}",
  "{{#label_list}}",
  "• {{name}}: {{value}}",
  "{{/label_list}}",
  "{{#starts_at}}",
  "• {{t.started}}: {{starts_at}}{{#firing}} ({{t.firing_for}} {{duration}}){{/firing}}",
  "{{/starts_at}}",
  "{{#ends_at}}",
  "• {{t.resolved_at}}: {{ends_at}} ({{t.lasted}} {{duration}})",
  "{{/ends_at}}",
  "{{#has_value}}",
  "• {{t.value}}: {{value}}",
  "{{/has_value}}",
  ...analysisLines("• ", "*"),
  "{{#has_links}}",
  "{{#generator_url}}<{{{generator_url}}}|📈 {{t.graph}}>  {{/generator_url}}{{#runbook_url}}<{{{runbook_url}}}|📖 {{t.runbook}}>  {{/runbook_url}}{{#silence_url}}<{{{silence_url}}}|🔕 {{t.silence}}>{{/silence_url}}",
  "{{/has_links}}",
  "",
);
const SLACK_COMPACT = lines(
  "• {{mark}} *{{alertname}}*{{#instance}} {{instance}}{{/instance}}{{#summary}}: {{summary}}{{/summary}}{{#duration}} ({{#firing}}{{t.for}} {{/firing}}{{duration}}){{/duration}}{{#generator_url}} <{{{generator_url}}}|{{t.graph_short}}>{{/generator_url}}",
);
const SLACK_SUMMARY = lines(
  "{{#left_out}}",
  "*{{left_out}}*",
  "{{/left_out}}",
  "{{#omitted}}",
  "*{{t.omitted_count}}* {{t.omitted_shown}}",
  "• {{t.by_severity}}: {{#by_severity}}{{name}} {{value}}{{sep}}{{/by_severity}}",
  "• {{t.by_alertname}}: {{#by_alertname}}{{name}} {{value}}{{sep}}{{/by_alertname}}{{#more_alertnames}} · +{{more_alertnames}} {{t.more}}{{/more_alertnames}}",
  "{{/omitted}}",
  "{{#alertmanager_url}}",
  "<{{{alertmanager_url}}}|{{t.see_every_alert}}>",
  "{{/alertmanager_url}}",
);

// ---- HTML (email): inline styles only, as mail clients need
// Chinese faces named after the Latin ones: without them Outlook on Windows falls back to SimSun.
const FONT =
  "font-family:-apple-system,'Segoe UI',Helvetica,Arial,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;font-size:14px;color:#1f2328";
const HTML_BODY = lines(
  `<!DOCTYPE html><html lang="{{t.lang}}"><head><meta charset="utf-8"><title>{{title}}</title></head><body style="${FONT}">`,
  '<h2 style="margin:0 0 8px">{{title}}</h2>',
  '{{#has_common_labels}}<p style="color:#57606a;margin:0 0 8px">{{#common_labels}}{{name}}=<b>{{value}}</b>{{sep}}{{/common_labels}}</p>{{/has_common_labels}}',
  '{{#left_out}}<p style="color:#9a6700;font-weight:600">{{left_out}}</p>{{/left_out}}',
  '{{#has_firing}}<h3 style="color:#cf222e;margin:16px 0 4px">🔥 {{t.firing}} ({{firing_count}})</h3>',
  "{{#firing}}{{> alert}}{{/firing}}{{/has_firing}}",
  '{{#has_resolved}}<h3 style="color:#1a7f37;margin:16px 0 4px">✅ {{t.resolved}} ({{resolved_count}})</h3>',
  "{{#resolved}}{{> alert}}{{/resolved}}{{/has_resolved}}",
  "{{#omitted}}{{> summary}}{{/omitted}}",
  '{{#alertmanager_url}}<p><a href="{{alertmanager_url}}">{{t.open_in_alertmanager}}</a>{{#silence_all_url}} · <a href="{{silence_all_url}}">{{t.silence_all}}</a>{{/silence_all_url}}</p>{{/alertmanager_url}}',
  '<p style="color:#8c959f;font-size:12px">{{t.sent_by}} · {{generated_at}}</p>',
  "</body></html>",
);
const HTML_ALERT = lines(
  '<div style="border-left:4px solid {{hex}};padding:4px 12px;margin:8px 0">',
  '<div><b>{{mark}} {{alertname}}</b> <span style="color:{{hex}};font-weight:600">{{severity_upper}}</span></div>',
  "{{#summary}}<div>{{summary}}</div>{{/summary}}",
  '{{#description}}<div style="color:#57606a;white-space:pre-wrap">{{description}}</div>{{/description}}',
  '{{#has_labels}}<table style="font-size:13px;border-collapse:collapse;margin:4px 0">{{#label_list}}<tr><td style="color:#57606a;padding:0 12px 0 0">{{name}}</td><td>{{value}}</td></tr>{{/label_list}}</table>{{/has_labels}}',
  '<div style="font-size:13px;color:#57606a">{{#starts_at}}{{t.started}} {{starts_at}}{{#firing}} ({{t.firing_for}} {{duration}}){{/firing}}{{/starts_at}}{{#ends_at}} · {{t.resolved_at}} {{ends_at}} ({{t.lasted}} {{duration}}){{/ends_at}}{{#has_value}} · {{t.value}} {{value}}{{/has_value}}</div>',
  '{{#analysis}}<div style="font-size:13px;margin:4px 0;padding:4px 8px;background:#f6f8fa"><div>🔎 <b>{{t.analysis}}</b>{{#by_rules}} ({{t.by_rules}}){{/by_rules}}: {{summary}}</div>{{#cause}}<div>{{t.likely_cause}}: {{cause}}</div>{{/cause}}{{#evidence}}<div>📊 {{.}}</div>{{/evidence}}{{#evidence_unavailable}}<div style="color:#57606a">{{t.evidence_unavailable}}: {{evidence_unavailable}}</div>{{/evidence_unavailable}}{{#conflicts}}<div style="color:#bc4c00">⚠️ {{t.contradicts}}: {{.}}</div>{{/conflicts}}</div>{{/analysis}}',
  '{{#has_links}}<div style="font-size:13px">{{#generator_url}}<a href="{{generator_url}}">{{t.graph}}</a> &nbsp;{{/generator_url}}{{#runbook_url}}<a href="{{runbook_url}}">{{t.runbook}}</a> &nbsp;{{/runbook_url}}{{#silence_url}}<a href="{{silence_url}}">{{t.silence}}</a>{{/silence_url}}</div>{{/has_links}}',
  "</div>",
);
const HTML_COMPACT = lines(
  '<div style="margin:2px 0">{{mark}} <b>{{alertname}}</b>{{#instance}} {{instance}}{{/instance}}{{#summary}}: {{summary}}{{/summary}}{{#duration}} ({{#firing}}{{t.for}} {{/firing}}{{duration}}){{/duration}}{{#generator_url}} <a href="{{generator_url}}">{{t.graph_short}}</a>{{/generator_url}}</div>',
);
const HTML_SUMMARY_BLOCK =
  "<p><b>{{t.omitted_count}}</b> {{t.omitted_shown}}<br>{{t.by_severity}}: {{#by_severity}}{{name}} {{value}}{{sep}}{{/by_severity}}<br>{{t.by_alertname}}: {{#by_alertname}}{{name}} {{value}}{{sep}}{{/by_alertname}}{{#more_alertnames}} · +{{more_alertnames}} {{t.more}}{{/more_alertnames}}</p>";

const SETS: Record<Dialect, { body: string; alert: string; compact: string; summary: string }> = {
  text: { body: TEXT_BODY, alert: TEXT_ALERT, compact: TEXT_COMPACT, summary: TEXT_SUMMARY },
  markdown: { body: MD_BODY, alert: MD_ALERT, compact: MD_COMPACT, summary: MD_SUMMARY },
  wecom: { body: WECOM_BODY, alert: WECOM_ALERT, compact: WECOM_COMPACT, summary: WECOM_SUMMARY },
  lark: { body: LARK_BODY, alert: LARK_ALERT, compact: LARK_COMPACT, summary: LARK_SUMMARY },
  slack: { body: SLACK_BODY, alert: SLACK_ALERT, compact: SLACK_COMPACT, summary: SLACK_SUMMARY },
  html: { body: HTML_BODY, alert: HTML_ALERT, compact: HTML_COMPACT, summary: HTML_BODY },
};

/** The built-in template of a dialect. */
export function builtinTemplate(name: BuiltinName, dialect: Dialect): TemplateSet {
  const s = SETS[dialect];
  return {
    body: s.body,
    partials: { alert: name === "alert-compact" ? s.compact : s.alert },
    summary: s.summary,
  };
}

/** The HTML summary block, a partial of the HTML body (the summary part renders the whole page). */
export const HTML_PARTIALS = { summary: HTML_SUMMARY_BLOCK };

export function isBuiltin(name: string): name is BuiltinName {
  return (BUILTIN_TEMPLATES as readonly string[]).includes(name);
}
