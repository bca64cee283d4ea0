/** The SQLite port (`OpenSqlite`, src/store/sqlite.ts) on Bun: bun:sqlite, built into the binary. */
import { Database } from "bun:sqlite";
import type { OpenSqlite } from "../store/sqlite.ts";
import { openFile } from "./sqlite-file.ts";

export const bunSqlite: OpenSqlite = (path) =>
  Object.assign(
    openFile(path, () => new Database(path, { create: true, strict: true })),
    { afterTurn: (fn: () => void) => void setImmediate(fn) },
  );
