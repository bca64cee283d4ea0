/** Reading files in the Bun and Deno entries (src/entry/utf8-file.ts): job files strictly, configs as before. */
import { expect, test } from "bun:test";
import { utf8Text } from "../../src/entry/utf8-file.ts";

const latin1Comment = new Uint8Array([
  ...Buffer.from("# Gr"),
  0xf6,
  0xdf,
  ...Buffer.from("e\nworker: { name: w }\n"),
]);

test("a job file that is not UTF-8 is refused, naming it; a config with a Latin-1 comment still reads (it loaded before)", () => {
  expect(() => utf8Text(latin1Comment, "job.json", true)).toThrow(
    "job.json is not UTF-8 text (save it as UTF-8)",
  );
  expect(utf8Text(latin1Comment, "worker.yaml")).toEndWith("worker: { name: w }\n");
  // A UTF-8 BOM is not part of the text either way.
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from("{}")]);
  expect([utf8Text(bom, "a", true), utf8Text(bom, "a")]).toEqual(["{}", "{}"]);
});
