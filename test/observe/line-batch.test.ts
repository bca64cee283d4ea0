import { describe, expect, test } from "bun:test";
import { lineBatch } from "../../src/observe/line-batch.ts";

describe("log lines are written in batches", () => {
  test("lines logged in one turn of the event loop reach the output in one write, in order", async () => {
    const writes: string[] = [];
    const b = lineBatch((t) => writes.push(t));
    b.write("a\n");
    b.write("b\n");
    expect(writes).toEqual([]);
    await Bun.sleep(5);
    expect(writes).toEqual(["a\nb\n"]);
    b.write("c\n");
    await Bun.sleep(5);
    expect(writes).toEqual(["a\nb\n", "c\n"]);
  });

  test("a full batch is written at once, and flush() writes what waits (shutdown)", () => {
    const writes: string[] = [];
    const b = lineBatch((t) => writes.push(t), 3);
    for (const l of ["1\n", "2\n", "3\n", "4\n"]) b.write(l);
    expect(writes).toEqual(["1\n2\n3\n"]);
    b.flush();
    expect(writes).toEqual(["1\n2\n3\n", "4\n"]);
    b.flush();
    expect(writes).toHaveLength(2);
  });
});
