/** Replaces the failure family's handler with a no-op (imported first by scripts/bench/noop.ts). */
import { HANDLERS } from "../../handlers/index.ts";

HANDLERS.failure = { family: "failure", handle: async () => ({ ok: true }) };
