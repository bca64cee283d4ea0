/**
 * What operators do to a SQLite store's file, one case per run (argv: the case, the file); prints
 * what the store did as JSON. Run by test/store/store.test.ts on Bun (bun:sqlite) and Deno
 * (node:sqlite), whose drivers differ (bun:sqlite kept a closed connection open).
 * - close: open and close 20 stores on one file, then write through a closed one.
 * - moved: the file is renamed away while the store runs (a backup restored over it is the same).
 * - wal: a reader holds a snapshot while ~24 MB are written, then lets go; how large is the WAL after?
 * - damaged: pages in the middle of a closed store's file overwritten (a disk fault), then opened.
 * - header: its first bytes overwritten; truncated: cut to its first three pages (a copy cut short).
 */
import { openSync, readdirSync, readlinkSync, renameSync, statSync, truncateSync, writeSync } from "node:fs";
import type { OpenSqlite } from "../../src/store/sqlite.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";

const [which, file] = process.argv.slice(-2);
const open: OpenSqlite =
  "Deno" in globalThis
    ? (await import("../../src/entry/sqlite-node.ts")).nodeSqlite
    : (await import("../../src/entry/sqlite-bun.ts")).bunSqlite;
const code = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e) => (e as { code?: string }).code ?? String(e),
  );
/** This process's file descriptors on the database and its -wal/-shm. */
const fds = () =>
  readdirSync("/proc/self/fd").filter((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`).startsWith(file);
    } catch {
      return false;
    }
  }).length;

let out: unknown;
if (which === "close") {
  let last: SqliteStore | undefined;
  for (let i = 0; i < 20; i++) {
    last = new SqliteStore(open(file));
    await last.set("k", i);
    await last.close();
  }
  out = { fds: fds(), afterClose: await code((last as SqliteStore).set("k", "late")) };
} else if (which === "moved") {
  const store = new SqliteStore(open(file));
  await store.set("k", 1);
  renameSync(file, `${file}.moved`);
  out = { ping: await code(store.ping()), set: await code(store.set("k", 2)) };
} else if (["damaged", "header", "truncated"].includes(which)) {
  const store = new SqliteStore(open(file));
  for (let i = 0; i < 400; i++) await store.set(`k:${i}`, "v".repeat(1000));
  await store.close();
  const fd = openSync(file, "r+");
  const pages = statSync(file).size / 4096;
  if (which === "damaged")
    writeSync(fd, new Uint8Array(20 * 4096).fill(0x5a), 0, 20 * 4096, Math.floor(pages / 2) * 4096);
  else if (which === "header") writeSync(fd, new Uint8Array(100).fill(0x5a), 0, 100, 0);
  else truncateSync(file, 3 * 4096);
  out = await code(Promise.resolve().then(() => new SqliteStore(open(file))));
} else {
  const store = new SqliteStore(open(file));
  await store.set("k", 0);
  const reader = open(file);
  reader.exec("BEGIN");
  reader.prepare("SELECT COUNT(*) FROM kv").get();
  const big = "x".repeat(200_000);
  for (let i = 0; i < 120; i++) await store.set(`big:${i}`, `${i}${big}`);
  const peakMb = statSync(`${file}-wal`).size / 2 ** 20;
  reader.exec("COMMIT");
  reader.close();
  for (let i = 0; i < 200; i++) await store.set(`small:${i}`, i);
  out = { peakMb, afterMb: statSync(`${file}-wal`).size / 2 ** 20 };
}
console.log(JSON.stringify(out));
process.exit(0);
