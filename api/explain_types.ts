/**
 * The shapes of an import question to `POST /v1/policy/explain` and its
 * answer (the service answers them; `api/service.ts` re-exports both).
 *
 * @module
 */

/** An import question for `POST /v1/policy/explain`. */
export interface ImportQuestion {
  import: string;
  dynamic?: boolean;
}

/** Its answer: allowed, or refused by the store (not there) or by an imports rule. */
export interface ImportAnswer {
  effect: "allow" | "deny";
  layer: "imports" | "store";
  ruleId: string | null;
  reason?: "rule" | "not_in_store";
  message?: string;
  /** The package it was decided for, `name@version`. */
  package?: string;
}
