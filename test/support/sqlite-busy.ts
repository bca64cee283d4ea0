/**
 * Writes to a SqliteStore whose file another process holds the write lock of (argv: the file),
 * counting the timer ticks that run meanwhile; prints {value, ticks, waitedMs} as JSON. Run by
 * test/store/store.test.ts on Bun (bun:sqlite) and Deno (node:sqlite): SQLite's own busy wait
 * blocks the thread, so without the store's timer-driven retry no tick runs until the lock goes.
 */
import type { OpenSqlite } from "../../src/store/sqlite.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";

const file = process.argv.at(-1) as string;
const open: OpenSqlite =
  "Deno" in globalThis
    ? (await import("../../src/entry/sqlite-node.ts")).nodeSqlite
    : (await import("../../src/entry/sqlite-bun.ts")).bunSqlite;
const store = new SqliteStore(open(file));
let ticks = 0;
const ticker = setInterval(() => ticks++, 10);
const started = Date.now();
await store.set("k", "v");
const waitedMs = Date.now() - started;
clearInterval(ticker);
console.log(JSON.stringify({ value: await store.get("k"), ticks, waitedMs }));
await store.close();
process.exit(0);
