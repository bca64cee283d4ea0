import { describe, expect, test } from "bun:test";
import { credentialsOf, maskCredentials } from "../src/mask.ts";

describe("what a downstream may quote back of our request", () => {
  test("the credentials of a request: user-info, query values raw and decoded, a webhook path token, header values", () => {
    const got = credentialsOf(
      "https://bob:pa55word@h.example/services/T0AB/B0CD/xoxsecretpath?access_token=tok%2Fen123&format=json",
      {
        Authorization: "Bearer app-0123456789",
      },
    );
    for (const c of [
      "pa55word",
      "tok%2Fen123",
      "tok/en123",
      "xoxsecretpath",
      "Bearer app-0123456789",
      "app-0123456789",
    ])
      expect(got).toContain(c);
    // Short values are not credentials: masking `json` or `bob` would garble what the answer says.
    expect(got).not.toContain("json");
    expect(got).not.toContain("bob");
    // How the request is made is not a credential: a refusal quoting its content type stays readable.
    expect(credentialsOf("https://h.example/x", { "Content-Type": "application/yaml" })).toEqual([]);
  });

  test("masked in a text, and in parsed JSON without touching its numbers, booleans or shape", () => {
    const sent = credentialsOf("https://h.example/robot/send?access_token=abcdef123456&n=123456");
    expect(maskCredentials("bad token abcdef123456 in url", sent)).toBe("bad token ******** in url");
    expect(
      maskCredentials({ errcode: 123456, ok: true, errmsg: "token abcdef123456", list: ["n=123456"] }, sent),
    ).toEqual({
      errcode: 123456,
      ok: true,
      errmsg: "token ********",
      list: ["n=********"],
    });
    expect(maskCredentials(undefined, sent)).toBeUndefined();
  });
});
