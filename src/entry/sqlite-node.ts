/** The SQLite port (`OpenSqlite`, src/store/sqlite.ts) on Deno (and Node ≥ 22.5): node:sqlite. */
import { DatabaseSync } from "node:sqlite";
import type { OpenSqlite, SqlDb } from "../store/sqlite.ts";
import { openFile } from "./sqlite-file.ts";

export const nodeSqlite: OpenSqlite = (path) =>
  Object.assign(
    openFile(path, () => new DatabaseSync(path)),
    { afterTurn: (fn: () => void) => void setImmediate(fn) },
  ) as unknown as SqlDb;
