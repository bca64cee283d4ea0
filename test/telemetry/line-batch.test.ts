import { describe, expect, test } from "bun:test";
import { lineBatch } from "../../src/telemetry/line-batch.ts";

describe("log lines are written in batches", () => {
  test("lines logged in one turn of the event loop reach the output in one write, in order, each ending in a newline", async () => {
    const writes: string[] = [];
    const b = lineBatch((t) => writes.push(t));
    b.write('{"msg":"a"}');
    b.write('{"msg":"b"}');
    expect(writes).toEqual([]);
    await Bun.sleep(5);
    expect(writes).toEqual(['{"msg":"a"}\n{"msg":"b"}\n']);
    b.write("c");
    await Bun.sleep(5);
    expect(writes).toEqual(['{"msg":"a"}\n{"msg":"b"}\n', "c\n"]);
  });

  test("a full batch is written at once, and flush() writes what waits (shutdown)", () => {
    const writes: string[] = [];
    const b = lineBatch((t) => writes.push(t), 3);
    for (const l of ["1", "2", "3", "4"]) b.write(l);
    expect(writes).toEqual(["1\n2\n3\n"]);
    b.flush();
    expect(writes).toEqual(["1\n2\n3\n", "4\n"]);
    b.flush();
    expect(writes).toHaveLength(2);
  });

  test("an empty line is still a line", () => {
    const writes: string[] = [];
    const b = lineBatch((t) => writes.push(t));
    b.write("");
    b.flush();
    expect(writes).toEqual(["\n"]);
  });
});
