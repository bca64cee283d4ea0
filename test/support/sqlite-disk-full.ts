/**
 * Fills a SqliteStore's disk (max_page_count) while three writes share one commit, then frees it
 * and writes again; prints what each caller heard, and what the readiness ping said, as JSON. Run by test/store/store.test.ts on Bun
 * (bun:sqlite) and on Deno (node:sqlite), where a full disk once left callers waiting or crashed
 * the process.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OpenSqlite } from "../../src/store/sqlite.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";

const onDeno = "Deno" in globalThis;
const open: OpenSqlite = onDeno
  ? (await import("../../src/entry/sqlite-node.ts")).nodeSqlite
  : (await import("../../src/entry/sqlite-bun.ts")).bunSqlite;
const db = open(join(mkdtempSync(join(tmpdir(), "alertagent-full-")), "full.db"));
const store = new SqliteStore(db);
await store.set("warm", 1);
const { page_count } = db.prepare("PRAGMA page_count").get() as { page_count: number };
db.exec(`PRAGMA max_page_count = ${page_count + 1}`);
const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 2000));
const full = await Promise.race([
  Promise.allSettled([
    store.set("small", "x"),
    store.set("big", "y".repeat(200_000)),
    store.set("small2", "z"),
  ]),
  timeout,
]);
const said = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e) => (e as { code?: string }).code ?? String(e),
  );
// Readiness: reads still work on a full disk, so the ping must write to tell.
const pingFull = await said(store.ping());
db.exec("PRAGMA max_page_count = 1073741823");
const pingFreed = await said(store.ping());
const after = await Promise.race([store.set("after", "ok").then(() => store.get("after")), timeout]);

// The disk already full when the store opens (a restart on a full disk): every write fails with
// this driver's own SQLITE_FULL, made for real on a capped scratch database.
const scratch = open(join(mkdtempSync(join(tmpdir(), "alertagent-full-")), "cap.db"));
let fullError: unknown;
try {
  scratch.exec("PRAGMA max_page_count = 2; CREATE TABLE t (x); INSERT INTO t VALUES (randomblob(100000));");
} catch (e) {
  fullError = e;
}
scratch.close();
let diskFull = true;
const reopened = join(mkdtempSync(join(tmpdir(), "alertagent-full-")), "reopen.db");
new SqliteStore(open(reopened)).close();
const onFullDisk: OpenSqlite = (path) => {
  const d = open(path);
  const exec = d.exec.bind(d);
  d.exec = (sql: string) => {
    if (diskFull && sql.includes("BEGIN IMMEDIATE")) throw fullError;
    return exec(sql);
  };
  return d;
};
let openedFull: unknown;
try {
  const s = new SqliteStore(onFullDisk(reopened));
  diskFull = false;
  await s.set("after-full", "ok");
  openedFull = await s.get("after-full");
} catch (e) {
  openedFull = String(e);
}
console.log(
  JSON.stringify({
    fullError: String(fullError),
    openedFull,
    full:
      full === "timeout" ? full : full.map((r) => (r.status === "rejected" ? String(r.reason) : r.status)),
    pingFull,
    pingFreed,
    after,
    kept: await store.mget(["warm", "small", "small2"]),
  }),
);
process.exit(0);
