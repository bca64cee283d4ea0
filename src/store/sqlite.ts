/**
 * A durable embedded store on the runtime's own SQLite (bun:sqlite in the binary, node:sqlite on
 * Deno), injected by the entry as a `SqlDb`: what a restart must not forget — the ledger, steps,
 * delivery records — survives it. WAL mode; every operation runs synchronously in its own savepoint
 * of a transaction that one turn's operations share (see tx), so it is atomic within the process
 * and, through SQLite's lock, across processes sharing the file. TTLs are kept as an expiry time and
 * swept now and then. Values are JSON text as on Redis.
 */
import { type JobError, storeUnavailable } from "../errors.ts";
import { type Acquired, type SetOptions, type Store, toJson, type Write, type ZEntry } from "./store.ts";

/** The calls the store makes on a runtime's SQLite: bun:sqlite's Database and node:sqlite's DatabaseSync both have them. */
export interface SqlDb {
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
  /** Runs `fn` once the event loop's current turn is done (the entry's setImmediate): group commit. */
  afterTurn(fn: () => void): void;
  /**
   * Whether the path still names the file that was opened (not deleted, renamed or replaced):
   * in WAL mode SQLite goes on writing to the file it holds, so nothing else would tell.
   */
  sameFile(): boolean;
}

export interface SqlStatement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
  /** Where the driver keeps the connection open until its statements are finalized (bun:sqlite). */
  finalize?(): void;
}

type SqlValue = string | number | null;

/** Opens (creating it and its directory) the database file at `path`: the entry's port. */
export type OpenSqlite = (path: string) => SqlDb;

/**
 * Set up at every opening. journal_size_limit: a WAL that grew while a long reader held it (a
 * backup, an `sqlite3` shell) is cut back to 16 MB at its next reset instead of keeping its peak
 * size.
 */
const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 5000;
PRAGMA journal_size_limit = ${16 * 1024 * 1024};
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER);
CREATE TABLE IF NOT EXISTS hnum (key TEXT NOT NULL, field TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (key, field));
CREATE TABLE IF NOT EXISTS hjson (key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, field));
CREATE TABLE IF NOT EXISTS zset (key TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (key, member));
CREATE INDEX IF NOT EXISTS zset_by_score ON zset (key, score, member);
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
`;

/**
 * How long a commit waits for another process's write lock before its operations fail. SQLite's
 * own wait (busy_timeout) blocks the thread, so after opening it is kept short and the commit
 * tries again on a timer instead: the worker goes on answering meanwhile.
 */
const LOCK_WAIT_MS = 5000;
const BUSY_TIMEOUT_MS = 20;

/**
 * SQLITE_BUSY, as bun:sqlite (code) and node:sqlite (errcode) report it; Deno's node:sqlite
 * gives `exec` errors no errcode, only SQLite's text for it.
 */
function isBusy(e: unknown): boolean {
  const x = e as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  return x?.code === "SQLITE_BUSY" || x?.errcode === 5 || x?.message === "database is locked";
}

/**
 * SQLITE_READONLY and its extended codes ("attempt to write a readonly database"), as bun:sqlite
 * (code), node:sqlite (errcode) and Deno's node:sqlite `exec` (only SQLite's text) report it.
 */
function isReadonly(e: unknown): boolean {
  const x = e as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  return (
    (typeof x?.code === "string" && x.code.startsWith("SQLITE_READONLY")) ||
    (typeof x?.errcode === "number" && (x.errcode & 0xff) === 8) ||
    /readonly database/i.test(String(x?.message))
  );
}

/**
 * No room to write (SQLITE_FULL), or none for the -shm SQLite makes beside the file at opening
 * (SQLITE_IOERR_SHMSIZE: "disk I/O error" after a clean stop removed it).
 */
function isFull(e: unknown): boolean {
  const x = e as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  return (
    x?.code === "SQLITE_FULL" ||
    x?.code === "SQLITE_IOERR_SHMSIZE" ||
    (typeof x?.errcode === "number" && ((x.errcode & 0xff) === 13 || x.errcode === 4874)) ||
    /database or disk is full/i.test(String(x?.message))
  );
}

/** Why the file is refused at opening, said by the checks below (not SQLite's own error). */
class Refusal extends Error {}

/** SQLITE_CORRUPT (11) or SQLITE_NOTADB (26), as bun:sqlite (code) and node:sqlite (errcode, or only the text) report them. */
function isDamage(e: unknown): boolean {
  const x = e as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  return (
    x?.code === "SQLITE_CORRUPT" ||
    x?.code === "SQLITE_NOTADB" ||
    (typeof x?.errcode === "number" && [11, 26].includes(x.errcode & 0xff)) ||
    /^(database disk image is malformed|file is not a database)/.test(String(x?.message))
  );
}

const DAMAGED_ADVICE = "move it aside to start with an empty store, or put back a copy";

/**
 * Sets up the schema and checks the file (refuseDamaged), waiting out other processes that open
 * the file at the same moment (a restart overlapping the old process, `alertagent-worker status`
 * beside `serve`): switching a new file to WAL fails with SQLITE_BUSY at once, without SQLite's
 * own wait, while another connection holds it. Every statement is idempotent, so it is simply
 * run again. It blocks: this is the store's opening, before anything is served.
 */
function setUp(db: SqlDb): { created: boolean } {
  const since = Date.now();
  // Told once: a retry after SCHEMA ran part-way would find this process's own table.
  let created: boolean | undefined;
  for (;;) {
    try {
      created ??= allOnce(db, "SELECT 1 FROM sqlite_master WHERE name = 'kv'").length === 0;
      refuseForeign(db);
      db.exec(SCHEMA);
      refuseDamaged(db);
      refuseUnwritable(db);
      return { created };
    } catch (e) {
      if (e instanceof Refusal) throw e;
      // Damage SQLite meets before quick_check does (a header overwritten, a copy cut short).
      if (isDamage(e)) {
        db.close();
        throw new Refusal(`the database file is damaged (${(e as Error).message}); ${DAMAGED_ADVICE}`);
      }
      // A file it may write in a directory it may not: SQLite cannot make the -wal and -shm there.
      if (isReadonly(e)) {
        db.close();
        throw new Refusal(
          `cannot write the database (${(e as Error).message}): check that this user may write the file, its -wal and -shm beside it, and its directory (SQLite makes those there)`,
        );
      }
      // A start on a full disk after a clean stop: SQLite cannot make the -shm, and every statement
      // fails "disk I/O error", which would send the operator to the disk's health.
      if (isFull(e)) {
        db.close();
        throw new Refusal(
          `no room to write beside the database (${(e as Error).message}): the disk holding it is full (or the process's file size limit is reached); free space and start again`,
        );
      }
      if (!isBusy(e) || Date.now() - since >= LOCK_WAIT_MS) throw e;
      // 10–30 ms, so openers that collided do not collide again in step.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 20);
    }
  }
}

/** One statement's rows, the statement let go at once (bun:sqlite holds the file while one lives). */
function allOnce(db: SqlDb, sql: string): unknown[] {
  const st = db.prepare(sql);
  try {
    return st.all();
  } finally {
    st.finalize?.();
  }
}

/**
 * A file damaged while the worker was stopped (a disk fault, a copy cut short) opens without
 * complaint and fails only the jobs whose pages it touches: every new claim, while `/health` said
 * ok. SQLite's quick check reads every page once (tens of ms for the store's usual size), so such
 * a file is refused at start, named, instead (README, "The store").
 */
function refuseDamaged(db: SqlDb): void {
  const found = (allOnce(db, "PRAGMA quick_check(3)") as { quick_check: string }[]).map((r) => r.quick_check);
  if (found.length === 1 && found[0] === "ok") return;
  db.close();
  throw new Refusal(
    `the database file is damaged (SQLite's quick_check: ${found.join("; ")}); ${DAMAGED_ADVICE}`,
  );
}

/** The store's own tables: a file with any other is another application's database. */
const TABLES = new Set(["kv", "hnum", "hjson", "zset"]);

/**
 * Another application's SQLite file at store.path would get the store's tables and WAL mode
 * (which may break that application): refused, named, before anything is written to it. A file
 * that holds the store already is ours, whatever a tool added beside it (Litestream's tables).
 */
function refuseForeign(db: SqlDb): void {
  const tables = (
    allOnce(db, "SELECT name FROM sqlite_master WHERE type = 'table'") as { name: string }[]
  ).map((t) => t.name);
  const theirs = tables.filter((n) => !TABLES.has(n) && !n.startsWith("sqlite_"));
  if (tables.includes("kv") || !theirs.length) return;
  db.close();
  throw new Refusal(
    `the file is another application's SQLite database (tables: ${theirs.slice(0, 5).join(", ")}); give store.path a file of its own`,
  );
}

/**
 * The setup above only reads a file that has the store already: a file that can be read but not
 * written — its -wal or -shm left by another user (a run as root, killed) — would open fine and
 * then fail every job, replays included. One write taken back, at opening, finds it — unless
 * another process holds the write lock now (a second worker, an `sqlite3` shell): the start does
 * not wait on it. Only "read-only" refuses: a full disk or an I/O error may pass, and shows on
 * /health/ready until a write works again (README, "The store").
 */
function refuseUnwritable(db: SqlDb): void {
  try {
    db.exec("PRAGMA busy_timeout = 0");
    db.exec(
      `BEGIN IMMEDIATE; INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES ('${PROBE_KEY}', '0', NULL); DELETE FROM kv WHERE key = '${PROBE_KEY}'; COMMIT;`,
    );
  } catch (e) {
    if (isBusy(e)) return;
    try {
      db.exec("ROLLBACK");
    } catch {}
    if (!isReadonly(e)) return;
    db.close();
    throw new Refusal(
      `cannot write the database (${(e as Error).message}): check that this user may write the file and its -wal and -shm beside it`,
    );
  }
}

/** The row ping writes and takes back to learn whether writes work again. */
const PROBE_KEY = "alertagent:ping";
const PROBE_VALUE = "0".repeat(16 * 1024);

/** How often expired keys are swept on a write (reads skip them whenever they meet them). */
const SWEEP_EVERY_MS = 60_000;

interface Row {
  value: string;
  expires_at: number | null;
}

export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  private sweepAt = 0;
  private closed = false;
  /** When the path was last found to name the open file (checked at most once a second). */
  private fileSeenAt = 0;
  private readonly queue: {
    f: () => unknown;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private readonly q;
  /** Why the last commit failed as a whole (a full disk, an I/O error), until one works again. */
  private commitFailure: unknown;
  /**
   * The file had no store in it: a first start, or a file deleted or a working directory changed
   * by mistake, after which answered messages would run again (the start-up line says so).
   */
  readonly created: boolean;

  constructor(
    private readonly db: SqlDb,
    private readonly now: () => number = Date.now,
  ) {
    this.created = setUp(db).created;
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const p = (sql: string) => db.prepare(sql);
    this.q = {
      begin: p("BEGIN IMMEDIATE"),
      commit: p("COMMIT"),
      savepoint: p("SAVEPOINT op"),
      release: p("RELEASE op"),
      rollbackTo: p("ROLLBACK TO op"),
      get: p("SELECT value, expires_at FROM kv WHERE key = ?"),
      put: p(
        "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
      ),
      expire: p("UPDATE kv SET expires_at = ? WHERE key = ?"),
      delKv: p("DELETE FROM kv WHERE key = ?"),
      delHnum: p("DELETE FROM hnum WHERE key = ?"),
      delHjson: p("DELETE FROM hjson WHERE key = ?"),
      delZset: p("DELETE FROM zset WHERE key = ?"),
      sweep: p("DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?"),
      hincr: p(
        "INSERT INTO hnum (key, field, value) VALUES (?, ?, ?) ON CONFLICT(key, field) DO UPDATE SET value = value + excluded.value RETURNING value",
      ),
      hgetall: p("SELECT field, value FROM hnum WHERE key = ?"),
      hset: p(
        "INSERT INTO hjson (key, field, value) VALUES (?, ?, ?) ON CONFLICT(key, field) DO UPDATE SET value = excluded.value",
      ),
      hget: p("SELECT value FROM hjson WHERE key = ? AND field = ?"),
      hdel: p("DELETE FROM hjson WHERE key = ? AND field = ?"),
      zadd: p(
        "INSERT INTO zset (key, member, score) VALUES (?, ?, ?) ON CONFLICT(key, member) DO UPDATE SET score = excluded.score",
      ),
      zrem: p("DELETE FROM zset WHERE key = ? AND member = ?"),
      zcard: p("SELECT COUNT(*) AS n FROM zset WHERE key = ?"),
      zasc: p("SELECT member, score FROM zset WHERE key = ? AND score <= ? ORDER BY score, member LIMIT ?"),
      zdesc: p(
        "SELECT member, score FROM zset WHERE key = ? AND score <= ? ORDER BY score DESC, member DESC LIMIT ?",
      ),
    };
  }

  /**
   * Runs `f` atomically and resolves once it is committed. Group commit: the operations asked for
   * in one turn of the event loop share one transaction (BEGIN IMMEDIATE: the write lock first, so
   * it cannot deadlock), each inside its own savepoint, so one failing rolls back only itself. A
   * commit is most of an operation's cost on disk (BENCHMARKS.md); a caller still hears back only
   * after its write is in the file.
   */
  private tx<T>(f: () => T): Promise<T> {
    if (this.closed) return Promise.reject(storeUnavailable(new Error("the store is closed"), false));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ f, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length === 1) this.db.afterTurn(() => this.commit());
    });
  }

  private commit(since = Date.now()): void {
    const batch = this.queue.splice(0);
    const done: [(v: unknown) => void, unknown][] = [];
    const failed: [(e: unknown) => void, unknown][] = [];
    const lost = this.fileLost();
    if (lost) {
      for (const op of batch) op.reject(lost);
      return;
    }
    try {
      this.q.begin.run();
    } catch (e) {
      if (isBusy(e) && Date.now() - since < LOCK_WAIT_MS) {
        // Another process writes: try again soon, with whatever was asked for meanwhile.
        this.queue.unshift(...batch);
        setTimeout(() => this.commit(since), 10);
        return;
      }
      this.commitFailure = e;
      for (const op of batch) op.reject(storeUnavailable(e, false));
      return;
    }
    try {
      for (const op of batch) {
        this.q.savepoint.run();
        try {
          done.push([op.resolve, op.f()]);
          this.q.release.run();
        } catch (e) {
          // With no savepoint left, SQLite rolled the whole transaction back (a full disk, an I/O
          // error): the batch fails with this operation's error, below.
          try {
            this.q.rollbackTo.run();
            this.q.release.run();
          } catch {
            throw e;
          }
          failed.push([op.reject, storeUnavailable(e, false)]);
        }
      }
      this.q.commit.run();
    } catch (e) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // Already rolled back by SQLite.
      }
      this.commitFailure = e;
      for (const op of batch) op.reject(storeUnavailable(e, false));
      return;
    }
    this.commitFailure = undefined;
    for (const [resolve, v] of done) resolve(v);
    for (const [reject, e] of failed) reject(e);
  }

  /** The live row of `key` (an expired one is dropped on the way). */
  private row(key: string, now = this.now()): Row | undefined {
    const r = this.q.get.get(key) as Row | undefined | null;
    if (!r) return undefined;
    if (r.expires_at !== null && r.expires_at <= now) {
      this.q.delKv.run(key);
      return undefined;
    }
    return r;
  }

  private read<T>(key: string): T | null {
    const r = this.row(key);
    return r ? (JSON.parse(r.value) as T) : null;
  }

  private write(key: string, value: unknown, opts: SetOptions = {}): boolean {
    const now = this.now();
    if (now >= this.sweepAt) {
      this.sweepAt = now + SWEEP_EVERY_MS;
      this.q.sweep.run(now);
    }
    if (opts.nx && this.row(key, now)) return false;
    this.q.put.run(key, toJson(value), opts.ttlMs ? now + opts.ttlMs : null);
    return true;
  }

  private holds(key: string, expected: unknown): boolean {
    return this.row(key)?.value === toJson(expected);
  }

  async get<T>(key: string): Promise<T | null> {
    return this.tx(() => this.read<T>(key));
  }

  async mget<T>(keys: string[]): Promise<(T | null)[]> {
    return this.tx(() => keys.map((k) => this.read<T>(k)));
  }

  async set(key: string, value: unknown, opts: SetOptions = {}): Promise<boolean> {
    return this.tx(() => this.write(key, value, opts));
  }

  async del(key: string): Promise<void> {
    await this.tx(() => this.dropAll(key));
  }

  private dropAll(key: string): void {
    this.q.delKv.run(key);
    this.q.delHnum.run(key);
    this.q.delHjson.run(key);
    this.q.delZset.run(key);
  }

  async delIfEquals(key: string, expected: unknown): Promise<boolean> {
    return this.tx(() => {
      if (!this.holds(key, expected)) return false;
      this.q.delKv.run(key);
      return true;
    });
  }

  async expireIfEquals(key: string, expected: unknown, ttlMs: number): Promise<boolean> {
    return this.tx(() => {
      if (!this.holds(key, expected)) return false;
      this.q.expire.run(this.now() + ttlMs, key);
      return true;
    });
  }

  async acquire<T>(
    key: string,
    value: unknown,
    ttlMs: number,
    alsoRead: string,
    more: string[] = [],
  ): Promise<Acquired<T>> {
    return this.tx(() => {
      const acquired = this.write(key, value, { nx: true, ttlMs });
      return {
        acquired,
        read: this.read<T>(alsoRead),
        ttlMs: acquired ? ttlMs : this.ttlOf(key),
        more: more.map((k) => this.read(k)),
      };
    });
  }

  /** Makes `writes` in order, inside the caller's transaction. */
  private apply(writes: readonly Write[]): boolean {
    let held = true;
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      if (w.op === "set") this.write(w.key, w.value, { ttlMs: w.ttlMs });
      else if (w.op === "push") this.push(w.key, w.value, w.max, w.ttlMs);
      else if (w.op === "del") {
        // A key that holds a value is a plain one: only its row goes (a job's lease, every finish).
        if (w.ifEquals === undefined) this.dropAll(w.key);
        else if (this.holds(w.key, w.ifEquals)) this.q.delKv.run(w.key);
      } else if (w.op === "hset") this.q.hset.run(w.key, w.field, toJson(w.value));
      else if (w.op === "hdel") this.q.hdel.run(w.key, w.field);
      else if (w.op === "zadd") this.q.zadd.run(w.key, w.member, w.score);
      else if (w.op === "zrem") this.q.zrem.run(w.key, w.member);
      else if (w.op === "check") {
        if (!this.holds(w.key, w.equals)) {
          held = false;
          i += w.guards;
        }
      } else if (!this.write(w.key, w.value, { nx: true, ttlMs: w.ttlMs })) i += w.guards;
    }
    return held;
  }

  async writeMany(writes: Write[]): Promise<boolean> {
    return this.tx(() => this.apply(writes));
  }

  async pttl(key: string): Promise<number> {
    return this.tx(() => this.ttlOf(key));
  }

  private ttlOf(key: string): number {
    const now = this.now();
    const r = this.row(key, now);
    if (!r) return -2;
    return r.expires_at === null ? -1 : r.expires_at - now;
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    return this.tx(() => {
      const now = this.now();
      const r = this.row(key, now);
      const next = (r ? Number(JSON.parse(r.value)) : 0) + by;
      this.q.put.run(key, toJson(next), r ? r.expires_at : ttlMs ? now + ttlMs : null);
      return next;
    });
  }

  async hincr(key: string, field: string, by: number): Promise<number> {
    return this.tx(() => (this.q.hincr.get(key, field, by) as { value: number }).value);
  }

  async hgetall(key: string): Promise<Record<string, number>> {
    const rows = await this.tx(() => this.q.hgetall.all(key) as { field: string; value: number }[]);
    return Object.fromEntries(rows.map((r) => [r.field, r.value]));
  }

  async pushCapped(key: string, value: unknown, max: number, ttlMs?: number): Promise<void> {
    await this.tx(() => this.push(key, value, max, ttlMs));
  }

  /** A capped list is one JSON array (newest first) under its key, as small as its cap. */
  private push(key: string, value: unknown, max: number, ttlMs: number | undefined): void {
    if (max < 1) {
      this.q.delKv.run(key);
      return;
    }
    const now = this.now();
    const r = this.row(key, now);
    const items = r ? (JSON.parse(r.value) as unknown[]) : [];
    items.unshift(value ?? null);
    if (items.length > max) items.length = max;
    this.q.put.run(key, JSON.stringify(items), ttlMs ? now + ttlMs : (r?.expires_at ?? null));
  }

  async list<T>(key: string, limit: number): Promise<T[]> {
    const items = (await this.tx(() => this.read<T[]>(key))) ?? [];
    return items.slice(0, Math.max(0, limit));
  }

  async hset(key: string, fields: Record<string, unknown>): Promise<void> {
    await this.tx(() => {
      for (const [f, v] of Object.entries(fields)) this.q.hset.run(key, f, toJson(v));
    });
  }

  async hmget<T>(key: string, fields: string[]): Promise<(T | null)[]> {
    return this.tx(() =>
      fields.map((f) => {
        const r = this.q.hget.get(key, f) as { value: string } | undefined | null;
        return r ? (JSON.parse(r.value) as T) : null;
      }),
    );
  }

  async hdel(key: string, fields: string[]): Promise<number> {
    return this.tx(() => {
      let n = 0;
      for (const f of fields) n += Number(this.q.hdel.run(key, f).changes);
      return n;
    });
  }

  async zadd(key: string, entries: ZEntry[]): Promise<void> {
    await this.tx(() => {
      for (const e of entries) this.q.zadd.run(key, e.member, e.score);
    });
  }

  async zrem(key: string, members: string[]): Promise<number> {
    return this.tx(() => {
      let n = 0;
      for (const m of members) {
        const before = this.zcount(key);
        this.q.zrem.run(key, m);
        n += before - this.zcount(key);
      }
      return n;
    });
  }

  private zcount(key: string): number {
    return (this.q.zcard.get(key) as { n: number }).n;
  }

  async zcard(key: string): Promise<number> {
    return this.tx(() => this.zcount(key));
  }

  async zrange(key: string, opts: { limit: number; rev?: boolean; maxScore?: number }): Promise<ZEntry[]> {
    const stmt = opts.rev ? this.q.zdesc : this.q.zasc;
    return this.tx(() => stmt.all(key, opts.maxScore ?? Infinity, Math.max(0, opts.limit)) as ZEntry[]);
  }

  async ztopMany(keys: string[], limit: number | number[]): Promise<{ size: number; members: string[] }[]> {
    return this.tx(() =>
      keys.map((k, i) => {
        const n = Array.isArray(limit) ? (limit[i] ?? 0) : limit;
        const members = n > 0 ? (this.q.zdesc.all(k, Infinity, n) as ZEntry[]).map((e) => e.member) : [];
        return { size: this.zcount(k), members };
      }),
    );
  }

  /**
   * A read, or, while the last commit failed, a write (a row of a few pages put and taken back,
   * needing room as a job's writes do): a full disk lets reads through, and readiness must say
   * the worker cannot record a job.
   */
  async ping(): Promise<void> {
    this.fileSeenAt = 0;
    if (this.commitFailure === undefined) return void (await this.tx(() => this.q.get.get("")));
    await this.tx(() => {
      this.q.put.run(PROBE_KEY, PROBE_VALUE, null);
      this.q.delKv.run(PROBE_KEY);
    });
  }

  /**
   * The error for every operation once the path no longer names the open file (deleted, moved,
   * or another file moved there): what would be written lands in a file no restart will read. A
   * file copied into the open one keeps its identity and is not seen (README, "The store").
   */
  private fileLost(): JobError | undefined {
    const now = Date.now();
    if (now - this.fileSeenAt < 1000) return undefined;
    if (this.db.sameFile()) {
      this.fileSeenAt = now;
      return undefined;
    }
    return storeUnavailable(
      new Error(
        "the database file was deleted or replaced while open; restart the worker to open the file now at store.path",
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // No waiting on another process's lock now: what cannot commit at once fails.
    if (this.queue.length) this.commit(0);
    this.closed = true;
    // bun:sqlite keeps the connection (and its file descriptors) open while a statement lives.
    for (const st of Object.values(this.q)) st.finalize?.();
    this.db.close();
  }
}
