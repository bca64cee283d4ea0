/**
 * The shape of the built-in engine's catalogue: per alert family, what usually causes it, what
 * to check first and how to fix it, in English and Chinese. Text may name labels as
 * `{{label}}` (plus `{{host}}`, the instance without its port); the engine fills them in.
 */
export interface Text {
  en: string;
  zh: string;
}

export type Risk = "low" | "medium" | "high";

export interface CauseRule {
  text: Text;
  /** Prior confidence (0..1) before the alert's own text is considered. */
  confidence: number;
  /** The PromQL query or command that confirms or rules out this cause. */
  check: string;
  /** Words in the alert's labels or annotations that make this cause more likely. */
  hint?: RegExp;
}

export interface StepRule {
  text: Text;
  command: string;
  risk: Risk;
}

export type CatalogueFamily =
  | "node"
  | "kubernetes"
  | "blackbox"
  | "database"
  | "queue"
  | "certificate"
  | "prometheus"
  | "alertmanager";

export interface Entry {
  /** Alert names this entry explains (matched case-insensitively). */
  names: string[];
  family: CatalogueFamily;
  /** One sentence on what the alert means here. */
  summary: Text;
  causes: CauseRule[];
  /** Read-only checks first (risk low), then fixes. */
  steps: StepRule[];
  /** For alerts not named here: words in the name, annotations or expression that point to this entry. */
  keywords?: RegExp;
  /**
   * What an alert without `label` but with `having` gets instead (kube-prometheus's TargetDown
   * counts a service's targets in a namespace, with no `instance`): steps naming a label the alert
   * lacks help no one at 3 a.m.
   */
  lacking?: { label: string; having: string } & Pick<Entry, "summary" | "causes" | "steps">;
}

export const t = (en: string, zh: string): Text => ({ en, zh });
