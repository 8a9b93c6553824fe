/**
 * Host matching of a rule's `hosts`: `*`, exact names, `*.suffix` names
 * and CIDRs. Names compare against the request's canonical host (ASCII,
 * lower-cased, one trailing dot dropped: see `request.ts`); CIDRs against
 * its resolved address, or the address of an IP-literal host when no
 * address is given. An IPv4-mapped IPv6 address is its IPv4 address
 * (`cidrContains`).
 *
 * @module
 */

import { type Cidr, cidrContains } from "../egress/mod.ts";
import { hostPattern } from "./schema.ts";
import type { StepBudget } from "./steps.ts";

/**
 * A rule's compiled `hosts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostMatcher } from "./host.ts";
 * import { StepBudget } from "./steps.ts";
 * const h = new HostMatcher(["api.example.com", "*.svc.example.com", "10.0.0.0/8"]);
 * const steps = new StepBudget(100);
 * assert.equal(h.matches("a.svc.example.com", null, steps), true);
 * assert.equal(h.matches("svc.example.com", null, steps), false);
 * assert.equal(h.matches(null, Uint8Array.of(10, 1, 2, 3), steps), true);
 * ```
 */
export class HostMatcher {
  readonly any: boolean;
  readonly names: ReadonlySet<string>;
  /** `*.example.com` as `.example.com`. */
  readonly suffixes: readonly string[];
  readonly cidrs: readonly Cidr[];

  /**
   * Compiles validated host patterns.
   *
   * @param patterns the rule's `hosts`, each valid for `hostPattern`
   * @throws {TypeError} if a pattern was not validated
   */
  constructor(patterns: readonly string[]) {
    let any = false;
    const names = new Set<string>();
    const suffixes: string[] = [];
    const cidrs: Cidr[] = [];
    for (const text of patterns) {
      const p = hostPattern(text);
      if (p === null) throw new TypeError("unvalidated host pattern");
      if (p.kind === "any") any = true;
      else if (p.kind === "cidr") cidrs.push(p.cidr);
      else if (p.kind === "name") names.add(p.name);
      else suffixes.push(p.suffix);
    }
    this.any = any;
    this.names = names;
    this.suffixes = suffixes;
    this.cidrs = cidrs;
  }

  /**
   * Does the matcher take this host or address? One step per suffix and
   * per CIDR compared.
   *
   * @param host the canonical host, or `null`
   * @param addr the address (4 or 16 bytes), or `null`
   * @param steps the evaluation's budget
   * @returns whether it matches; `false` without host and address, and once `steps` is spent
   */
  matches(host: string | null, addr: Uint8Array | null, steps: StepBudget): boolean {
    if (host === null && addr === null) return false;
    if (this.any) return true;
    if (host !== null) {
      if (this.names.has(host)) return true;
      for (const suffix of this.suffixes) {
        if (--steps.left < 0) return false;
        if (host.length > suffix.length && host.endsWith(suffix)) return true;
      }
    }
    if (addr !== null) {
      for (const cidr of this.cidrs) {
        if (--steps.left < 0) return false;
        if (cidrContains(cidr, addr)) return true;
      }
    }
    return false;
  }
}
