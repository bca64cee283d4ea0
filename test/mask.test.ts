import { describe, expect, test } from "bun:test";
import { credentialsOf, maskCredentials, maskText } from "../src/mask.ts";

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

  test("a URL that does not parse (a # or ? in its password) is masked up to its last @ and from its ?", () => {
    expect(maskText("cannot reach redis://:pa#ss@db:6379/0 now")).toBe(
      "cannot reach redis://********@db:6379/0 now",
    );
    expect(maskText("redis://u:pa?ss@db:6379")).toBe("redis://********@db:6379");
    // Parses, with the host taken from the user and the rest in the fragment.
    expect(maskText("https://tok#en@h.example/x")).toBe("https://********@h.example/x");
    expect(maskText("http://h:notaport/x?token=abc")).toBe("http://h:notaport/x?********");
    // Parses, with the user as the host and the rest of the password as the path.
    expect(maskText("redis-at https://user:12/ss@db.example:6379/0")).toBe(
      "redis-at https://********@db.example:6379/0",
    );
    // An `@` in a path or fragment not followed by a host name is left alone.
    expect(maskText("https://am.example/#/alerts?filter={user=root@db1}")).toBe(
      "https://am.example/#/alerts?filter={user=root@db1}",
    );
  });
});
