/** One readiness check as /health reports it; a leaf so engines and the health read model share it. */
export interface Check {
  ok: boolean;
  detail?: string;
  ms?: number;
  /** Set up to break a promise while it works (a store that may evict keys): degraded, still ready. */
  warnings?: string[];
}
