/**
 * The Redis store: one implementation on top of `@upstash/redis` for both Upstash (REST over
 * HTTP) and self-hosted Redis (the same client over TCP through `tcpRequester`). Values are stored
 * as JSON text; the atomic operations are single commands, Lua scripts (EVAL) or MULTI/EXEC.
 *
 * `@upstash/redis` parses results as JSON by default ("automatic deserialization"). Since every
 * value is written with JSON.stringify, that parse gives back exactly the stored value (a string
 * "12" is stored as `"12"` and comes back as the string). A client built with
 * `automaticDeserialization: false` is detected and parsed here instead.
 */
import { Redis, type SetCommandOptions } from "@upstash/redis";
import { JobError, storeUnavailable } from "../errors.ts";
import { credentialsOf, quotedAnswer } from "../mask.ts";
import type { Dial } from "../ports.ts";
import { tcpRequester } from "./resp.ts";
import { type Acquired, type SetOptions, type Store, toJson, type Write, type ZEntry } from "./store.ts";

const DEL_IF_EQUALS = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

const EXPIRE_IF_EQUALS = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return 0`;

/** KEYS: key, alsoRead, more…; ARGV: value, ttl → [1 or 0, the value at alsoRead, key's pttl, {more's values}]. */
const ACQUIRE = `local ok = redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2])
local more = {}
for i = 3, #KEYS do more[i - 2] = redis.call("GET", KEYS[i]) or false end
return {ok and 1 or 0, redis.call("GET", KEYS[2]), redis.call("PTTL", KEYS[1]), more}`;

/**
 * The writes of one step (store.ts `Write`): KEYS one per write; ARGV four per write: op, value (a
 * member for zadd/zrem), ttl ("" for none; a hash field for hset and hdel, a score for zadd), n (a push's
 * max, a once's or a check's guards). Answers 0 when a check did not hold.
 */
const WRITE_MANY = `local skip, held = 0, true
for i = 1, #KEYS do
  local a = (i - 1) * 4 + 1
  local op, v, ttl, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  if skip > 0 then skip = skip - 1
  elseif op == "set" then
    if ttl == "" then redis.call("SET", KEYS[i], v) else redis.call("SET", KEYS[i], v, "PX", ttl) end
  elseif op == "push" then
    if n < 1 then redis.call("DEL", KEYS[i]) else
      redis.call("LPUSH", KEYS[i], v)
      redis.call("LTRIM", KEYS[i], 0, n - 1)
      if ttl ~= "" then redis.call("PEXPIRE", KEYS[i], ttl) end
    end
  elseif op == "del" then redis.call("DEL", KEYS[i])
  elseif op == "delif" then
    if redis.call("GET", KEYS[i]) == v then redis.call("DEL", KEYS[i]) end
  elseif op == "hset" then redis.call("HSET", KEYS[i], ttl, v)
  elseif op == "hdel" then redis.call("HDEL", KEYS[i], ttl)
  elseif op == "zadd" then redis.call("ZADD", KEYS[i], ttl, v)
  elseif op == "zrem" then redis.call("ZREM", KEYS[i], v)
  elseif op == "once" then
    if not redis.call("SET", KEYS[i], v, "NX", "PX", ttl) then skip = n end
  elseif op == "check" then
    if redis.call("GET", KEYS[i]) ~= v then skip = n; held = false end
  end
end
if held then return 1 end
return 0`;

const INCR_WITH_TTL = `local fresh = redis.call("EXISTS", KEYS[1]) == 0
local n = redis.call("INCRBY", KEYS[1], ARGV[1])
if fresh then redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return n`;

/** ARGV: limit, rev ("1"/"0"), maxScore ("" for none) → flat [member, score, …]. */
const ZRANGE = `local lim = tonumber(ARGV[1])
local rev = ARGV[2] == "1"
if ARGV[3] == "" then
  if rev then return redis.call("ZREVRANGE", KEYS[1], 0, lim - 1, "WITHSCORES") end
  return redis.call("ZRANGE", KEYS[1], 0, lim - 1, "WITHSCORES")
end
if rev then return redis.call("ZREVRANGEBYSCORE", KEYS[1], ARGV[3], "-inf", "WITHSCORES", "LIMIT", 0, lim) end
return redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[3], "WITHSCORES", "LIMIT", 0, lim)`;

/** ARGV: one limit per key → [size1, members1, size2, members2, …]. */
const ZTOP_MANY = `local out = {}
for i, k in ipairs(KEYS) do
  local lim = tonumber(ARGV[i])
  out[2 * i - 1] = redis.call("ZCARD", k)
  if lim > 0 then out[2 * i] = redis.call("ZREVRANGE", k, 0, lim - 1) else out[2 * i] = {} end
end
return out`;

/** Redis wants whole, positive milliseconds. */
const ms = (n: number): number => Math.max(1, Math.ceil(n));

export class RedisStore implements Store {
  /** True when the client returns raw strings (automaticDeserialization: false). */
  private readonly raw: boolean;

  private readonly redis: Redis;

  constructor(
    client: Redis,
    readonly kind: "upstash" | "redis",
    private readonly prefix: string,
    /** Called by close(): releases the transport (the TCP connection), when there is one. */
    private readonly onClose?: () => Promise<void>,
    /** What the transport sends that an answer could quote (Upstash's token): masked in every error. */
    credentials: string[] = [],
  ) {
    const opts = (client as unknown as { opts?: { automaticDeserialization?: boolean } }).opts;
    this.raw = opts?.automaticDeserialization === false;
    this.redis = failingAsUnavailable(client, credentials);
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  private decode<T>(v: unknown): T | null {
    if (v === null || v === undefined) return null;
    if (this.raw && typeof v === "string") {
      try {
        return JSON.parse(v) as T;
      } catch {
        return v as T; // not written by us
      }
    }
    return v as T;
  }

  async get<T = unknown>(key: string): Promise<T | null> {
    return this.decode<T>(await this.redis.get(this.k(key)));
  }

  async mget<T = unknown>(keys: string[]): Promise<(T | null)[]> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget<unknown[]>(keys.map((k) => this.k(k)));
    return values.map((v) => this.decode<T>(v));
  }

  async set(key: string, value: unknown, opts: SetOptions = {}): Promise<boolean> {
    const o: Record<string, unknown> = {};
    if (opts.nx) o.nx = true;
    if (opts.ttlMs) o.px = ms(opts.ttlMs);
    const res = await this.redis.set(this.k(key), toJson(value), o as SetCommandOptions);
    return res !== null;
  }

  async del(key: string): Promise<void> {
    await this.redis.del(this.k(key));
  }

  async delIfEquals(key: string, expected: unknown): Promise<boolean> {
    const n = await this.redis.eval(DEL_IF_EQUALS, [this.k(key)], [toJson(expected)]);
    return Number(n) === 1;
  }

  async expireIfEquals(key: string, expected: unknown, ttlMs: number): Promise<boolean> {
    const n = await this.redis.eval(EXPIRE_IF_EQUALS, [this.k(key)], [toJson(expected), ms(ttlMs)]);
    return Number(n) === 1;
  }

  async acquire<T = unknown>(
    key: string,
    value: unknown,
    ttlMs: number,
    alsoRead: string,
    more: string[] = [],
  ): Promise<Acquired<T>> {
    const [ok, read, ttl, extra] = (await this.redis.eval(
      ACQUIRE,
      [this.k(key), this.k(alsoRead), ...more.map((m) => this.k(m))],
      [toJson(value), ms(ttlMs)],
    )) as [unknown, unknown, unknown, unknown[] | null];
    return {
      acquired: Number(ok) === 1,
      read: this.decode<T>(read),
      ttlMs: Number(ttl),
      more: more.map((_, i) => this.decode(extra?.[i] ?? null)),
    };
  }

  /** A step's writes as Lua's KEYS and ARGV (see WRITE_MANY). */
  private writeArgs(writes: readonly Write[]): { keys: string[]; args: (string | number)[] } {
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const w of writes) {
      keys.push(this.k(w.key));
      if (w.op === "set") args.push("set", toJson(w.value), w.ttlMs ? ms(w.ttlMs) : "", 0);
      else if (w.op === "push") args.push("push", toJson(w.value), w.ttlMs ? ms(w.ttlMs) : "", w.max);
      else if (w.op === "del")
        args.push(
          w.ifEquals === undefined ? "del" : "delif",
          w.ifEquals === undefined ? "" : toJson(w.ifEquals),
          "",
          0,
        );
      else if (w.op === "hset") args.push("hset", toJson(w.value), w.field, 0);
      else if (w.op === "hdel") args.push("hdel", "", w.field, 0);
      // Members are stored as JSON strings, as zadd stores them.
      else if (w.op === "zadd") args.push("zadd", JSON.stringify(w.member), w.score, 0);
      else if (w.op === "zrem") args.push("zrem", JSON.stringify(w.member), "", 0);
      else if (w.op === "check") args.push("check", toJson(w.equals), "", w.guards);
      else args.push("once", toJson(w.value), ms(w.ttlMs), w.guards);
    }
    return { keys, args };
  }

  async writeMany(writes: Write[]): Promise<boolean> {
    if (!writes.length) return true;
    const w = this.writeArgs(writes);
    return Number(await this.redis.eval(WRITE_MANY, w.keys, w.args)) === 1;
  }

  async pttl(key: string): Promise<number> {
    return Number(await this.redis.pttl(this.k(key)));
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    if (!ttlMs) return Number(await this.redis.incrby(this.k(key), by));
    return Number(await this.redis.eval(INCR_WITH_TTL, [this.k(key)], [by, ms(ttlMs)]));
  }

  async hincr(key: string, field: string, by: number): Promise<number> {
    return Number(await this.redis.hincrbyfloat(this.k(key), field, by));
  }

  async hgetall(key: string): Promise<Record<string, number>> {
    // Parsed clients give an object (null when empty); raw clients the flat [field, value, …] list.
    const res: unknown = await this.redis.hgetall(this.k(key));
    const out: Record<string, number> = {};
    if (Array.isArray(res)) {
      for (let i = 0; i + 1 < res.length; i += 2) out[String(res[i])] = Number(res[i + 1]);
    } else if (res && typeof res === "object") {
      for (const [f, v] of Object.entries(res)) out[f] = Number(v);
    }
    return out;
  }

  async pushCapped(key: string, value: unknown, max: number, ttlMs?: number): Promise<void> {
    // The write script (one EVAL, failing as store_unavailable): a MULTI's exec escaped that.
    await this.writeMany([{ op: "push", key, value, max, ttlMs }]);
  }

  async list<T = unknown>(key: string, limit: number): Promise<T[]> {
    if (limit < 1) return [];
    const items = await this.redis.lrange<unknown>(this.k(key), 0, limit - 1);
    return items.map((v) => this.decode<T>(v) as T);
  }

  /** A sorted-set member as stored: JSON text, so the client's auto-parsing gives the string back. */
  private member(v: unknown): string {
    const d = this.decode<unknown>(v);
    return typeof d === "string" ? d : String(d);
  }

  async hset(key: string, fields: Record<string, unknown>): Promise<void> {
    const kv: Record<string, string> = {};
    for (const [f, v] of Object.entries(fields)) kv[f] = toJson(v);
    if (Object.keys(kv).length === 0) return;
    await this.redis.hset(this.k(key), kv);
  }

  async hmget<T = unknown>(key: string, fields: string[]): Promise<(T | null)[]> {
    if (fields.length === 0) return [];
    // Parsed clients give {field: value} (null when every field is missing); raw clients the list.
    const res: unknown = await this.redis.hmget(this.k(key), ...fields);
    if (Array.isArray(res)) return res.map((v) => this.decode<T>(v));
    const obj = (res ?? {}) as Record<string, unknown>;
    // Own fields only: `constructor` or `toString` asked of a plain object would find its prototype's.
    return fields.map((f) => this.decode<T>(Object.hasOwn(obj, f) ? obj[f] : null));
  }

  async hdel(key: string, fields: string[]): Promise<number> {
    if (fields.length === 0) return 0;
    return Number(await this.redis.hdel(this.k(key), ...fields));
  }

  async zadd(key: string, entries: ZEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const [first, ...rest] = entries.map((e) => ({ score: e.score, member: JSON.stringify(e.member) }));
    await this.redis.zadd(this.k(key), first, ...rest);
  }

  async zrem(key: string, members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return Number(await this.redis.zrem(this.k(key), ...members.map((m) => JSON.stringify(m))));
  }

  async zcard(key: string): Promise<number> {
    return Number(await this.redis.zcard(this.k(key)));
  }

  async zrange(key: string, opts: { limit: number; rev?: boolean; maxScore?: number }): Promise<ZEntry[]> {
    if (opts.limit < 1) return [];
    const flat = (await this.redis.eval(
      ZRANGE,
      [this.k(key)],
      [Math.floor(opts.limit), opts.rev ? "1" : "0", opts.maxScore === undefined ? "" : opts.maxScore],
    )) as unknown[];
    const out: ZEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ member: this.member(flat[i]), score: Number(flat[i + 1]) });
    return out;
  }

  async ztopMany(keys: string[], limit: number | number[]): Promise<{ size: number; members: string[] }[]> {
    if (keys.length === 0) return [];
    const limits = keys.map((_, i) =>
      Math.max(0, Math.floor((typeof limit === "number" ? limit : limit[i]) ?? 0)),
    );
    const flat = (await this.redis.eval(
      ZTOP_MANY,
      keys.map((k) => this.k(k)),
      limits,
    )) as unknown[];
    return keys.map((_, i) => ({
      size: Number(flat[2 * i]),
      members: ((flat[2 * i + 1] as unknown[] | null) ?? []).map((m) => this.member(m)),
    }));
  }

  async ping(): Promise<void> {
    // On self-hosted Redis, a write: a replica (after a failover) or a full server (-OOM) answers
    // PING but refuses every job's writes. Upstash is not asked to write on every probe.
    if (this.kind === "redis") await this.redis.set(this.k("health"), Date.now(), { px: 60_000 });
    else await this.redis.ping();
  }

  /** When this process first found the server without the marker it knew (its data lost). */
  private lostAt: number | undefined;
  /** The marker's value as this process first found or wrote it. */
  private marker: string | undefined;

  /**
   * Whether the server lost its data since this process started: a marker with a random value,
   * written once by whichever process comes first (NX) and remembered by each. Gone or another
   * value, the server restarted without its data or was flushed (and another process wrote a new
   * one), and everything the worker recorded before went with it (README, "Which store to pick").
   */
  private async dataLost(): Promise<string | undefined> {
    const key = this.k("store:marker");
    const now = await this.redis.get<string>(key);
    if (now === null) await this.redis.set(key, crypto.randomUUID(), { nx: true });
    const value = now ?? (await this.redis.get<string>(key)) ?? undefined;
    if (this.marker !== undefined && value !== this.marker) this.lostAt ??= Date.now();
    this.marker = value;
    return this.lostAt === undefined
      ? undefined
      : `Redis lost its data at ${new Date(this.lostAt).toISOString()} (restarted without it, or flushed): the ledger, dedup records and rule set recorded before are gone — pages QStash delivers again may be sent again, and a config sync must be sent whole (operation full) to rebuild the rule set`;
  }

  /**
   * An eviction policy that can delete the worker's keys, a self-hosted Redis that keeps
   * nothing on disk (docs/contracts.md#redis), and one that lost its data since this process
   * started. A server that refuses to say (a managed Redis without INFO or CONFIG) tells nothing,
   * and that is not an error.
   */
  async hazards(): Promise<string[]> {
    // INFO through a script, which reaches self-hosted Redis and Upstash alike (both tested).
    const info = (section: string) =>
      this.redis.eval(`return redis.call('INFO', '${section}')`, [], []).then(String, () => "");
    const field = (text: string, name: string) => new RegExp(`^${name}:(\\S+)`, "m").exec(text)?.[1];
    const found: string[] = [];
    const memory = await info("memory");
    const policy = field(memory, "maxmemory_policy");
    if (Number(field(memory, "maxmemory") ?? 0) > 0 && policy && policy !== "noeviction")
      found.push(
        `Redis may evict keys (maxmemory-policy ${policy}): a lease or a ledger entry evicted lets a message run twice. Set maxmemory-policy noeviction: when full, jobs then answer 503 store_unavailable instead`,
      );
    if (this.kind === "redis") {
      const lost = await this.dataLost().catch(() => undefined);
      if (lost) found.push(lost);
    }
    // Upstash keeps its data itself; a self-hosted server does only when told to.
    if (this.kind === "redis" && field(await info("persistence"), "aof_enabled") === "0") {
      // CONFIG cannot run in a script; `save` is the RDB schedule, "" when snapshots are off.
      const save = await this.redis.exec<unknown>(["CONFIG", "GET", "save"]).catch(() => undefined);
      const schedule = Array.isArray(save) && save[0] === "save" ? String(save[1] ?? "") : undefined;
      if (schedule === "")
        found.push(
          'Redis keeps nothing on disk (appendonly no, save ""): when it restarts, the ledger is gone, and every message QStash delivers again is sent again. Turn on appendonly yes',
        );
      // A crash rolls an RDB-only Redis back to its last snapshot (up to an hour with the defaults):
      // the leases, steps, dedup records and rule set written since are gone with it.
      else if (schedule !== undefined)
        found.push(
          `Redis keeps only RDB snapshots (appendonly no, save "${schedule}"): after a crash it comes back as it was at the last one, and what the worker recorded since is gone — pages sent since are sent again, and a config sync works from an older rule set. Turn on appendonly yes`,
        );
    }
    return found;
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}

export interface UpstashStoreOptions {
  url: string;
  token: string;
  prefix: string;
  /** Keep @upstash/redis's default (true) unless testing the raw path. */
  automaticDeserialization?: boolean;
  /** How long one request may take before it fails as store_unavailable (the TCP store's reply timeout too). */
  timeoutMs?: number;
}

/** Upstash Redis over its REST API. */
export function upstashStore({
  url,
  token,
  prefix,
  automaticDeserialization,
  timeoutMs = 10_000,
}: UpstashStoreOptions): RedisStore {
  const redis = new Redis({
    url,
    token,
    // No client-side retry: it resends a request whose answer was lost after Redis ran it, and
    // a script run twice is not the same as once (a lease that finds itself taken, a push made
    // twice). The job fails 503 instead and QStash retries it, which the ledger makes safe.
    // `retries: 0`, not `false`, which still makes one retry in 1.39 (docs/contracts.md).
    retry: { retries: 0, backoff: () => 0 },
    // A function: a new timeout per request (a plain signal would also be read as an answer).
    signal: () => AbortSignal.timeout(timeoutMs),
    enableTelemetry: false,
    // Every value the worker writes is JSON text, so Upstash may answer it as JSON strings: the
    // SDK's default, base64, made it decode every string of every answer byte by byte — for an
    // analysis, thousands of similar-index members (BENCHMARKS.md, "CPU per job on workerd").
    responseEncoding: false,
    automaticDeserialization,
  });
  // A proxy or gateway in front of Upstash may quote the request, its Bearer token too, in its
  // error answer: that text reaches /health, which needs no token (README, "Security").
  return new RedisStore(
    redis,
    "upstash",
    prefix,
    undefined,
    credentialsOf(url, { authorization: `Bearer ${token}` }),
  );
}

/**
 * The client with every failed call — a connection refused or reset, a timeout, an error answer —
 * rejected as 503 store_unavailable (errors.ts), so a job that meets it mid-way is retried, not
 * answered 500.
 */
function failingAsUnavailable(client: Redis, credentials: string[]): Redis {
  const unavailable = (e: unknown) =>
    storeUnavailable(
      credentials.length && !(e instanceof JobError)
        ? new Error(quotedAnswer(String((e as Error | null)?.message ?? e), credentials).text)
        : e,
    );
  return new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        try {
          const out = (v as (...a: unknown[]) => unknown).apply(target, args);
          return out instanceof Promise
            ? out.catch((e) => {
                throw unavailable(e);
              })
            : out;
        } catch (e) {
          throw unavailable(e);
        }
      };
    },
  });
}

/** Self-hosted Redis over TCP (`redis://[user:pass@]host:port[/db]`). */
export function tcpStore({ url, prefix, dial }: { url: string; prefix: string; dial: Dial }): RedisStore {
  const requester = tcpRequester(url, { dial });
  return new RedisStore(new Redis(requester), "redis", prefix, () => requester.close());
}
