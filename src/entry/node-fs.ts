/**
 * FileAccess (src/deps.ts) over node:fs/promises, which Bun and Deno both provide. Only the
 * entries import it: domain code gets files through Deps.fs.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { FileAccess } from "../ports.ts";

export const nodeFileAccess: FileAccess = {
  async read(path) {
    try {
      return await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  },
  async write(path, text, mode) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { encoding: "utf8", ...(mode !== undefined ? { mode } : {}) });
  },
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
};
