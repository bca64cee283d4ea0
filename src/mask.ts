/**
 * Secret masking, for everything that shows config or an error to a person: check-config,
 * logs, job answers and what the ledger keeps of them, /v1/*, the dashboard, plan diffs
 * (README, "Security"). A value is secret by its key name, by sitting under `headers`, or by
 * where it is in a URL: the user-info, every query value, and the token in a robot's path.
 */
import { basicOf, userInfoOf } from "./user-info.ts";

const SECRET_KEYS =
  /^(admin_token|current_signing_key|next_signing_key|token|secret|pass|password|key|authorization|api_key|access_token|credentials|password_file|bearer_token)$/i;
export const MASK = "********";

/**
 * Path segments that are the credential of a webhook URL: Slack, Feishu/Lark, Discord-style,
 * Mattermost, Teams, PagerDuty (`/integration/<key>/enqueue`); and Telegram's `/bot<id>:<token>/`.
 */
const PATH_TOKEN =
  /\/(services|hook|hooks|webhooks|webhookb2)\/[^?#]+|\/(bot)\d+:[\w-]+|\/(integration)\/[0-9a-fA-F]{32}(?![0-9a-fA-F])/;

const URL_START = /^[a-z][a-z0-9+.-]*:\/\//i;
/**
 * A URL inside free text: up to whitespace, a quote or an angle bracket — but user-info that holds
 * a quote, a backtick or an angle bracket (`admin:pa"ss@host`) is taken whole up to its `@` and the
 * host after it, or the rest of the password would follow the masked part in the clear.
 */
const URL_IN_TEXT =
  /\b([a-z][a-z0-9+.-]{0,31}:\/\/)(?:([^\s/?#@]{1,256})@(?=(?:[\w.~%-]+|\[[\w:.%]+\])(?::\d+)?(?![\w~%-])))?([^\s"'<>`]*)/gi;

/** Masks a URL's user-info, every query value and a webhook path token; returns non-URLs unchanged. */
export function maskUrl(value: string): string {
  if (!URL_START.test(value)) return value;
  try {
    const u = new URL(value);
    // `user:pa#ss@host` and `user:12/ss@host` parse, with the user as the host and the rest as a
    // fragment or a path: an `@` there followed by a host name is that host's user-info.
    if ((u.hash.includes("@") || u.pathname.includes("@")) && HOST.test(hostAfterLastAt(value)))
      return maskUnparsed(value);
    let changed = false;
    if (u.username || u.password) {
      if (u.username) u.username = MASK;
      if (u.password) u.password = MASK;
      changed = true;
    }
    for (const k of new Set(u.searchParams.keys())) {
      u.searchParams.set(k, MASK);
      changed = true;
    }
    const path = u.pathname.replace(PATH_TOKEN, (_, kind, bot, key) =>
      bot ? `/bot${MASK}` : `/${kind ?? key}/${MASK}`,
    );
    if (path !== u.pathname) {
      u.pathname = path;
      changed = true;
    }
    return changed ? u.toString() : value;
  } catch {
    return maskUnparsed(value);
  }
}

const HOST = /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/;

/** What follows a URL's last `@`, up to its path, query or fragment. */
function hostAfterLastAt(value: string): string {
  return value.slice(value.lastIndexOf("@") + 1).split(/[/?#]/, 1)[0];
}

/**
 * A URL that does not parse (a `#` or `?` in its password): everything up to its last `@` is
 * taken as user-info, and everything from a `?` on as its query, both masked.
 */
function maskUnparsed(value: string): string {
  const scheme = value.indexOf("://") + 3;
  const at = value.lastIndexOf("@");
  const rest = at >= scheme ? `${value.slice(0, scheme)}${MASK}${value.slice(at)}` : value;
  const q = rest.indexOf("?", at >= scheme ? scheme + MASK.length : scheme);
  return q < 0 ? rest : `${rest.slice(0, q)}?${MASK}`;
}

/**
 * Tokens known by their shape wherever they stand, as their vendors document the prefixes: GitHub
 * (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab (`glpat-`), Slack (`xoxb-<digits>-`,
 * `xoxp-`, …), OpenAI/Anthropic keys (`sk-proj-`, `sk-svcacct-`, `sk-admin-`, `sk-ant-api03-`, dashes
 * and all; a bare `sk-` with 20+ letters and digits, no dash), AWS access key ids
 * (`AKIA…`). An alert's text may quote one; a kebab-case name (`sk-payments-db-01`) is not one.
 */
const TOKEN_SHAPES =
  /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprse]-\d+-[A-Za-z0-9-]{6,}|sk-(?:proj|svcacct|service-account|admin|ant-api\d\d|ant-admin\d\d)-[\w-]{20,}|sk-(?:live-|test-)?[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16})\b/g;

/**
 * Masks every URL inside a text (an error message that names the address it could not reach), and
 * tokens known by their shape.
 */
export function maskText(text: string): string {
  const tokensMasked = text.replace(TOKEN_SHAPES, MASK);
  if (!tokensMasked.includes("://")) return tokensMasked;
  return tokensMasked.replace(
    URL_IN_TEXT,
    (whole: string, scheme: string, info: string | undefined, rest: string) => {
      if (info === undefined || !/["'<>`]/.test(info)) return maskUrl(whole);
      // The user-info is masked whole; the rest is masked as a URL of its own.
      return `${scheme}${MASK}@${maskUrl(scheme + rest).slice(scheme.length)}`;
    },
  );
}

/** Headers whose values say how the request is made, not who makes it: an answer may quote them. */
const PLAIN_HEADERS = new Set(["content-type", "accept", "user-agent", "content-length", "accept-encoding"]);

/**
 * What may be secret, in two strengths: `sure` (a password, a token after `Bearer`, a value under a
 * secret's name) counts from 4 characters; `maybe` (a user name, another header's or query's value:
 * `X-Env: prod`, `?format=json`) from 6 — masked wherever they appear, shorter ones would garble
 * ordinary words ("production").
 */
interface Found {
  sure: string[];
  maybe: string[];
}

/** The schemes of an Authorization-style value, whose second word is the credential. */
const AUTH_SCHEME = /^(bearer|basic|token|digest|apikey|api-key|key|bot)$/i;

/** Header names that carry a credential (Authorization, X-Api-Key, a token, a cookie). */
const SECRET_HEADER = /auth|key|token|secret|pass|cred|cookie|signature|session/i;

/**
 * The credentials a request carries, as a downstream could echo them back in its answer: its
 * URL's user-info, query values and webhook path token (raw and decoded), and the values of the
 * headers it was given (secretParts: whole, the token after `Bearer`, a Basic password decoded).
 */
export function credentialsOf(url: string, headers: Record<string, string> = {}): string[] {
  const found: Found = { sure: [], maybe: [] };
  urlCredentials(url, found);
  for (const [name, v] of Object.entries(headers))
    if (!PLAIN_HEADERS.has(name.toLowerCase())) secretParts(v, SECRET_HEADER.test(name), found);
  return longestFirst(found);
}

function urlCredentials(url: string, found: Found): void {
  try {
    const u = new URL(url);
    found.sure.push(u.password);
    found.maybe.push(u.username);
    // Sent as Basic auth (user-info.ts): a peer quoting the request quotes that header, or what it decodes to.
    const info = userInfoOf(u);
    if (info) {
      found.sure.push(info.pass, (basicOf(u) as string).slice("Basic ".length));
      found.maybe.push(info.user);
    }
    // A query value under a secret's name (`?key=`, `?access_token=`) is one whatever its length.
    for (const [k, v] of u.searchParams) (SECRET_KEYS.test(k) ? found.sure : found.maybe).push(v);
    for (const part of u.search.slice(1).split("&")) found.maybe.push(part.slice(part.indexOf("=") + 1));
    const token = PATH_TOKEN.exec(u.pathname);
    if (token?.[2]) found.sure.push(token[0].slice("/bot".length));
    else if (token) found.maybe.push(...token[0].split("/").slice(2));
  } catch {
    // Not a URL: nothing of it to look for.
  }
}

/**
 * A secret value (`named`: under a secret's name) and the parts a peer may quote alone: the
 * credential after a scheme word (`Bearer t0k3n`), a Basic credential's password and `user:pass`
 * (not the user alone: a name like `alertmanager` is everywhere), and each word of 8 or more.
 */
function secretParts(v: string, named: boolean, found: Found): void {
  (named ? found.sure : found.maybe).push(v);
  found.maybe.push(...v.split(/\s+/).filter((w) => w.length >= 8));
  const scheme = /^([A-Za-z][\w-]*)\s+(\S+)$/.exec(v.trim());
  if (!scheme) return;
  // The credential after an auth scheme (`Bearer t0k3n`); in another header two words are just words.
  const auth = named || AUTH_SCHEME.test(scheme[1]);
  (auth ? found.sure : found.maybe).push(scheme[2]);
  if (scheme[1].toLowerCase() !== "basic") return;
  const decoded = decodeBase64(scheme[2]);
  const colon = decoded?.indexOf(":") ?? -1;
  if (decoded && colon >= 0) {
    const [user, pass] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    // A key sent as the user with no password (Stripe's `sk_live_…:`) is the credential itself.
    found.sure.push(pass || user);
    found.maybe.push(decoded);
  }
}

function decodeBase64(b64: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

/** Distinct credentials, longest first (one inside another is masked whole): sure ones from 4 characters, others from 6. */
function longestFirst({ sure, maybe }: Found): string[] {
  const found = [...sure.filter((c) => c.length >= 4), ...maybe.filter((c) => c.length >= 6)];
  return [...new Set(found)].sort((a, b) => b.length - a.length);
}

/**
 * The forms a credential takes inside an answer's JSON text: as it is, and escaped as JSON
 * encoders write it (`\"`, `\\`, Go's `\u0026` for `&` and `\u003c`/`\u003e`, PHP's `\/`).
 */
function jsonForms(c: string): string[] {
  const escaped = JSON.stringify(c).slice(1, -1);
  const go = escaped.replace(/&/g, "\\u0026").replace(/</g, "\\u003c").replace(/>/g, "\\u003e");
  // Python's json.dumps writes every character past ASCII as \uXXXX.
  const ascii = escaped.replace(
    /[\u0080-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return [...new Set([c, escaped, go, ascii, escaped.replace(/\//g, "\\/"), go.replace(/\//g, "\\/")])];
}

/**
 * A credential as a peer quoting the URL or form body it got may have percent-encoded it, each
 * encoder its own way (encodeURIComponent, Go's QueryEscape, Python's quote keeping `/`…): every
 * character but the unreserved ones as it is or as its UTF-8 %-escapes in either case, a space
 * also as `+`. Undefined when no encoder changes it.
 */
function percentPattern(c: string): RegExp | undefined {
  // Past 256 characters, the exact spellings only: the pattern's alternations cost its length at
  // each position of an answer that keeps almost matching it.
  if (c.length > 256) return undefined;
  if (!patterns.has(c)) {
    // A config's credentials are few and answers quoting one are rare: kept, a bounded few.
    if (patterns.size >= 1000) patterns.clear();
    patterns.set(c, buildPercentPattern(c));
  }
  return patterns.get(c);
}
const patterns = new Map<string, RegExp | undefined>();

function buildPercentPattern(c: string): RegExp | undefined {
  let changes = false;
  const hex = (b: number) =>
    `%${b
      .toString(16)
      .toUpperCase()
      .padStart(2, "0")
      .replace(/[A-F]/g, (d) => `[${d}${d.toLowerCase()}]`)}`;
  const parts = [...c].map((ch) => {
    if (/[A-Za-z0-9_~-]/.test(ch)) return ch;
    if (ch === ".") return "\\.";
    changes = true;
    const escaped = [...new TextEncoder().encode(ch)].map(hex).join("");
    return `(?:${ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&")}|${escaped}${ch === " " ? "|\\+" : ""})`;
  });
  return changes ? new RegExp(parts.join(""), "g") : undefined;
}

const secretsOfConfig = new WeakMap<object, string[]>();

/**
 * Every secret value of a config (what maskSecrets masks: keyed secrets, header values, each
 * URL's credentials), for text from outside that may quote one — a dead letter's last answer
 * (src/jobs/failure.ts). Worked out once per config.
 */
export function secretValuesOf(config: object): string[] {
  let found = secretsOfConfig.get(config);
  if (found) return found;
  const all: Found = { sure: [], maybe: [] };
  const walk = (v: unknown, path: string[]): void => {
    if (typeof v === "string") {
      if (v.includes("://")) urlCredentials(v, all);
    } else if (Array.isArray(v)) for (const x of v) walk(x, path);
    else if (v && typeof v === "object")
      for (const [k, x] of Object.entries(v)) {
        const header = path.at(-1) === "headers";
        // Headers that say how a request is made (Content-Type) are no one's secret.
        if (header && PLAIN_HEADERS.has(k.toLowerCase())) continue;
        if (typeof x === "string" && isSecret(k, path)) secretParts(x, !header || SECRET_HEADER.test(k), all);
        else walk(x, [...path, k]);
      }
  };
  walk(config, []);
  found = longestFirst(all);
  secretsOfConfig.set(config, found);
  return found;
}

/**
 * `value` with every one of `credentials` (credentialsOf) replaced by ******** in its strings: a
 * text, or parsed JSON, whose numbers, booleans and shape are left as they are.
 */
export function maskCredentials<T>(value: T, credentials: readonly (string | RegExp)[]): T {
  if (credentials.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      let out = v;
      for (const c of credentials)
        if (typeof c !== "string") out = out.replace(c, MASK);
        else if (out.includes(c)) out = out.replaceAll(c, MASK);
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/**
 * An answer's body as text and as JSON (undefined when it is not JSON), parsed as it came and
 * then masked of `credentials` (credentialsOf the request it answers).
 */
export function quotedAnswer(raw: string, credentials: readonly string[]): { text: string; json: unknown } {
  let json: unknown;
  try {
    json = raw ? JSON.parse(raw) : undefined;
  } catch {
    json = undefined;
  }
  // Most answers quote nothing of the request: those are kept as they came, without a copy. A
  // credential is looked for as JSON encoders escape it and as URLs encode it too; the parsed JSON
  // holds the escaped one as it is. Every escaped form holds a backslash, every encoded one a `%` or a `+`.
  const escaped = raw.includes("\\");
  const encoded = raw.includes("%") || raw.includes("+");
  const forms = credentials.map((c) => ({
    c,
    all: escaped ? jsonForms(c) : [c],
    pct: encoded ? percentPattern(c) : undefined,
  }));
  const quoted = forms
    .filter((f) => f.all.some((x) => raw.includes(x)) || (f.pct && raw.search(f.pct) >= 0))
    // The longest credential first, each with all its spellings: one inside another (a user name
    // inside its password) is masked whole, encoded or not.
    .sort((x, y) => y.c.length - x.c.length);
  const inOrder = (spellings: (f: (typeof forms)[number]) => string[]) =>
    quoted.flatMap((f) => [...spellings(f).sort((x, y) => y.length - x.length), ...(f.pct ? [f.pct] : [])]);
  return {
    text: maskCredentials(
      raw,
      inOrder((f) => f.all),
    ),
    json: maskCredentials(
      json,
      inOrder((f) => [f.c]),
    ),
  };
}

/** `value` as plain data with its secrets masked (maskSecrets); the value itself when it has none. */
export function maskedCopy(value: unknown): unknown {
  return needsMasking(value) ? maskSecrets(JSON.parse(JSON.stringify(value))) : value;
}

/** Deep copy of `value` with every secret replaced by ********. */
export function maskSecrets(value: unknown, path: string[] = []): unknown {
  // A value that is a URL is masked as one, whatever its user-info holds; free text by maskText.
  if (typeof value === "string") return URL_START.test(value) ? maskUrl(value) : maskText(value);
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, path));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        v !== undefined && isSecret(k, path) ? MASK : maskSecrets(v, [...path, k]),
      ]),
    );
  }
  return value;
}

/**
 * Whether `value` as JSON would show something maskSecrets masks, or is more than plain data
 * (a URL or a Date turns into text only on the way to JSON). False lets a log line write the
 * value as it is, without the copy: most lines carry plain ids and codes.
 */
export function needsMasking(value: unknown, path: string[] = []): boolean {
  if (typeof value === "string") return value.includes("://");
  if (value === null || typeof value !== "object") return typeof value === "bigint";
  if (Array.isArray(value)) return value.some((v) => needsMasking(v, path));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return true;
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined && (k === "toJSON" || isSecret(k, path) || needsMasking(v, [...path, k])))
      return true;
  }
  return false;
}

function isSecret(key: string, path: string[]): boolean {
  // Every header value: an `X-Api-Key`, a `Cookie` or a tenant's credential all look alike.
  if (path.at(-1) === "headers") return true;
  // `key` names a flow-control key (not secret) under qstash.flow_control; elsewhere (Dify apps) it is a credential.
  if (key === "key") return !path.includes("flow_control");
  return SECRET_KEYS.test(key);
}
