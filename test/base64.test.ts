import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { base64Text } from "../src/base64.ts";

describe("base64Text: base64 decoded as UTF-8, ASCII without a Buffer", () => {
  const cases = [
    '{"error":{"code":"downstream_unavailable","message":"DingTalk answered 503"}}',
    "",
    "tabs\tand\nnewlines",
    '{"summary":"磁盘使用率 95% — é 🚨"}',
    "\u0001control",
  ];
  test("gives what Buffer gives, for base64 and base64url, ASCII or not", () => {
    for (const text of cases) {
      const bytes = Buffer.from(text, "utf8");
      expect(base64Text(bytes.toString("base64"))).toBe(text);
      expect(base64Text(bytes.toString("base64url"), true)).toBe(text);
    }
  });

  test("text atob refuses is decoded as Buffer decodes it, not thrown", () => {
    for (const odd of ["eyJh*Yi", "abc-_", "a"]) {
      expect(base64Text(odd)).toBe(Buffer.from(odd, "base64").toString("utf8"));
    }
  });
});
