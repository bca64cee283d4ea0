/**
 * What the fake chat robots (DingTalk, WeCom, Feishu, Slack) share: a sliding-window counter
 * for their per-robot rate limits, a record of what each accepted, a hook to make a robot
 * answer an error for a while ("busy"), and a loopback Bun.serve. Each fake enforces its
 * service's contract (docs/contracts.md#dingtalk-robot) — a fake laxer than the service would hide bugs.
 */

/** The window of `key` in `map`, made on first use. */
export function windowOf(map: Map<string, Sliding>, key: string, limit: number, periodMs: number): Sliding {
  let w = map.get(key);
  if (!w) {
    w = new Sliding(limit, periodMs);
    map.set(key, w);
  }
  return w;
}

/** Counts events in the last `periodMs` (a true sliding window, as the robots count). */
export class Sliding {
  private times: number[] = [];
  constructor(
    readonly limit: number,
    readonly periodMs: number,
  ) {}
  /** Records one event at `now`; false when it is over the limit. */
  hit(now: number): boolean {
    this.times = this.times.filter((t) => t > now - this.periodMs);
    this.times.push(now);
    return this.times.length <= this.limit;
  }
}

/**
 * What a robot shows as it is rather than rendering (docs/contracts.md, each robot's markup):
 * backslash escapes where the robot documents none, and for lark_md the block markup it does
 * not render (headings, quotes, lists). A fake records them so tests can demand there are none.
 */
export function shownLiterally(kind: "wecom" | "lark_md", text: string): string[] {
  const found = [...text.matchAll(/\\[\\`*_[\]#|~<>-]/g)].map((m) => `backslash escape ${m[0]}`);
  if (kind === "lark_md")
    for (const line of text.split("\n"))
      if (/^(#{1,6} |> |[-+*] |\d+\. )/.test(line)) found.push(`block markup: ${line.slice(0, 40)}`);
  if (/&(lt|gt|amp);/.test(text)) found.push("named entity (not decoded)");
  return found;
}

/** A mention tag a value smuggled into a robot's plain text (WeCom `<@…>`, Feishu `<at …>`). */
export const injectedMention = (text: string) => /<@[^>]*>|<at\s/.test(text);

export interface Received {
  /** The robot (token, key or hook id). */
  robot: string;
  body: Record<string, unknown>;
  /** The message text as the chat shows it (markdown text, text content, card body…). */
  text: string;
  title?: string;
  /** Bytes of `text` in UTF-8 (or of the whole body for Feishu). */
  bytes: number;
  /** What the chat would show literally instead of rendering (shownLiterally); empty when all renders. */
  literal?: string[];
  at: number;
}

/** A forced answer for `times` requests to a robot after `after` more pass (e.g. a busy robot). */
export interface Fault {
  after: number;
  times: number;
  answer: (body: string) => Response | undefined;
}

export interface FakeRobotServer {
  url: string;
  received: Received[];
  /** Every request that reached the server, accepted or not. */
  requests: number;
  /** Accepted messages of one robot, oldest first. */
  of(robot: string): Received[];
  /**
   * Makes the robot answer `answer` for `times` requests (Infinity: until cleared), after `after`
   * pass; an answer of undefined (given the request's body) lets that request through, uncounted.
   */
  fault(robot: string, answer: (body: string) => Response | undefined, times?: number, after?: number): void;
  clear(robot: string): void;
  stop(): Promise<void>;
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

export const utf8 = (s: string) => new TextEncoder().encode(s).length;

/** base64(HMAC-SHA256(key, message)), as the robots compute it. */
export async function hmac(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(message)));
  return btoa(String.fromCharCode(...sig));
}

/**
 * Serves `handle` on 127.0.0.1 with faults and records wired in. `handle` answers a request
 * for a robot it extracted with `robotOf`; it records accepted messages itself.
 */
export function serveRobot(
  robotOf: (url: URL) => string | undefined,
  handle: (req: Request, url: URL, robot: string | undefined, fake: FakeRobotServer) => Promise<Response>,
): FakeRobotServer {
  const faults = new Map<string, Fault>();
  const fake: FakeRobotServer = {
    url: "",
    received: [],
    requests: 0,
    of: (robot) => fake.received.filter((r) => r.robot === robot),
    fault(robot, answer, times = Number.POSITIVE_INFINITY, after = 0) {
      faults.set(robot, { after, times, answer });
    },
    clear: (robot) => void faults.delete(robot),
    stop: async () => {},
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const robot = robotOf(url);
      fake.requests++;
      const f = robot ? faults.get(robot) : undefined;
      if (f && f.after > 0) f.after--;
      else if (f && f.times > 0) {
        const body = await req.text();
        const answer = f.answer(body);
        if (!answer)
          return handle(
            new Request(req.url, { method: req.method, headers: req.headers, body }),
            url,
            robot,
            fake,
          );
        f.times--;
        return answer;
      }
      return handle(req, url, robot, fake);
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  fake.stop = async () => {
    await server.stop(true);
  };
  return fake;
}
