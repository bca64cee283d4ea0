/**
 * What the CLI needs from a runtime. Each entry (src/entry/bun.ts, deno.ts) implements this
 * in a few lines; everything else in the CLI is runtime-free.
 */
import type { Dial, Fetch, FileAccess, RuntimeName, TcpConnect } from "../ports.ts";
import type { SignatureDigests } from "../qstash/verify.ts";
import type { OpenSqlite } from "../store/sqlite.ts";
import type { Store } from "../store/store.ts";
import type { MemoryProbe } from "../telemetry/memory-limit.ts";
import type { Metrics } from "../telemetry/metrics.ts";

export interface ServerHandle {
  /** The port actually bound (useful with --port 0). */
  port: number;
  /** Stop accepting connections; in-flight requests go on. */
  stop(): Promise<void>;
}

export interface Platform {
  runtime: RuntimeName;
  env: Record<string, string | undefined>;
  /**
   * A file's text. `strict`: refused when it is not UTF-8 (a job file: a GBK export would become a
   * page of "�"); else bad bytes read as "�" (a config whose comment was saved in Latin-1 kept
   * loading before files were read strictly, and still does).
   */
  readFile(path: string, strict?: boolean): Promise<string>;
  serve(fetch: (req: Request) => Response | Promise<Response>, host: string, port: number): ServerHandle;
  onSignal(signal: "SIGTERM" | "SIGINT" | "SIGHUP", fn: () => void): void;
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): never;
  newMetrics(store: Store): Metrics;
  /** Files for config-sync file deliveries; absent where the runtime has none. */
  fs?: FileAccess;
  /**
   * Whether the runtime's permissions let the worker create and replace files beside `file`
   * (Deno's --allow-write); absent where nothing restricts it.
   */
  mayWrite?: (file: string) => boolean;
  /** The signature check's digests, where the runtime has faster ones than node:crypto. */
  digests?: SignatureDigests;
  /** The outbound fetch, where the runtime wants its own (the global fetch otherwise). */
  fetch?: Fetch;
  /** Opens the SQLite file of store.kind: sqlite (the default where present); without it, memory. */
  openSqlite?: OpenSqlite;
  /** Outbound TCP for Redis (store.kind: redis); without it that store is refused. */
  dial?: Dial;
  /** Outbound TCP for SMTP; without it email channels are refused. */
  tcp?: TcpConnect;
  /** RSS and a full collection, where the runtime lets the worker collect (worker.memory_limit). */
  memory?: MemoryProbe;
}
