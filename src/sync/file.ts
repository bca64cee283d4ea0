/**
 * The `file` delivery: write the rendering to a temp file next to the target and rename it
 * over (readers never see half a file), keep the previous version as `<path>.prev`, then POST
 * the reload URL and read the target back. A refused reload puts the previous version back (and
 * reloads again): the target keeps running what it had, and the sync fails — 489 config_refused
 * when the previous version reloads (the new one is what the peer refuses), 503 otherwise. A file the
 * peer accepted is never rolled back: when the read-back does not show it yet (vmalert applies
 * at a group's next evaluation), the sync answers 503 and its retry reads back again.
 */

import type { Config } from "../config/schema.ts";
import { ConfigError, JobError, permanent, transient } from "../errors.ts";
import type { FileAccess } from "../ports.ts";
import { baseOf, send, snippet } from "./net.ts";
import { aheadOfStore, type DeliveryInput, readBackFile } from "./read-back.ts";
import { managedBy } from "./render.ts";
import { until, type Verification } from "./verify.ts";

type FileDelivery = Extract<Config["config_sync"]["targets"][string]["delivery"], { type: "file" }>;

/** Errors no retry can fix: the path is not ours to write. */
const PERMANENT_CODES = new Set([
  "EACCES",
  "EPERM",
  "EROFS",
  "ENOTDIR",
  "EISDIR",
  "NotCapable",
  "PermissionDenied",
]);

/** `doing` what failed ("writing /etc/x.yml"), and the system's code for why. */
function fileError(doing: string, e: unknown): JobError {
  const code = (e as { code?: string }).code ?? (e as Error).name;
  const message = `${doing} failed: ${code && code !== "Error" ? code : (e as Error).message}`;
  return PERMANENT_CODES.has(code) ? permanent("file_error", message) : transient("file_error", message, 30);
}

/**
 * Writes `text` to `path` through a temp file in the same directory and a rename. The file keeps
 * the mode, owner and group it had (a peer may read it by its group); `mode` is a new file's.
 */
export async function writeAtomic(fs: FileAccess, path: string, text: string, mode?: number): Promise<void> {
  const slash = path.lastIndexOf("/");
  const [dir, base] = [slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".", path.slice(slash + 1)];
  // A sync killed between a write and its rename left its temp file, which a peer reading the
  // whole directory (rule_files: ["rules/*"]) loads as a second copy of every rule.
  const ours = (name: string) =>
    name.startsWith(`${base}.tmp-`) && /^[0-9a-f]{8}$/.test(name.slice(base.length + ".tmp-".length));
  for (const name of await fs.list(dir).catch(() => []))
    if (ours(name)) await fs.remove(`${dir}/${name}`).catch(() => {});
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await fs.write(tmp, text, { mode, like: path });
  } catch (e) {
    await fs.remove(tmp).catch(() => {});
    // The file itself may well be writable: what was refused is a new file beside it.
    throw fileError(
      `creating a new file in ${dir} (it is written there, then renamed over ${base}: the directory must be writable, not only the file)`,
      e,
    );
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.remove(tmp).catch(() => {});
    throw fileError(`writing ${path}`, e);
  }
}

/**
 * POSTs the reload URL; anything but 2xx means the target refused the new file. vmalert answers
 * 200 before it reads the file, so its own reload counters say whether it refused it.
 */
export async function reload(d: DeliveryInput, url: string): Promise<void> {
  const before = d.target.kind === "vmalert" ? await vmalertReloads(d, url) : undefined;
  const res = await send(d.deps.fetch, `reloading ${d.target.kind}`, url, { method: "POST" });
  // Prometheus started without --web.enable-lifecycle (its default) answers 403 with this text.
  if (res.status === 403 && /lifecycle api is not enabled/i.test(res.text))
    throw permanent(
      "reload_refused",
      `${d.target.kind} has its reload endpoint off (POST ${url} answered 403 "${snippet(res.shown)}"): start it with --web.enable-lifecycle`,
    );
  // Refused credentials stay refused: a 489 the operator must fix, not a retry.
  if (res.status === 401 || res.status === 403)
    throw permanent(
      "reload_refused",
      `${d.target.kind} refused the reload's credentials (POST ${url} answered ${res.status}): give reload_url credentials the target accepts`,
    );
  if (!res.ok)
    throw transient(
      "reload_refused",
      `${d.target.kind} refused the reload (POST ${url} answered ${res.status}: ${snippet(res.shown) || "no body"})`,
      30,
      // 500 is how Prometheus and Alertmanager refuse a config they cannot load; a proxy's 502
      // or 503 says nothing about the file.
      { refused_config: res.status === 500 },
    );
  if (before) await vmalertAccepted(d, url, before);
}

/** How long a started reload is watched for a parse error before the file counts as accepted. */
const RELOAD_SETTLE_MS = 2_000;

export interface ReloadCounts {
  total: number;
  errors: number;
  /** The flags it was started with (vmalert's `flag{…, is_set="true"}` series); undefined when it lists none. */
  flagsSet?: string[];
}

/** The names of the flags vmalert's /metrics says were set; undefined when it lists no flags. */
function flagsSetOf(metrics: string): string[] | undefined {
  const flags = [...metrics.matchAll(/^flag\{name="([\w.]+)", value="[^"]*", is_set="(true|false)"\}/gm)];
  return flags.length ? flags.filter((m) => m[2] === "true").map((m) => m[1]) : undefined;
}

/** vmalert's reload counters from its /metrics (undefined when it does not show them). */
export async function vmalertReloads(d: DeliveryInput, reloadUrl: string): Promise<ReloadCounts | undefined> {
  const url = `${baseOf(reloadUrl)}/metrics`;
  const res = await send(d.deps.fetch, "reading vmalert's reload counters", url).catch(() => undefined);
  if (!res?.ok) return undefined;
  const value = (name: string) =>
    Number(new RegExp(`^${name} (\\d+)`, "m").exec(res.text)?.[1] ?? Number.NaN);
  const counts = {
    total: value("vmalert_config_last_reload_total"),
    errors: value("vmalert_config_last_reload_errors_total"),
    flagsSet: flagsSetOf(res.text),
  };
  return Number.isFinite(counts.total) && Number.isFinite(counts.errors) ? counts : undefined;
}

/**
 * vmalert refuses every alerting rule when it has no notifier (-notifier.url, -notifier.config or
 * -notifier.blackhole), and every recording rule without -remoteWrite.url (its /metrics lists its
 * flags): said when that is the case. Rule keys are rendered sorted, so `record:` follows `expr:`.
 */
function vmalertFlagsMissing(flagsSet: readonly string[] | undefined, content: string): string {
  if (!flagsSet) return "";
  const unset = (...names: string[]) => names.every((n) => !flagsSet.includes(n));
  const missing = [
    /^\s*(- )?alert: /m.test(content) && unset("notifier.url", "notifier.config", "notifier.blackhole")
      ? "-notifier.url (alerting rules)"
      : "",
    /^\s*(- )?record: /m.test(content) && unset("remoteWrite.url")
      ? "-remoteWrite.url (recording rules)"
      : "",
  ].filter(Boolean);
  return missing.length ? `; vmalert runs without ${missing.join(" and ")}, and refuses such rules then` : "";
}

/**
 * Waits (up to verify.timeout) for vmalert to take the reload up: a rise in its reload errors
 * means it refused the file (and keeps the old rules) — rolled back like a refused reload.
 * Accepted, the update may still wait for a group's next evaluation; the read-back waits for that.
 */
export async function vmalertAccepted(d: DeliveryInput, url: string, before: ReloadCounts): Promise<void> {
  const now = () => d.deps.now();
  const deadline = now() + d.target.verify.timeout;
  let counts: ReloadCounts | undefined;
  // Polled as the read-backs are (verify.ts until, backing off): each read is a subrequest on Workers.
  const notStarted = await until(
    now,
    () => d.target.verify.timeout,
    async () => {
      counts = (await vmalertReloads(d, url)) ?? counts;
      return counts && counts.total > before.total ? undefined : "not reloaded yet";
    },
  );
  if (notStarted || !counts) return;
  // The counter goes up when the reload starts; a parse error follows once the file is read,
  // which takes longer for a large file: watch the errors for a while before calling it accepted.
  const settle = Math.min(RELOAD_SETTLE_MS, deadline - now());
  await until(
    now,
    () => settle,
    async () => {
      counts = (await vmalertReloads(d, url)) ?? counts;
      return counts && counts.errors > before.errors ? undefined : "no reload error yet";
    },
  );
  if (counts && counts.errors > before.errors)
    throw transient(
      "reload_refused",
      `vmalert refused the rule file (vmalert_config_last_reload_errors_total went from ${before.errors} to ${counts.errors}; see its log)${vmalertFlagsMissing(counts.flagsSet, d.rendered.content)}`,
      30,
      { refused_config: true },
    );
}

/**
 * An Alertmanager config carries the QStash token its webhooks publish with: a new one only its
 * owner may read (docs/config-sync.md). An existing one keeps its mode — Debian's Alertmanager
 * reads its 0644 file as "others": taking that away would lock it out. Rule files keep the
 * process's default mode.
 */
function modeOf(d: DeliveryInput): number | undefined {
  return d.target.kind === "alertmanager" ? 0o600 : undefined;
}

/**
 * A file holding a rendering of ours that the store did not record, under an operation on top of
 * the stored set: the store lost state (a Redis restarted without its data, or rolled back to a
 * snapshot) or another worker with another store syncs this file. Building on the stored set would
 * silently drop every rule it lacks, so the sync is refused (docs/config-sync.md, "Lost state").
 */
function refuseAheadOfStore(d: DeliveryInput, found: { target: string; hash: string } | undefined): void {
  if (!d.onTopOf || !found) return;
  const held = found.hash;
  if (held === d.rendered.hash || d.onTopOf.includes(held)) return;
  // Another target's file as the store recorded it (two targets' paths swapped in the config) is
  // not this one's lost state; anything else of ours the store does not know still is.
  if (found.target !== d.name && d.siblings?.[found.target]?.includes(held)) return;
  const known =
    d.onTopOf.length > 2
      ? `${d.onTopOf.slice(0, 2).join(", ")} and ${d.onTopOf.length - 2} earlier`
      : d.onTopOf.join(", ");
  // A file another name wrote: a target renamed (its old name's state stays behind), or a
  // configured target this job does not sync (paths swapped). One the job syncs is lost state too.
  const other = JSON.stringify(found.target);
  const named =
    found.target === d.name || Object.hasOwn(d.siblings ?? {}, found.target)
      ? ""
      : Object.hasOwn(d.deps.config.config_sync.targets, found.target)
        ? ` written as target ${other}, which this job does not sync: send it for both targets`
        : ` written as target ${other}: renamed?`;
  throw aheadOfStore(d.name, `a rendering (${held}${named}; the store knows ${known || "none"})`, {
    held,
    known: d.onTopOf,
  });
}

/**
 * Whether the file at `path` still holds exactly `content` (a full sync's check of a target whose
 * rendering did not change: docs/config-sync.md, "Scheduled full sync"). A file that cannot be
 * read counts as not holding it: the delivery that follows says why.
 */
export async function fileHolds(fs: FileAccess | undefined, path: string, content: string): Promise<boolean> {
  return (await fs?.read(path).catch(() => null)) === content;
}

export async function deliverFile(d: DeliveryInput, delivery: FileDelivery): Promise<Verification> {
  const fs = d.deps.fs;
  if (!fs)
    throw permanent(
      "delivery_unavailable",
      `target "${d.name}" uses a file delivery, but this runtime (${d.deps.runtime}) has no file system; use an http or mimir delivery`,
    );
  const { path, reload_url } = delivery;
  const mode = modeOf(d);
  let previous: string | null;
  try {
    previous = await fs.read(path);
  } catch (e) {
    throw fileError(`reading the current version of ${path}`, e);
  }
  refuseAheadOfStore(d, managedBy(previous));
  // The same file again (a retry after a read-back that did not show it yet): `.prev` keeps the
  // version before it, and the file is not rewritten.
  const unchanged = previous === d.rendered.content;
  if (!unchanged) {
    if (previous !== null) await writeAtomic(fs, `${path}.prev`, previous, mode);
    await writeAtomic(fs, path, d.rendered.content, mode);
  }
  if (reload_url) {
    try {
      await reload(d, reload_url);
    } catch (e) {
      // The same file again: what to put back is the version before it, kept in .prev.
      const before = unchanged ? await fs.read(`${path}.prev`).catch(() => null) : previous;
      throw await rollBack(d, fs, path, before, reload_url, e);
    }
  }
  // The peer accepted the file (or reads it on its own schedule): it stays even when the
  // read-back does not show it yet; the job's retry delivers and reads back again.
  return await readBackFile(d, delivery);
}

/** Puts the previous file back (or removes ours when there was none) and reloads once more. */
async function rollBack(
  d: DeliveryInput,
  fs: FileAccess,
  path: string,
  previous: string | null,
  reloadUrl: string | undefined,
  cause: unknown,
): Promise<JobError> {
  const err = cause instanceof JobError ? cause : transient("delivery_failed", String(cause), 30);
  const notes: string[] = [];
  let reloadedBack = false;
  try {
    if (previous === null) await fs.remove(path);
    else await writeAtomic(fs, path, previous, modeOf(d));
    notes.push(previous === null ? "the new file was removed" : "the previous file was put back");
    if (reloadUrl) {
      await reload(d, reloadUrl);
      reloadedBack = true;
      notes.push("and reloaded");
    }
  } catch (e) {
    notes.push(`${notes.length ? "but " : ""}rolling back did not finish: ${(e as Error).message}`);
  }
  d.deps.logger.warn("config sync rolled back", {
    target: d.name,
    path,
    error: err.message,
    rollback: notes.join(" "),
  });
  // The peer took its previous config back at once: it was the new rules it refused, and it
  // will refuse them on every retry (docs/config-sync.md, "file").
  const refusedConfig = (err.details as { refused_config?: boolean } | undefined)?.refused_config === true;
  if (err.code === "reload_refused" && refusedConfig && reloadedBack)
    return permanent(
      "config_refused",
      `${err.message}; ${notes.join(" ")}: the previous config reloads, so it is the new one ${d.target.kind} refuses (its log names the rule)`,
      err.details,
    );
  return new JobError({
    kind: err.kind,
    code: err.code,
    message: `${err.message}; ${notes.join(" ")}`,
    retryAfterS: err.retryAfterS,
    details: err.details,
  });
}

/**
 * On a runtime without files (Workers) a file delivery cannot work: the start-up refusal,
 * naming each such target, or undefined when there is none.
 */
export function fileDeliveryRefusal(config: Config, runtime: string): ConfigError | undefined {
  const names = Object.entries(config.config_sync.targets)
    .filter(([, t]) => t.delivery.type === "file")
    .map(([n]) => n);
  if (!names.length) return undefined;
  return new ConfigError(
    `config_sync target${names.length > 1 ? "s" : ""} ${names.join(", ")}: a file delivery needs a file system, which ${runtime} does not have; use delivery type http or mimir`,
    names.map((n) => ({
      path: `config_sync.targets.${n}.delivery.type`,
      message: `file is not available on ${runtime}`,
    })),
  );
}
