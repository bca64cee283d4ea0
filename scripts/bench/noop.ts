/**
 * The worker with a no-op job (scripts/bench/binary.ts, issue 7's "signed no-op job"): the real binary's
 * entry with the failure family's handler replaced by one that does nothing, so the same signed
 * requests go through the whole pipeline — body limit, signature, gate, ledger claim and record,
 * metrics, the answer's log line — and only the handler's own work is left out.
 * `scripts/build --bench` compiles it to dist/bench-noop. Usage: bench-noop serve --port N.
 */
import "./noop-handler.ts";
import "../../src/entry/bun.ts";
