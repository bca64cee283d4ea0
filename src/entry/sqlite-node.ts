/** The SQLite port (`OpenSqlite`, src/store/sqlite.ts) on Deno (and Node ≥ 22.5): node:sqlite. */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { OpenSqlite, SqlDb } from "../store/sqlite.ts";

export const nodeSqlite: OpenSqlite = (path) => {
  mkdirSync(dirname(path), { recursive: true });
  return Object.assign(new DatabaseSync(path), {
    afterTurn: (fn: () => void) => void setImmediate(fn),
  }) as unknown as SqlDb;
};
