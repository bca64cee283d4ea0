import { describe, expect, test } from "bun:test";
import { stringify } from "yaml";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { defaultConfig, interpolate, loadConfig } from "../../src/config/load.ts";
import { parseDuration, parseRate, parseSize } from "../../src/config/units.ts";
import { ConfigError } from "../../src/errors.ts";
import { MASK, maskSecrets } from "../../src/mask.ts";

const keys = `qstash: { current_signing_key: sig_a, next_signing_key: sig_b }\n`;

function configError(text: string, env = {}): ConfigError {
  try {
    loadConfig(text, env, "worker.yaml");
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("the embedded default", () => {
  test("serves on 127.0.0.1:8081 with the runtime's durable store, dev keys, builtin engine, console channel and a file target", () => {
    const c = defaultConfig();
    expect(c.worker).toMatchObject({
      host: "127.0.0.1",
      port: 8081,
      type: "general",
      concurrency: 64,
      body_limit: 1024 * 1024,
    });
    expect(c.store.kind).toBeUndefined(); // SQLite where the runtime has it, memory on Workers
    expect(c.store.path).toBe("./data/alertagent.db");
    expect(c.qstash.current_signing_key).toBe(DEV_SIGNING_KEYS.current);
    expect(c.ai.order).toEqual(["builtin"]);
    expect(c.channels.console.type).toBe("console");
    expect(c.config_sync.targets["local-prometheus"].delivery).toMatchObject({ type: "file" });
    expect(c.store.retention).toBe(7 * 86_400_000);
  });
});

describe("${VAR} interpolation", () => {
  test("fills ${VAR} and ${VAR:-default} from the environment", () => {
    const c = loadConfig(`${keys}worker: { name: "\${NAME}", admin_token: "\${TOKEN:-fallback}" }\n`, {
      NAME: "w1",
    });
    expect(c.worker.name).toBe("w1");
    expect(c.worker.admin_token).toBe("fallback");
  });

  test("a missing variable without a default names the path and the variable", () => {
    const e = configError(`${keys}store: { kind: upstash, url: "\${UPSTASH_URL}", token: x }\n`);
    expect(e.issues[0]).toMatchObject({ path: "store.url" });
    expect(e.message).toContain("UPSTASH_URL");
  });

  test("a problem quoting a value that came from ${VAR} shows it masked (a token in the wrong key)", () => {
    const e = configError(
      `${keys}channels:\n  hook: { type: webhook, url: "https://h.example.com", timeout: "\${HOOK_TOKEN}" }\n`,
      {
        HOOK_TOKEN: "HOOKBEARERSECRET",
      },
    );
    expect(e.issues[0]).toMatchObject({ path: "channels.hook.timeout" });
    expect(e.message).toContain("channels.hook.timeout");
    expect(JSON.stringify([e.message, e.issues])).not.toContain("HOOKBEARERSECRET");
    // Paths stay as written: a ${VAR} value that is also a key name (a channel type) is not hidden there.
    const typed = configError(`${keys}channels:\n  webhook: { type: "\${TY}", url: nope }\n`, {
      TY: "webhook",
    });
    expect(typed.issues[0].path).toBe("channels.webhook.url");
  });

  test("substitutes inside lists and nested maps, never in keys", () => {
    expect(interpolate({ a: ["${X}", { b: "${X}-y" }], "${X}": 1 }, { X: "v" })).toEqual({
      a: ["v", { b: "v-y" }],
      "${X}": 1,
    });
  });
});

describe("validation names the exact path of every bad key", () => {
  test("an unknown key (a typo) is an error at its path", () => {
    const e = configError(`${keys}worker: { concurency: 4 }\n`);
    expect(e.issues.map((i) => i.path)).toContain("worker");
    expect(e.message).toContain("concurency");
  });

  test("a missing section is said to be required, not an object that was undefined", () => {
    const e = configError("worker: { name: x }\n");
    expect(e.issues).toEqual([{ path: "qstash", message: "required but missing (object)" }]);
  });

  test("several problems are all reported", () => {
    const e = configError(`${keys}worker: { port: 99999, body_limit: lots }\nstore: { kind: redis }\n`);
    const paths = e.issues.map((i) => i.path).sort();
    expect(paths).toEqual(["store.url", "worker.body_limit", "worker.port"]);
  });

  test("a bad duration or rate names its path", () => {
    const e = configError(
      `qstash: { current_signing_key: a, next_signing_key: b, clock_tolerance: soon }\nchannels:\n  ops: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=t", rate: lots }\n`,
    );
    expect(e.issues.map((i) => i.path).sort()).toEqual(["channels.ops.rate", "qstash.clock_tolerance"]);
  });

  test("flow control and schedules that cannot work are refused, each naming its path", () => {
    const e = configError(`qstash:
  current_signing_key: a
  next_signing_key: b
  flow_control:
    analysis: { key: k1, min: 20, max: 16 }
    notification: { key: k1, parallelism: 40, max: 20 }
  autoscale: { scale_up_threshold: 0.2, scale_down_threshold: 0.9 }
  schedules:
    - { id: s1, cron: "* * * * *", route: /jobs/autoscale }
    - { id: s1, cron: "* * * * *", route: /jobs/config-sync }
`);
    expect(e.issues.map((i) => `${i.path}: ${i.message}`).sort()).toEqual([
      "qstash.autoscale.scale_down_threshold: must be below scale_up_threshold (0.2)",
      "qstash.flow_control.analysis.min: is more than max (16)",
      "qstash.flow_control.notification.key: is analysis's key too: give each family its own",
      "qstash.flow_control.notification.parallelism: is outside [min, max] = [1, 20]",
      'qstash.schedules[1].id: "s1" is given twice',
    ]);
    const route = configError(
      `qstash: { current_signing_key: a, next_signing_key: b, schedules: [{ id: s1, cron: "* * * * *", route: /jobs/nosuch }] }\n`,
    );
    expect(route.issues).toEqual([
      {
        path: "qstash.schedules[0].route",
        message: expect.stringMatching(/^must be a job route: \/jobs\/analysis, /),
      },
    ]);
  });

  test("a lease or a retention of 0 is refused: nothing would ever expire (or everything at once)", () => {
    const e = configError(`${keys}worker: { lease: 0 }\nstore: { kind: sqlite, retention: 0s }\n`);
    expect(e.issues.map((i) => i.path).sort()).toEqual(["store.retention", "worker.lease"]);
    expect(e.issues[0].message).toContain("more than 0");
  });

  test("a fallback to a channel that does not exist names its path", () => {
    const e = configError(`${keys}channels:\n  ops: { type: console, fallback: [mail] }\n`);
    expect(e.issues).toEqual([{ path: "channels.ops.fallback[0]", message: 'unknown channel "mail"' }]);
  });

  test("two config-sync targets writing one file are refused, naming the second's path", () => {
    const e = configError(`${keys}config_sync:
  targets:
    p: { kind: prometheus, delivery: { type: file, path: /etc/prometheus/rules/a.yml } }
    q: { kind: prometheus, delivery: { type: file, path: "/etc/prometheus//rules/./a.yml" } }
    r: { kind: vmalert, delivery: { type: file, path: /etc/prometheus/old/../rules/a.yml } }
    s: { kind: prometheus, delivery: { type: file, path: /etc/prometheus/rules/b.yml } }
`);
    expect(e.issues).toEqual(
      ["q", "r"].map((t) => ({
        path: `config_sync.targets.${t}.delivery.path`,
        message: `is also target "p"'s file: two targets writing one file overwrite each other's rules`,
      })),
    );
  });

  test("missing signing keys are named", () => {
    const e = configError("worker: { name: x }\n");
    expect(e.issues.map((i) => i.path).sort()).toEqual(["qstash"]);
  });

  test("a store URL or token pasted with a newline or a space is named (the Upstash client refuses it at every request)", () => {
    const e = configError(
      `${keys}store: { kind: upstash, url: "https://eu1.upstash.io ", token: "t0k\\n" }\n`,
    );
    expect(e.issues).toEqual([
      { path: "store.url", message: "begins or ends with a space or a line break (pasted with it?)" },
      { path: "store.token", message: "begins or ends with a space or a line break (pasted with it?)" },
    ]);
  });

  test("not YAML at all", () => {
    expect(configError("worker: [unclosed\n").message).toContain("not valid YAML");
    // Where, without the quoted line (it may hold a secret) and without the colon that led to it.
    expect(configError("token: s3cret: x\n").message).toBe(
      "worker.yaml: not valid YAML: Nested mappings are not allowed in compact mappings at line 1, column 8",
    );
  });

  test("an alias inside its own anchor (a recursive document) is named, not a stack overflow", () => {
    expect(configError(`${keys}x-defaults: &d\n  inner: *d\n`).message).toBe(
      "worker.yaml: x-defaults.inner is an alias of a mapping or list that holds it (a recursive YAML document)",
    );
    expect(configError(`${keys}channels: &l [*l]\n`).message).toContain("channels[0] is an alias of");
    // An anchor used twice side by side is not recursive.
    const ok = loadConfig(
      `${keys}channels:\n  a: { type: webhook, url: "http://h/x", headers: &h { a: "1" } }\n  b: { type: webhook, url: "http://h/y", headers: *h }\n`,
    );
    expect(ok.channels.b).toMatchObject({ headers: { a: "1" } });
  });
});

describe("units", () => {
  test("durations, sizes and rates", () => {
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(parseDuration("soon")).toBeUndefined();
    expect(parseSize("1mb")).toBe(1_048_576);
    expect(parseSize("512kb")).toBe(524_288);
    expect(parseRate("20/min")).toEqual({ limit: 20, periodMs: 60_000 });
    expect(parseRate("100/10m")).toEqual({ limit: 100, periodMs: 600_000 });
  });
});

describe("secrets are masked wherever config is shown", () => {
  const c = loadConfig(`
worker: { admin_token: adm1n-s3cret }
qstash: { current_signing_key: sig_cur_s3cret, next_signing_key: sig_next_s3cret, token: qs-t0ken,
  flow_control: { analysis: { key: analysis-key, parallelism: 4 } } }
store: { kind: redis, url: "redis://:redisPa55@10.0.0.5:6379/0" }
ai: { dify: { url: "https://dify.example.com/v1", apps: { comprehensive: { mode: workflow, key: app-d1fy } } } }
channels:
  ding: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=d1ng", secret: SECd1ng }
  hook: { type: webhook, url: "https://hooks.example.com/x?token=h00k", headers: { Authorization: "Bearer hdr-s3cret", X-Team: sre } }
  mail: { type: email, smtp: { host: smtp.example.com, user: bot, pass: ma1l-pass }, from: a@example.com, to: [b@example.com] }
`);
  const shown = stringify(maskSecrets(c));

  test("no secret value survives", () => {
    for (const secret of [
      "adm1n-s3cret",
      "sig_cur_s3cret",
      "sig_next_s3cret",
      "qs-t0ken",
      "redisPa55",
      "app-d1fy",
      "d1ng",
      "SECd1ng",
      "h00k",
      "hdr-s3cret",
      "ma1l-pass",
    ]) {
      expect(shown).not.toContain(secret);
    }
    expect(shown).toContain(MASK);
  });

  test("what is not secret stays readable", () => {
    expect(shown).toContain("analysis-key");
    expect(shown).toContain("smtp.example.com");
    // Header names stay readable; every header value is masked (any header can carry a credential).
    expect(shown).toContain('X-Team: "********"');
    expect(shown).toContain("10.0.0.5:6379");
  });
});

describe("${VAR} keeps the type of what it is replaced with", () => {
  test("a whole-value reference to a number or boolean is a number or boolean", () => {
    const c = loadConfig(
      `${keys}worker: { port: "\${PORT:-8081}", concurrency: "\${C}" }\nchannels:\n  d: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=t", at: { all: "\${ALL:-false}" } }\n`,
      { C: "8" },
    );
    expect(c.worker.port).toBe(8081);
    expect(c.worker.concurrency).toBe(8);
    expect(c.channels.d.type === "dingtalk" && c.channels.d.at.all).toBe(false);
  });

  test("inside a longer string it stays text", () => {
    const c = loadConfig(`${keys}worker: { name: "w-\${N}" }\n`, { N: "1" });
    expect(c.worker.name).toBe("w-1");
  });
});

test("an unset ${VAR} is named with every other problem of the file, each once", () => {
  const yaml = `${keys}worker: { admin_tokn: x }\nchannels:\n  d: { type: dingtalk, webhook: "\${DT_HOOK}" }\n`;
  let err: ConfigError | undefined;
  try {
    loadConfig(yaml, {});
  } catch (e) {
    err = e as ConfigError;
  }
  expect(err?.issues.map((i) => i.path).sort()).toEqual(["channels.d.webhook", "worker"]);
  expect(err?.message).toContain("environment variable DT_HOOK is not set");
  expect(err?.message).toContain("admin_tokn");
});

test("an all-digit secret from ${VAR} stays a string, every digit of it", () => {
  const c = loadConfig(`${keys}worker: { admin_token: "\${T}" }\n`, { T: "123456" });
  expect(c.worker.admin_token).toBe("123456");
  // What a number would not keep: leading zeros, digits past 2^53, trailing zeros of a fraction.
  for (const T of ["00123", "12345678901234567890123", "0.10"])
    expect(loadConfig(`${keys}worker: { admin_token: "\${T}" }\n`, { T }).worker.admin_token).toBe(T);
  const d = loadConfig(
    `${keys}channels:\n  d: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=\${A}", secret: "\${S}" }\n`,
    { A: "x", S: "0012345678901234567890" },
  );
  expect(d.channels.d.type === "dingtalk" && d.channels.d.secret).toBe("0012345678901234567890");
  // A number field still takes them as YAML reads them.
  const n = loadConfig(
    `${keys}worker: { port: "\${PORT}" }\nqstash: { current_signing_key: a, next_signing_key: b, autoscale: { scale_up_threshold: "\${UP:-0.70}" } }\n`.replace(
      keys,
      "",
    ),
    { PORT: "08081" },
  );
  expect(n.worker.port).toBe(8081);
  expect(n.qstash.autoscale.scale_up_threshold).toBe(0.7);
});

test("a public_url with a query is refused (setup-qstash put the routes inside it)", () => {
  expect(() => loadConfig(`${keys}worker: { public_url: "https://alerts.example.com/base?k=1" }\n`)).toThrow(
    "worker.public_url: must not have a query or a fragment",
  );
});

test("an unquoted number in a text field keeps its text (a 23-digit secret, a 00123 header); number fields read YAML's number", () => {
  const c = loadConfig(
    `${keys}worker: { port: 08081 }
channels:
  d: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=x", secret: 12345678901234567890123 }
  h: { type: webhook, url: "http://h.test/", headers: { X-Key: 00123 } }
`,
  );
  expect(c.channels.d.type === "dingtalk" && c.channels.d.secret).toBe("12345678901234567890123");
  expect(c.channels.h.type === "webhook" && c.channels.h.headers["X-Key"]).toBe("00123");
  expect(c.worker.port).toBe(8081);
  // Written once with an anchor and used again with an alias: the same text at both.
  const a = loadConfig(`${keys}worker: { name: &n 00123, admin_token: *n }\n`);
  expect([a.worker.name, a.worker.admin_token]).toEqual(["00123", "00123"]);
});

describe("a config in the old Go worker's shape is refused with where each key moved", () => {
  const old = `${keys}worker:
  ai_analysis: { concurrency: 2 }
  notification: { concurrency: 4 }
dify:
  api_url: http://dify.internal/v1
  api_key: app-123
  agent_id: agent-9
ollama:
  api_url: http://ollama:11434
  model: qwen2.5
redis:
  addr: 127.0.0.1:6379
  password: hunter2
`;

  test("every old key is named with its new home, in one error", () => {
    const e = configError(old);
    const byPath = Object.fromEntries(e.issues.map((d) => [d.path, d.message]));
    expect(Object.keys(byPath).sort()).toEqual([
      "dify.agent_id",
      "dify.api_key",
      "dify.api_url",
      "ollama.api_url",
      "ollama.model",
      "redis.addr",
      "redis.password",
      "worker.ai_analysis",
      "worker.notification",
    ]);
    expect(byPath["dify.api_url"]).toContain("moved to ai.dify.url");
    expect(byPath["dify.api_key"]).toContain("ai.dify.apps.<type>.key");
    expect(byPath["ollama.model"]).toContain("ai.ollama.model");
    expect(byPath["redis.addr"]).toContain("store: {kind: redis");
    expect(byPath["worker.ai_analysis"]).toContain("worker.type: ai-analysis");
    expect(e.message).not.toContain("hunter2");
  });

  test("through the CLI: exit 2, the hints on stderr", async () => {
    const { main } = await import("../../src/cli/main.ts");
    const { exitCode, fakePlatform } = await import("../support/fake-platform.ts");
    const f = fakePlatform({ "old.yaml": old });
    expect(await exitCode(main(["check-config", "--config", "old.yaml"], f.p))).toBe(2);
    expect(f.stderr()).toContain("dify.api_url: the old worker's key: moved to ai.dify.url");
    expect(f.stdout()).toBe("");
  });
});

test("store.url: a Redis database that is not a number is refused at load, naming the key; numbers, none, or a trailing slash pass", () => {
  for (const bad of ["redis://10.0.0.5:6379/db3", "redis://10.0.0.5/0/1"]) {
    const e = configError(`${keys}store: { kind: redis, url: "${bad}" }\n`);
    expect(e.issues).toEqual([expect.objectContaining({ path: "store.url" })]);
    expect(e.message).toContain("database number");
  }
  for (const good of [
    "redis://10.0.0.5:6379/3",
    "rediss://u:p@h:6380",
    "redis://h:6379/",
    "redis://[::1]:6379/0",
  ])
    expect(loadConfig(`${keys}store: { kind: redis, url: "${good}" }\n`, {}).store.url).toBe(good);
});
