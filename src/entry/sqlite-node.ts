/** The SQLite port (`OpenSqlite`, src/store/sqlite.ts) on Deno (and Node ≥ 22.5): node:sqlite. */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { OpenSqlite, SqlDb } from "../store/sqlite.ts";

export const nodeSqlite: OpenSqlite = (path) => {
  mkdirSync(dirname(path), { recursive: true });
  return new DatabaseSync(path) as unknown as SqlDb;
};
