/** One readiness check as /health reports it; a leaf so engines and the health read model share it. */
export interface Check {
  ok: boolean;
  detail?: string;
  ms?: number;
}
