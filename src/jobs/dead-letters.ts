/**
 * What is kept of a message QStash gave up on: under `dead:<sourceMessageId>` and, newest
 * first, in the capped `dead-letters` list that /dashboard shows.
 */
import type { Family } from "../config/schema.ts";

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

/** The capped list of recent dead letters, newest first. */
export const DEAD_LETTERS_KEY = "dead-letters";
