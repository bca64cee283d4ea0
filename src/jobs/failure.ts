/**
 * What is kept of a message QStash gave up on: under `dead:<sourceMessageId>`, and its id,
 * newest first, in the capped `dead-letters` list that /dashboard shows.
 */
import type { Family } from "../config/schema.ts";
import type { Store } from "../store/store.ts";

export interface DeadLetter {
  source_message_id: string;
  family: Family | "unknown";
  url?: string;
  status: number;
  retried?: number;
  max_retries?: number;
  dlq_id?: string;
  /** What the worker last answered (decoded, at most 2 KB). */
  response?: string;
  error: { code: string; message: string };
  recorded_at: string;
}

/** The capped list of the source message ids of recent dead letters, newest first. */
export const DEAD_LETTERS_KEY = "dead-letters";

/** The key of one dead letter. */
export const deadLetterKey = (sourceMessageId: string) => `dead:${sourceMessageId}`;

/** The newest `limit` dead letters still kept, newest first. */
export async function recentDeadLetters(store: Store, limit: number): Promise<DeadLetter[]> {
  const ids = await store.list<string>(DEAD_LETTERS_KEY, limit);
  const dead = await store.mget<DeadLetter>(ids.map(deadLetterKey));
  return dead.filter((d): d is DeadLetter => d !== null);
}
