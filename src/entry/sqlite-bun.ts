/** The SQLite port (`OpenSqlite`, src/store/sqlite.ts) on Bun: bun:sqlite, built into the binary. */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { OpenSqlite } from "../store/sqlite.ts";

export const bunSqlite: OpenSqlite = (path) => {
  mkdirSync(dirname(path), { recursive: true });
  return Object.assign(new Database(path, { create: true, strict: true }), {
    afterTurn: (fn: () => void) => void setImmediate(fn),
  });
};
