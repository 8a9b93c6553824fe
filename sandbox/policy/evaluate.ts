/**
 * Deciding a request against a compiled policy. Semantics, in order:
 *
 * 1. A malformed request (non-canonical path, non-ASCII host, bad port …)
 *    is denied with reason `"invalid"`; nothing is matched against it.
 * 2. A rule matches iff its `calls` match and *every* field the rule has
 *    matches the request (`rule.ts`; the caller must pass every field its
 *    call has).
 * 3. In every document of the policy: any matching `deny` wins (the first
 *    in document order names the decision); else a matching `ask` rule
 *    lets the document pass, asking; else the first matching `allow` names
 *    it; else `"default-deny"`. A document that allows nothing decides for
 *    all. When every document passes and one of them asked, the decision
 *    is `ask` (the first ask rule names it): the call waits for a person.
 * 4. Rate limits are constraints: every matching allow rule that has a
 *    `rate` must have a token, or the request is denied with reason
 *    `"rate"` (map it to `EAGAIN`). Tokens are taken only when the whole
 *    decision is an allow, all or none (`rate.ts`); an `ask` takes none.
 *
 * Cost: every evaluation runs within a {@linkcode StepBudget} of at most
 * `matchStepsMax` steps (or the caller's `meter.stepsMax`, if
 * lower); running out never allows and is never cached.
 *
 * @module
 */

import { type Decision, denyDefault, denyInvalid } from "./decision.ts";
import { CompiledPolicy } from "./policy.ts";
import { takeTokens } from "./rate.ts";
import { type NormalRequest, type PolicyRequest, readRequest } from "./request.ts";
import type { CompiledRule } from "./rule.ts";
import { StepBudget, type StepMeter } from "./steps.ts";

/**
 * Decides a request against a policy. Never throws for any request value;
 * takes rate tokens on an allow.
 *
 * Cost: at most `matchStepsMax` matcher steps (or
 * `meter.stepsMax`, if lower). A request whose budget runs out is denied
 * with reason `"invalid"` (not cacheable), unless a deny rule matched
 * before it ran out: running out never turns into an allow, nor into a
 * cached denial.
 *
 * @param policy a compiled policy
 * @param request the request; every field its call has must be present
 * @param meter optional step account: its budget, and the steps taken
 * @returns the decision (frozen, shared)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, decisionErrno, evaluate } from "./mod.ts";
 * const policy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["net.fetch"], hosts: ["*.example.com"], ports: [443] },
 * ] });
 * const meter = { stepsMax: 1000, steps: 0, exhausted: false };
 * const d = evaluate(policy, { call: "net.fetch", host: "api.example.com",
 *   addr: Uint8Array.of(93, 184, 216, 34), port: 443, method: "GET" }, meter);
 * assert.equal(decisionErrno(d), null);
 * assert.ok(meter.steps > 0, "what this decision cost");
 * ```
 */
export function evaluate(policy: CompiledPolicy, request: PolicyRequest, meter?: StepMeter): Decision {
  return run(policy, request, meter, true);
}

/**
 * What {@linkcode evaluate} would decide right now, without taking rate
 * tokens: for questions about a decision (may this call skip the policy
 * check? what would this request get?) that must not spend the rate of
 * the agent or tenant they are about. Same cost and step accounting as
 * `evaluate`.
 *
 * @param policy a compiled policy
 * @param request the request; every field its call has must be present
 * @param meter optional step account: its budget, and the steps taken
 * @returns the decision (frozen, shared)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, evaluate, probe } from "./mod.ts";
 * const policy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["time.now"], rate: { perSec: 1, burst: 1 } },
 * ] });
 * assert.equal(probe(policy, { call: "time.now" }).effect, "allow");
 * assert.equal(evaluate(policy, { call: "time.now" }).effect, "allow", "the probe took no token");
 * assert.equal(probe(policy, { call: "time.now" }).effect, "deny");
 * ```
 */
export function probe(policy: CompiledPolicy, request: PolicyRequest, meter?: StepMeter): Decision {
  return run(policy, request, meter, false);
}

function run(policy: CompiledPolicy, request: PolicyRequest, meter: StepMeter | undefined, take: boolean): Decision {
  const steps = StepBudget.of(meter);
  const decision = decide(policy, request, steps, take);
  steps.report(meter);
  // Out of budget: some rule may have been skipped as "no match"; only a
  // deny rule that did match still stands.
  if (steps.left < 0 && !(decision.effect === "deny" && decision.reason === "rule")) return denyInvalid;
  return decision;
}

/** {@linkcode evaluate} within `steps`, taking tokens if `take`. */
function decide(policy: CompiledPolicy, request: PolicyRequest, steps: StepBudget, take: boolean): Decision {
  let req: NormalRequest | null;
  try {
    req = readRequest(request, CompiledPolicy.addressesOf(policy));
  } catch {
    req = null; // a throwing getter on the request object
  }
  if (req === null) return denyInvalid;
  let first: CompiledRule | null = null;
  let asked: CompiledRule | null = null;
  let rated: CompiledRule[] | null = null;
  for (const part of CompiledPolicy.partsOf(policy)) {
    const c = part.candidates(req.call);
    for (const rule of c.denies) {
      if (rule.matches(req, steps)) return rule.decision;
    }
    const ask = c.asks.find((rule) => rule.matches(req, steps)) ?? null;
    asked ??= ask;
    if (ask !== null) continue;
    let allow: CompiledRule | null = null;
    for (const rule of c.allows) {
      if (!rule.matches(req, steps)) continue;
      allow ??= rule;
      if (rule.rate !== null) (rated ??= []).push(rule);
      if (!c.rated) break;
    }
    if (allow === null) return denyDefault;
    first ??= allow;
  }
  if (steps.left < 0) return denyInvalid;
  if (asked !== null) return asked.decision;
  if (first === null) return denyDefault;
  if (rated === null) return first.decision;
  return takeTokens(rated, req.rateKey, take)?.rateDecision ?? first.uncachedAllow;
}
