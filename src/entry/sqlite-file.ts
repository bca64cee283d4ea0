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
  } catch {
    db.close();
    throw new Error("the database file is not writable by this process");
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
