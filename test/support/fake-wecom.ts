/**
 * A fake WeCom group robot on 127.0.0.1 (docs/contracts.md#wecom-group-robot). `POST /cgi-bin/webhook/send?key=K`,
 * no signing; answers HTTP 200 `{errcode, errmsg}`:
 * - unknown key → 93000;
 * - over 20 requests a minute → 45009 (failed sends count too, as on WeCom);
 * - content over its limit in UTF-8 bytes: markdown / markdown_v2 over 4096 → 40058 with WeCom's
 *   text, text over 2048 → 45002;
 * - another msgtype → 40008.
 * `fault(key, busy)` makes a robot answer -1 (system busy).
 */
import {
  type FakeRobotServer,
  json,
  type Sliding,
  serveRobot,
  shownLiterally,
  utf8,
  windowOf,
} from "./fake-robot.ts";

export interface FakeWeCom extends FakeRobotServer {
  webhook(key: string): string;
}

const err = (errcode: number, errmsg: string) => json({ errcode, errmsg });
/** What a busy WeCom answers. */
export const wecomBusy = () => err(-1, "system busy");

const LIMITS: Record<string, number> = { text: 2048, markdown: 4096, markdown_v2: 4096 };

export function startFakeWeCom(): FakeWeCom {
  const keys = new Set<string>();
  const windows = new Map<string, Sliding>();
  const base = serveRobot(
    (u) => u.searchParams.get("key") ?? undefined,
    async (req, url, key) => {
      if (url.pathname !== "/cgi-bin/webhook/send" || !key || !keys.has(key))
        return err(93000, "invalid webhook url, hint: [1700000000_1_abc], from ip: 127.0.0.1");
      const now = Date.now();
      if (!windowOf(windows, key, 20, 60_000).hit(now)) return err(45009, "api freq out of limit");
      let body: Record<string, unknown>;
      try {
        body = (await req.json()) as Record<string, unknown>;
      } catch {
        return err(40008, "invalid message type");
      }
      const type = body.msgtype as string;
      const content = (body[type] as { content?: string } | undefined)?.content;
      if (!(type in LIMITS) || typeof content !== "string") return err(40008, "invalid message type");
      if (utf8(content) > LIMITS[type])
        return type === "text"
          ? err(45002, "content size out of limit")
          : err(40058, `${type}.content exceed max length ${LIMITS[type]}. invalid Request Parameter`);
      const literal = type === "text" ? [] : shownLiterally("wecom", content);
      fake.received.push({ robot: key, body, text: content, bytes: utf8(content), at: now, literal });
      return err(0, "ok");
    },
  );
  const fake: FakeWeCom = Object.assign(base, {
    webhook(key: string) {
      keys.add(key);
      return `${base.url}/cgi-bin/webhook/send?key=${key}`;
    },
  });
  return fake;
}
