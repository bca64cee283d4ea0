/**
 * FileAccess (src/deps.ts) over node:fs/promises, which Bun and Deno both provide. Only the
 * entries import it: domain code gets files through Deps.fs.
 */
import { chmod, chown, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
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
  async write(path, text, { mode, like } = {}) {
    await mkdir(dirname(path), { recursive: true });
    const was = like ? await stat(like).catch(() => undefined) : undefined;
    await writeFile(path, text, { encoding: "utf8", ...(mode !== undefined ? { mode } : {}) });
    if (!was) return;
    // The owner and group first (only root gives a file away; another user may still give it a
    // group it is in, the peer's), then the mode exactly (writeFile's is masked by the umask):
    // the other way round, the old mode would meet this process's group for a moment.
    await chown(path, was.uid, was.gid).catch(async () => {
      await chown(path, (await stat(path)).uid, was.gid).catch(() => {});
    });
    await chmod(path, was.mode & 0o7777);
  },
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
  exists: (path) =>
    stat(path).then(
      () => true,
      (e) => {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw e;
      },
    ),
  list: (dir) =>
    readdir(dir).catch((e) => {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }),
};
