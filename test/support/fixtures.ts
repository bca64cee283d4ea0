/** The repository's own test data (test/fixtures/, described in its README). */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const FIXTURES_DIR = join(import.meta.dir, "../fixtures");

/** A fixture file parsed as JSON; `name` is the file name, e.g. `alertmanager-zh.json`. */
export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, name), "utf8")) as T;
}
