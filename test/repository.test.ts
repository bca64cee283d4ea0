/**
 * The repository stands alone: nothing it tracks reads or cites a file outside it, and a fresh
 * `npm ci` installs the runtimes without install-script warnings.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const tracked = Bun.spawnSync(["git", "ls-files", "-z"], { cwd: ROOT })
  .stdout.toString()
  .split("\0")
  .filter((f) => f && /\.(ts|md|sh|json|yaml|yml|toml)$|^scripts\/|^\.ci\//.test(f));

describe("the repository stands alone", () => {
  test("no tracked file reads or cites a document or fixture outside the repository", () => {
    // Built from pieces so this file does not match itself.
    const outside = [`../${"shared"}`, `${"SPEC"} §`, `${"CONTRACTS"} §`, `/${"work"}/`];
    const hits: string[] = [];
    for (const f of tracked) {
      const text = readFileSync(join(ROOT, f), "utf8");
      for (const needle of outside) if (text.includes(needle)) hits.push(`${f}: ${needle}`);
    }
    expect(hits).toEqual([]);
  });

  test("every dependency with an install script is covered by allowScripts", () => {
    const ls = Bun.spawnSync(["npm", "install-scripts", "ls", "--json"], { cwd: ROOT });
    expect(ls.exitCode).toBe(0);
    expect(JSON.parse(ls.stdout.toString())).toEqual({ allowScripts: [] });
  });
});
