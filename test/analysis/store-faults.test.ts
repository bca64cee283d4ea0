/**
 * An analysis when the store fails part-way (docs/analysis.md): a result that was recorded is
 * recorded with its step, so a retry neither asks the engine again nor lists the alert twice
 * among the recent analyses. The store refuses one chosen call; the job is delivered again until
 * it answers 200 (after the 1 s lease a refused finish could not let go).
 */
import { describe, expect, test } from "bun:test";
import type { Store, Write } from "../../src/store/store.ts";
import { aiYaml, fixture } from "../support/analysis.ts";
import { workflowDifyPerFile } from "../support/fake-dify.ts";
import { makeHarness } from "../support/harness.ts";
import { failingOnce } from "../support/store-spy.ts";

const dify = workflowDifyPerFile();

async function untilDone(store: Store, body: unknown, id: string) {
  const h = makeHarness(
    `worker: { lease: 1s }\n${aiYaml({ order: ["dify", "builtin"], dify: { url: dify.url, workflowKey: "app-wf" } })}`,
    { store },
  );
  const statuses: number[] = [];
  for (let retried = 0; retried < 4; retried++) {
    const res = await h.job("/jobs/analysis", body, { messageId: id, retried });
    statuses.push(res.status);
    if (res.status === 200) break;
    await Bun.sleep(1100);
  }
  return statuses;
}

describe("the store failing during an analysis", () => {
  test("the similar-alert index's upkeep failing does not fail the analysis", async () => {
    const store = failingOnce("refused", (method) => method === "zcard");
    const statuses = await untilDone(
      store,
      { type: "comprehensive", alert: fixture("alertmanager-firing").alerts[0] },
      "an_prune",
    );
    expect(statuses).toEqual([200]);
    expect(dify.calls).toHaveLength(1);
    expect(await store.list("analyses:recent", 20)).toHaveLength(1);
  });

  test("a payload whose answer cannot be recorded: the retry does not analyse again the alert whose result was stored", async () => {
    const store = failingOnce(
      "refused",
      (method, args) =>
        method === "writeMany" && (args[0] as Write[]).some((w) => w.key === "job:an_payload"),
    );
    const statuses = await untilDone(
      store,
      { type: "comprehensive", payload: fixture("alertmanager-firing") },
      "an_payload",
    );
    expect(statuses.at(-1)).toBe(200);
    // Two alerts: the first's result was stored at once (with its step), the second's went with the refused answer.
    expect(dify.calls).toHaveLength(3);
    expect(await store.list("analyses:recent", 20)).toHaveLength(2);
  });
});
