import { expect, test } from "bun:test";
import { isoAt } from "../src/iso-time.ts";

test("isoAt is toISOString, also when the millisecond repeats or goes back", () => {
  for (const ms of [0, 1_764_316_800_000, 1_764_316_800_000, 1_764_316_800_001, 5, 1_764_316_800_001]) {
    expect(isoAt(ms)).toBe(new Date(ms).toISOString());
  }
});
