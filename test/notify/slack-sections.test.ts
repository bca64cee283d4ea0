/** Cutting a long mrkdwn line into Slack's 3000-character sections (src/notify/channels/slack.ts). */
import { expect, test } from "bun:test";
import { SLACK_SECTION_MAX, sections } from "../../src/notify/channels/slack.ts";

const unpaired = (s: string) => (s.match(/</g) ?? []).length !== (s.match(/>/g) ?? []).length;

test("a link whose URL holds raw & is not cut inside", () => {
  const link = "<https://grafana.example.com/d/x?orgId=1&var-host=a&var-x=b|📈 Graph>";
  const out = sections(`${"x".repeat(2950)} ${link}`);
  expect(out.some(unpaired)).toBe(false);
  expect(out.join("")).toContain(link);
});

test("an escape is not cut inside, and every section is at most 3000 characters", () => {
  const out = sections(`${"x".repeat(2998)}&amp;${"y".repeat(10)}`);
  expect(out[0].endsWith("x")).toBe(true);
  expect(out[1].startsWith("&amp;")).toBe(true);
  for (const s of out) expect(s.length).toBeLessThanOrEqual(SLACK_SECTION_MAX);
});

test("a lone surrogate before a link longer than a section still ends (no endless cutting)", () => {
  const line = `\uD83D<https://example.com/${"a".repeat(3200)}|x>`;
  const out = sections(line);
  expect(out.join("")).toBe(line);
});

test("no section is blank (Block Kit refuses one): blank lines around a long one, a long run of spaces", () => {
  for (const text of [
    `   \n${"x".repeat(2999)}`,
    `${"x".repeat(2999)}\n   \n\n${"y".repeat(2999)}`,
    " ".repeat(7000),
  ])
    for (const piece of sections(text)) expect(piece.trim()).not.toBe("");
});

test("a bare URL is not cut across two sections (the first would link to another dashboard)", () => {
  const url = `https://grafana.example.com/d/abc?orgId=1${"&amp;var-instance=db-03".repeat(80)}`;
  const out = sections(`${"磁盘写入慢".repeat(300)} ${url} ${"请检查".repeat(200)}`);
  expect(out.some((s) => s.includes(url))).toBe(true);
  for (const s of out) expect(s.length).toBeLessThanOrEqual(SLACK_SECTION_MAX);
  // A URL longer than a section is still cut (and the line still shortens).
  const huge = `https://example.com/${"a".repeat(3200)}`;
  expect(sections(`${"x".repeat(100)} ${huge}`).join("")).toBe(`${"x".repeat(100)} ${huge}`);
});
