/**
 * A fake Slack incoming webhook on 127.0.0.1 (docs/contracts.md#slack-incoming-webhook). `POST /services/T/B/X`:
 * success is HTTP 200 with the body exactly `ok`; errors are Slack's strings — unknown hook →
 * 404 `no_service`, neither text nor blocks → 400 `no_text`, more than 50 blocks, a section
 * over 3000 characters or a header over 150, or either empty → 400 `invalid_blocks`; all blocks'
 * text over 13,200 characters → 400 `msg_blocks_too_long`; more than 10 a second →
 * 429 `rate_limited` with Retry-After (Slack allows short bursts over its 1/s).
 */
import { type FakeRobotServer, type Sliding, serveRobot, utf8, windowOf } from "./fake-robot.ts";

export interface FakeSlack extends FakeRobotServer {
  webhook(path: string): string;
}

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });

interface Block {
  type?: string;
  text?: { type?: string; text?: string };
}

/**
 * What Slack would show as raw text in one block: an `&` that starts none of its three escapes,
 * a `<` without its `>` or a `>` without its `<` — a link or escape cut across two blocks
 * (docs/contracts.md#slack-incoming-webhook, Slack markup).
 */
function brokenMarkup(text: string): string[] {
  // A link's URL is Slack's to parse: an `&` in it is not text.
  const outside = text.replace(/<[^<>]*>/g, "");
  const out = [...outside.matchAll(/&(?!amp;|lt;|gt;)[^\s]{0,5}/g)].map((m) => m[0]);
  let depth = 0;
  // A `>` that starts a line is mrkdwn's quote.
  for (const ch of text.replace(/^>/gm, "")) {
    if (ch === "<") depth++;
    else if (ch === ">" && --depth < 0) {
      out.push("> without <");
      depth = 0;
    }
  }
  if (depth > 0) out.push("< without >");
  return out;
}

export function startFakeSlack(): FakeSlack {
  const hooks = new Set<string>();
  const windows = new Map<string, Sliding>();
  const base = serveRobot(
    (u) => (u.pathname.startsWith("/services/") ? u.pathname.slice("/services/".length) : undefined),
    async (req, _url, hook) => {
      if (!hook || !hooks.has(hook)) return text(404, "no_service");
      const now = Date.now();
      if (!windowOf(windows, hook, 10, 1000).hit(now))
        return text(429, "rate_limited", { "retry-after": "1" });
      let body: { text?: string; blocks?: Block[] };
      try {
        body = await req.json();
      } catch {
        return text(400, "invalid_payload");
      }
      if (!body.text && !body.blocks?.length) return text(400, "no_text");
      const blocks = body.blocks ?? [];
      if (blocks.length > 50) return text(400, "invalid_blocks");
      for (const b of blocks) {
        const t = b.text?.text ?? "";
        // Block Kit text objects hold 1 to 150 (header) or 3000 (section) characters.
        if (b.type === "header" && (b.text?.type !== "plain_text" || !t || t.length > 150))
          return text(400, "invalid_blocks");
        if (b.type === "section" && (!t || t.length > 3000)) return text(400, "invalid_blocks");
      }
      // All blocks' text together, past ~13,200 characters (seen from chat.postMessage).
      if (blocks.reduce((n, b) => n + (b.text?.text ?? "").length, 0) > 13_200)
        return text(400, "msg_blocks_too_long");
      const shown = blocks.length ? blocks.map((b) => b.text?.text ?? "").join("\n") : (body.text ?? "");
      const title = blocks.find((b) => b.type === "header")?.text?.text;
      const literal = blocks
        .filter((b) => b.type === "section")
        .flatMap((b) => brokenMarkup(b.text?.text ?? ""));
      fake.received.push({ robot: hook, body, text: shown, title, bytes: utf8(shown), at: now, literal });
      return text(200, "ok");
    },
  );
  const fake: FakeSlack = Object.assign(base, {
    webhook(path: string) {
      hooks.add(path);
      return `${base.url}/services/${path}`;
    },
  });
  return fake;
}
