/** What both SQLite ports share: the file's directory made, the file writable, and whether its path still names it. */
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Makes the file's directory, opens the file with `open` and refuses one this process may only
 * read (SQLite opens it without a word, and every job would then fail). The SqlDb's `sameFile`
 * compares device and inode with the file opened.
 */
export function openFile<T extends { close(): void }>(
  path: string,
  open: () => T,
): T & { sameFile: () => boolean } {
  mkdirSync(dirname(path), { recursive: true });
  const db = open();
  try {
    accessSync(path, constants.W_OK);
  } catch (e) {
    db.close();
    // Only a refusal says the file is read-only; anything else says why it could not be asked
    // (Deno without --allow-sys may not look up the user the check needs).
    const code = (e as { code?: string }).code;
    throw new Error(
      code === "EACCES" || code === "EROFS" || code === "EPERM"
        ? "the database file is not writable by this process"
        : `cannot tell whether the database file is writable: ${(e as Error).message}`,
    );
  }
  const id = identity(path);
  return Object.assign(db, { sameFile: () => id !== undefined && identity(path) === id });
}

function identity(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}
