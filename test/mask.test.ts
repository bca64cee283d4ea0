import { describe, expect, test } from "bun:test";
import { credentialsOf, MASK, maskCredentials, maskText, quotedAnswer } from "../src/mask.ts";

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

describe("what a review found (masking that garbled, leaked or took quadratic time)", () => {
  test("user-info holding a quote is masked whole before any host: a Docker service name, an IPv6 zone", () => {
    for (const [text, secret] of [
      ["cannot reach http://u:pa'ssWORD@alert_sink:8080/hook (ECONNREFUSED)", "ssWORD"],
      ["cannot reach http://u:pa'ssWORD@[fe80::1%25eth0]/x", "ssWORD"],
      ["cannot reach http://u:pa'ssWORD@alert-sink:8080/hook", "ssWORD"],
    ] as const) {
      const masked = maskText(text);
      expect(masked, text).not.toContain(secret);
      expect(masked, text).toContain("********@");
    }
  });

  test("a long text with one :// and dotted words is masked in linear time", () => {
    const text = `x:// ${"a.".repeat(40_000)}`;
    const t = performance.now();
    maskText(text);
    // Quadratic before (~220 ms at 40 KB, ~900 ms at 80 KB); a generous bound against a slow CI.
    expect(performance.now() - t).toBeLessThan(150);
  });

  test("short header values and user names do not garble ordinary words; passwords and tokens are masked at 4 characters", () => {
    const sent = credentialsOf("https://root:pw4x@hooks.example.com/notify", {
      Authorization: `Basic ${btoa("alertmanager:s3cr3t")}`,
      "X-Env": "prod",
      "X-Api-Key": "k9x2",
    });
    const answer = quotedAnswer(
      '{"msg":"received from alertmanager in production, env prod, root cause k9x2 s3cr3t pw4x"}',
      sent,
    );
    expect(answer.text).toContain("received from alertmanager in production, env prod, root cause");
    expect(answer.text).not.toMatch(/k9x2|s3cr3t|pw4x/);
  });

  test("a credential Python's json.dumps escapes (every character past ASCII as \\uXXXX) is masked", () => {
    const sent = credentialsOf("https://hooks.example.com/x", { "X-Api-Key": "密钥-secret-42" });
    const echoed = JSON.stringify({ got: "密钥-secret-42" }).replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    const { text, json } = quotedAnswer(echoed, sent);
    expect(text).not.toContain("secret-42");
    expect(JSON.stringify(json)).not.toContain("secret-42");
  });
});

describe("percent-encoded quotes", () => {
  test("a password holding the user name, quoted percent-encoded, is masked whole, in the text and the JSON", () => {
    const sent = credentialsOf("https://hooks.example/notify?user=monitoring&password=monitoring/S3cret");
    const { text, json } = quotedAnswer('{"query":"user=monitoring&password=monitoring%2FS3cret"}', sent);
    expect(text).toBe(`{"query":"user=${MASK}&password=${MASK}"}`);
    expect(json).toEqual({ query: `user=${MASK}&password=${MASK}` });
  });
});

describe("a second review of the masking", () => {
  test("a key sent as a Basic user with no password, or as a URL's user alone, is masked; two plain words in another header are not", () => {
    const sent = credentialsOf("https://tok5xyz9@hooks.example.com/x", {
      Authorization: `Basic ${btoa("sk_live_4eC39HqLyjWDarjtT1zdp7dc:")}`,
      "X-Priority": "very high",
    });
    const { text } = quotedAnswer(
      "invalid api key sk_live_4eC39HqLyjWDarjtT1zdp7dc for tok5xyz9; priority high",
      sent,
    );
    expect(text).not.toMatch(/sk_live_4eC39|tok5xyz9/);
    expect(text).toContain("priority high");
  });

  test("user-info with a quote before a host and port followed by a full stop is masked", () => {
    expect(maskText(`cannot reach postgres://admin:pa"ssWORD@db:5432.`)).not.toContain("ssWORD");
  });
});

test("user-info with a quote is masked whatever follows the host; a lone short user name does not garble words", () => {
  for (const text of [
    `error at https://u:p"wSECRET@host!`,
    `[https://u:p"wSECRET@host]`,
    `{url=https://u:p"wSECRET@host}`,
    `https://u:p"wSECRET@host|next`,
    `https://u:p\\"wSECRET@host\\nfailed`,
  ])
    expect(maskText(text), text).not.toContain("SECRET");
  const sent = credentialsOf("https://admin@grafana.example/x");
  expect(quotedAnswer("ask the administrator", sent).text).toBe("ask the administrator");
});

test("tokens known by their shape are masked in free text; words that only look alike are not", () => {
  const text = [
    `gh: ghp_${"x".repeat(36)}`,
    `pat: github_pat_${"A1".repeat(20)}`,
    `gitlab: glpat-${"z".repeat(20)}`,
    "slack: xoxb-1234567890-abcdefghij",
    `openai: sk-live-${"9f".repeat(12)}`,
    "aws: AKIAIOSFODNN7EXAMPLE",
    "project: sk-proj-SevzWEV_NmNnMndQ5gn6-9Z3BoBu9F-KFR6YJtvW6fUfqg2o2Lfel3diT3OCRmBB24hjcd_uLEjgr9tCqnnerVw8A",
    `service: sk-svcacct-${"Ab3-".repeat(10)}x`,
    `anthropic: sk-ant-api03-${"Zz9_".repeat(12)}AA`,
  ].join("\n");
  expect(maskText(text)).toBe(
    ["gh", "pat", "gitlab", "slack", "openai", "aws", "project", "service", "anthropic"]
      .map((k) => `${k}: ${MASK}`)
      .join("\n"),
  );
  const plain =
    "task-runner sk-1 ghp_short AKIA disk-full xoxb node sk-payments-production-db-01 deploy/sk-ingest-worker-consumer-v3 xoxo-gossip-girl-rolling-deploy http://sk-alerts-relay-production01.invalid/a http://grafana.example/d/abc/integration/overview";
  expect(maskText(plain)).toBe(plain);
});

test("the token in a Telegram bot URL's path and a PagerDuty integration key are masked", () => {
  expect(maskText("POST https://api.telegram.org/bot123456789:AAZZ-x_y0123456789/sendMessage failed")).toBe(
    `POST https://api.telegram.org/bot${MASK}/sendMessage failed`,
  );
  expect(maskText("https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue")).toBe(
    `https://events.pagerduty.com/integration/${MASK}/enqueue`,
  );
  expect(maskText("https://example.com/robots/bot/list")).toBe("https://example.com/robots/bot/list");
  // A Telegram API quoting the request's URL back has the token masked in its answer too.
  expect(credentialsOf("https://api.telegram.org/bot123456789:AAZZ-x_y0123456789/sendMessage", {})).toContain(
    "123456789:AAZZ-x_y0123456789",
  );
});
