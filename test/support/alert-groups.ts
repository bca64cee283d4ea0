/**
 * Alert data for the notification tests: the Alertmanager fixtures (test/fixtures/) and large groups built from them — many alerts, Chinese text, label
 * values full of markdown and HTML metacharacters.
 */
import { readFixture } from "./fixtures.ts";

export type Payload = {
  version: "4";
  groupKey: string;
  status: "firing" | "resolved";
  externalURL: string;
  alerts: {
    status: "firing" | "resolved";
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
  [k: string]: unknown;
};

export function fixture(name: string): Payload {
  return readFixture<Payload>(name);
}

/** A firing group of `n` alerts (Chinese labels and text with `zh`), a few resolved among them. */
export function bigGroup(n: number, opts: { zh?: boolean; resolvedEvery?: number } = {}): Payload {
  const base = fixture(opts.zh ? "alertmanager-zh.json" : "alertmanager-firing.json");
  const proto = base.alerts[0];
  const sev = ["critical", "warning", "info"];
  const alerts = Array.from({ length: n }, (_, i) => {
    const resolved = opts.resolvedEvery ? i % opts.resolvedEvery === opts.resolvedEvery - 1 : false;
    const instance = `node-${String(i).padStart(3, "0")}:9100`;
    return {
      ...proto,
      status: resolved ? ("resolved" as const) : ("firing" as const),
      labels: {
        ...proto.labels,
        instance,
        severity: sev[i % 3],
        ...(opts.zh ? { 机房: `华东-${i % 4}` } : { zone: `zone-${i % 4}` }),
      },
      annotations: {
        ...proto.annotations,
        description: opts.zh
          ? `${instance} 的 / 分区使用率为 9${i % 10}.4%，预计 6 小时内写满，请尽快清理日志或扩容磁盘。`
          : `CPU on ${instance} has been above 90% for 5 minutes (current 9${i % 10}.2%).`,
      },
      startsAt: `2026-11-28T0${i % 8}:${String(i % 60).padStart(2, "0")}:00Z`,
      endsAt: resolved ? "2026-11-28T09:00:00Z" : "0001-01-01T00:00:00Z",
      fingerprint: `fp${String(i).padStart(14, "0")}`,
    };
  });
  // As Alertmanager computes it: the labels every alert of the group has, with the same value.
  const commonLabels = Object.fromEntries(
    Object.entries(alerts[0]?.labels ?? {}).filter(([k, v]) =>
      alerts.every((a) => (a.labels as Record<string, string>)[k] === v),
    ),
  );
  return { ...base, groupKey: `${base.groupKey}-${n}`, status: "firing", commonLabels, alerts };
}

/** Label and annotation values that would break a message if not escaped. */
export const NASTY = {
  instance: "**bold** _it_ [click](http://evil.example) <font color=red>red</font> `tick` |a|b|",
  pod: "<@all> <!channel> <at id=all></at> <script>alert(1)</script> & ~strike~",
  description: "# heading\n> quote\n- item\n1. first\n<b>bold</b> &amp; done",
};

export function nastyAlert(): Record<string, unknown> {
  return {
    status: "firing",
    labels: { alertname: "Nasty_Alert*", severity: "critical", instance: NASTY.instance, pod: NASTY.pod },
    annotations: { summary: "summary with *stars* and <tags>", description: NASTY.description },
    startsAt: "2026-11-28T08:00:00Z",
    generatorURL: "http://prometheus.example:9090/graph?g0.expr=up%3D%3D0&x=(a)",
  };
}
