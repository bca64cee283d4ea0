/**
 * Opens a SqliteStore on a file other processes open at the same moment (argv: the file, then
 * the epoch ms to start at), writes one key under its own pid and prints {ok} or {error} as JSON.
 * Run several at once by test/store/store.test.ts on Bun and Deno: the first opening of a new
 * file switches it to WAL, which a concurrent opener can see fail with SQLITE_BUSY.
 */
import type { OpenSqlite } from "../../src/store/sqlite.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";

const [file, at] = process.argv.slice(-2);
const open: OpenSqlite =
  "Deno" in globalThis
    ? (await import("../../src/entry/sqlite-node.ts")).nodeSqlite
    : (await import("../../src/entry/sqlite-bun.ts")).bunSqlite;
while (Date.now() < Number(at)) {
  // spin: every process starts its opening within the same millisecond
}
try {
  const store = new SqliteStore(open(file));
  await store.set(`k:${process.pid}`, process.pid);
  console.log(JSON.stringify({ ok: (await store.get(`k:${process.pid}`)) === process.pid }));
  await store.close();
} catch (e) {
  console.log(JSON.stringify({ error: String((e as Error)?.message ?? e) }));
}
process.exit(0);
