/**
 * Decisions of the policy engine and the errno each maps to.
 *
 * Shape: `{effect:"allow", ruleId, layer:"policy", cacheable}` or
 * `{effect:"deny", ruleId, layer:"policy", reason, cacheable}` with
 * `reason` one of `"rule"` (a deny rule matched → `EPERM`), `"default"`
 * (nothing allowed it; `ruleId` is `"default-deny"` → `EPERM`), `"rate"`
 * (`ruleId` names the exhausted rule → `EAGAIN`) or `"invalid"` (→
 * `EINVAL`), or `{effect:"ask", ruleId, layer:"policy", cacheable}`: an
 * `ask` rule matched and nothing denied, so the call waits for a person's
 * approval (`sandbox/approvals.ts`). Decisions are frozen and shared. `cacheable` is false whenever
 * a rate rule was involved: caching such a decision would bypass the rate
 * limit.
 *
 * @module
 */

import type { Errno } from "../../kernel/mod.ts";
import { defaultDenyRuleId } from "./schema.ts";

/** Why a request was denied. */
export type DenyReason = "rule" | "default" | "rate" | "invalid";

/** The verdict of the policy layer. */
export type Decision =
  | {
    readonly effect: "allow";
    /** The first matching allow rule's id, or its index as a string. */
    readonly ruleId: string;
    readonly layer: "policy";
    /** May this decision go into a `DecisionCache`? */
    readonly cacheable: boolean;
  }
  | {
    /** Allowed only once a person approves this call. */
    readonly effect: "ask";
    /** The matching ask rule's id or index. */
    readonly ruleId: string;
    readonly layer: "policy";
    readonly cacheable: boolean;
  }
  | {
    readonly effect: "deny";
    /** The deciding rule's id or index, or `"default-deny"`. */
    readonly ruleId: string;
    readonly layer: "policy";
    readonly reason: DenyReason;
    /** May this decision go into a `DecisionCache`? */
    readonly cacheable: boolean;
  };

/**
 * A frozen allow decision.
 *
 * @param ruleId the allowing rule's id
 * @param cacheable whether it may be cached (false when a rate rule took part)
 * @returns the decision
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allowDecision } from "./decision.ts";
 * assert.deepEqual(allowDecision("src", true), { effect: "allow", ruleId: "src", layer: "policy", cacheable: true });
 * ```
 */
export function allowDecision(ruleId: string, cacheable: boolean): Decision {
  return Object.freeze({ effect: "allow", ruleId, layer: "policy", cacheable });
}

/**
 * A frozen deny decision.
 *
 * @param ruleId the deciding rule's id, or `"default-deny"`
 * @param reason why
 * @param cacheable whether it may be cached
 * @returns the decision
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denyDecision } from "./decision.ts";
 * assert.deepEqual(denyDecision("fetch", "rate", false), {
 *   effect: "deny",
 *   ruleId: "fetch",
 *   layer: "policy",
 *   reason: "rate",
 *   cacheable: false,
 * });
 * ```
 */
/**
 * A frozen ask decision: the call waits for an approval. Cacheable: the
 * same request under the same epoch asks again, each call on its own.
 *
 * @param ruleId the ask rule's id
 * @returns the decision
 */
export function askDecision(ruleId: string): Decision {
  return Object.freeze({ effect: "ask", ruleId, layer: "policy", cacheable: true });
}

export function denyDecision(ruleId: string, reason: DenyReason, cacheable: boolean): Decision {
  return Object.freeze({ effect: "deny", ruleId, layer: "policy", reason, cacheable });
}

/** Nothing allowed the request (cacheable). */
export const denyDefault: Decision = denyDecision(defaultDenyRuleId, "default", true);
/** A malformed request, or one whose step budget ran out (never cacheable). */
export const denyInvalid: Decision = denyDecision(defaultDenyRuleId, "invalid", false);

/**
 * The errno a decision maps to at the syscall boundary.
 *
 * @param decision a decision from `evaluate`
 * @returns `null` for an allow; `EAGAIN` for a rate denial, `EINVAL` for an
 * invalid request, `EPERM` for any other denial
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, decisionErrno, evaluate } from "./mod.ts";
 * const policy = compilePolicy({ version: 1, rules: [] });
 * assert.equal(decisionErrno(evaluate(policy, { call: "fs.read", path: "x" })), "EPERM");
 * ```
 */
export function decisionErrno(decision: Decision): Errno | null {
  if (decision.effect !== "deny") return null;
  switch (decision.reason) {
    case "rate":
      return "EAGAIN";
    case "invalid":
      return "EINVAL";
    case "rule":
    case "default":
      return "EPERM";
    default: {
      const never: never = decision.reason;
      return never;
    }
  }
}

/**
 * What a denied caller is told: which rule decided, and for a default deny
 * what rule would allow the request (every document of the agent's chain
 * — tenant's, ancestors', own — must allow it). The request's host comes
 * from the agent's own URL; a resolved address is never named.
 *
 * @param decision a deny decision
 * @param request the request it answered
 * @returns the message, without the call's name in front (the dispatcher adds it)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denialMessage, denyDefault } from "./decision.ts";
 * assert.match(denialMessage(denyDefault, { call: "fs.read", path: "x" }), /no allow rule/);
 * ```
 */
export function denialMessage(
  decision: Decision & { effect: "deny" },
  request: { call: string; path?: string; host?: string; port?: number; method?: string },
): string {
  const host = request.host?.includes(":") ? `[${request.host}]` : request.host;
  const what = host !== undefined
    ? `${request.method ?? "GET"} ${host}${request.port === undefined ? "" : `:${request.port}`}`
    : request.path !== undefined
    ? `path ${request.path}`
    : request.call;
  switch (decision.reason) {
    case "rule":
      return `${what} denied by policy rule ${decision.ruleId} (a deny rule; deny overrides allow)`;
    case "rate":
      return `${what} rate limited by policy rule ${decision.ruleId}; retry later`;
    case "invalid":
      return `${what} denied by policy (${decision.ruleId}: the request could not be evaluated)`;
    case "default":
      return `${what} denied by policy rule ${decision.ruleId}: no allow rule matches; ` +
        `the tenant's policy (and any own policy of the agent or its ancestors) needs a rule like ` +
        allowHint(request, host);
    default: {
      const never: never = decision.reason;
      return never;
    }
  }
}

/** A rule that would allow `request`; for an IP literal its CIDR, which alone opens a non-public address. */
function allowHint(request: { call: string; path?: string; host?: string; port?: number }, shown?: string): string {
  if (request.host === undefined) {
    const paths = request.path === undefined ? "" : `,"paths":["${request.path}"]`;
    return `{"effect":"allow","calls":["${request.call}"]${paths}}`;
  }
  const v6 = request.host.includes(":");
  const literal = v6 || /^[\d.]+$/.test(request.host);
  const pattern = literal ? `${request.host}/${v6 ? 128 : 32}` : request.host;
  const ports = request.port === undefined ? "" : `,"ports":[${request.port}]`;
  const rule = `{"effect":"allow","calls":["${request.call}"],"hosts":["${pattern}"]${ports}}`;
  // Only a CIDR in the tenant's own rules opens a loopback or private address (policy_egress.ts, egressCidrs).
  return !literal ? rule : `${rule}; a loopback or private address also needs that rule in the tenant's policy ` +
    `(set by an admin) and the server started with AGENTOS_EGRESS_HOSTS including ${shown}`;
}
