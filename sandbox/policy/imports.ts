/**
 * Imports rules: which packages of the store an agent may import.
 *
 * A rule `{"effect": "allow"|"deny", "imports": ["lodash", "@scope/*"],
 * "versions"?: "^4"}` matches a package whose name matches one of its
 * patterns and whose pinned version satisfies its range. Per document:
 * a matching deny refuses; otherwise, if the document has any allow
 * imports rule, one must match (the document then allows only what it
 * names); a document with no allow imports rule allows the whole store.
 * So `[]` (or only call rules) = every stored package, `[{allow,
 * imports: ["lodash"]}]` = only lodash, `[{deny, imports: ["*"]}]` = none.
 * A package named at run time (`import(name)`) also needs the document's
 * `dynamicImports: true`. Every document of an agent's chain (its own, its
 * parents', its tenant's) must allow the import.
 *
 * @module
 */

import { satisfies } from "../../lib/mod.ts";
import type { PolicyDocument, PolicyRule } from "./schema.ts";

/** What is asked: a package of the store, at its pinned version. */
export interface ImportRequest {
  name: string;
  version: string;
  /** Named at run time (`import(expr)`), not by a literal in the source. */
  dynamic: boolean;
}

/** How one document answers: allowed, or refused by a rule (its id or index) or by default. */
export type ImportDecision =
  | { readonly effect: "allow"; readonly ruleId: string | null }
  | { readonly effect: "deny"; readonly ruleId: string; readonly reason: "rule" | "default" | "dynamic" };

/** One compiled imports rule. */
class ImportRule {
  readonly effect: "allow" | "deny";
  readonly ruleId: string;
  readonly #names: readonly RegExp[];
  readonly #versions: string | undefined;

  constructor(rule: PolicyRule, index: number) {
    this.effect = rule.effect === "deny" ? "deny" : "allow"; // the schema refuses "ask" on imports rules
    this.ruleId = rule.id ?? String(index);
    this.#names = (rule.imports ?? []).map(namePattern);
    this.#versions = rule.versions;
  }

  matches(req: ImportRequest): boolean {
    if (!this.#names.some((re) => re.test(req.name))) return false;
    return this.#versions === undefined || satisfies(req.version, this.#versions);
  }
}

/** `*` is any run of characters within a scope or a name; a bare `*` is every package. */
function namePattern(pattern: string): RegExp {
  if (pattern === "*") return /^.*$/s;
  const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join("[^/]*");
  return new RegExp(`^${body}$`);
}

/**
 * The imports rules of one document, compiled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImportRules } from "./imports.ts";
 * const rules = ImportRules.of({ version: 1, rules: [{ id: "no-lodash", effect: "deny", imports: ["lodash"] }] });
 * assert.equal(rules.decide({ name: "lodash", version: "4.17.21", dynamic: false }).effect, "deny");
 * assert.equal(rules.decide({ name: "zod", version: "3.23.8", dynamic: false }).effect, "allow");
 * ```
 */
export class ImportRules {
  readonly #denies: readonly ImportRule[];
  readonly #allows: readonly ImportRule[];
  readonly #dynamic: boolean;

  private constructor(rules: readonly ImportRule[], dynamic: boolean) {
    this.#denies = rules.filter((r) => r.effect === "deny");
    this.#allows = rules.filter((r) => r.effect === "allow");
    this.#dynamic = dynamic;
  }

  /** The imports rules of a validated document (rule ids default to their index, as for call rules). */
  static of(doc: PolicyDocument): ImportRules {
    const rules: ImportRule[] = [];
    doc.rules.forEach((rule, i) => {
      if (rule.imports !== undefined) rules.push(new ImportRule(rule, i));
    });
    return new ImportRules(rules, doc.dynamicImports === true);
  }

  /** How this document answers `req`. */
  decide(req: ImportRequest): ImportDecision {
    const denied = this.#denies.find((r) => r.matches(req));
    if (denied !== undefined) return { effect: "deny", ruleId: denied.ruleId, reason: "rule" };
    let ruleId: string | null = null;
    if (this.#allows.length > 0) {
      const allowed = this.#allows.find((r) => r.matches(req));
      if (allowed === undefined) return { effect: "deny", ruleId: "default-deny", reason: "default" };
      ruleId = allowed.ruleId;
    }
    if (req.dynamic && !this.#dynamic) return { effect: "deny", ruleId: "dynamicImports", reason: "dynamic" };
    return { effect: "allow", ruleId };
  }
}

/**
 * Why an import was refused, for the agent (and the audit log).
 *
 * @example
 * ```ts
 * importDenialMessage({ name: "lodash", version: "4.17.21", dynamic: false }, { effect: "deny", ruleId: "no-lodash", reason: "rule" }, "tenant");
 * // 'import of lodash@4.17.21 denied by rule "no-lodash" of the tenant policy'
 * ```
 */
export function importDenialMessage(
  req: ImportRequest,
  d: Extract<ImportDecision, { effect: "deny" }>,
  layer: string,
): string {
  const what = `import of ${req.name}@${req.version}`;
  if (d.reason === "dynamic") {
    const who = layer === "default" ? "no policy sets" : `the ${layer} policy does not set`;
    return `${what} by a name computed at run time denied: ${who} "dynamicImports": true ` +
      "(import it with a literal specifier, or have the tenant's or the agent's policy set it)";
  }
  if (d.reason === "default") {
    return `${what} denied by the ${layer} policy: its imports rules allow only the packages they name`;
  }
  return `${what} denied by rule ${JSON.stringify(d.ruleId)} of the ${layer} policy`;
}
