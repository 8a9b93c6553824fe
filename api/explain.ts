/**
 * `POST /v1/policy/explain`: would this syscall (or this package import) be
 * allowed for a tenant, and why. A call the runtime's syscall table does
 * not have is a 400 `unknown_call` (a typo would otherwise be "denied by no
 * rule" and look like a policy answer).
 *
 * @module
 */

import type { Runtime } from "../sandbox/mod.ts";
import { importTarget } from "../sandbox/modules/mod.ts";
import type { Decision, PolicyRequest } from "../sandbox/policy/mod.ts";
import { ApiError, policyOr400 } from "./api_error.ts";
import type { Principal } from "./tenant_keys.ts";

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

/**
 * Explain a call or an import for the caller's tenant (an admin may name another).
 *
 * @param runtime whose policy and syscall table answer
 * @param p the caller
 * @param body the question, and an agent policy document to add to the chain
 * @returns the decision
 * @throws {ApiError} 400 `unknown_call`, `invalid_import`, `invalid_policy`
 * @example
 * ```ts
 * await explainRequest(runtime, p, { request: { call: "fs.readText", path: "a.txt" } });
 * ```
 */
export async function explainRequest(
  runtime: Runtime,
  p: Principal,
  body: { tenantId?: string; policy?: unknown; request: PolicyRequest | ImportQuestion },
): Promise<Decision | ImportAnswer> {
  const tenantId = p.tenant.admin && body.tenantId ? body.tenantId : p.tenant.id;
  const request = body.request;
  if ("import" in request) return await explainImport(runtime, tenantId, request, body.policy);
  const calls = runtime.dispatcher.calls();
  if (!calls.includes(request.call)) {
    const namespace = request.call.split(".")[0];
    const near = calls.filter((c) => c.split(".")[0] === namespace).slice(0, 12);
    const hint = near.length > 0 ? `; calls of ${namespace}: ${near.join(", ")}` : "";
    throw new ApiError(400, "unknown_call", `${request.call} is not a syscall of this server${hint}`);
  }
  return policyOr400(() => runtime.policy.explain(tenantId, request, body.policy));
}

async function explainImport(
  runtime: Runtime,
  tenantId: string,
  q: ImportQuestion,
  agentDoc: unknown,
): Promise<ImportAnswer> {
  let target;
  try {
    target = importTarget(q.import);
  } catch (err) {
    throw new ApiError(400, "invalid_import", err instanceof Error ? err.message : String(err));
  }
  if (target.kind !== "package") {
    throw new ApiError(
      400,
      "invalid_import",
      `${JSON.stringify(q.import)} is not a package specifier ("lodash", "npm:zod@^3")`,
    );
  }
  const pkg = await runtime.packages.find(target.name, target.range);
  if (!pkg.ok) return { effect: "deny", layer: "store", reason: "not_in_store", ruleId: null, message: pkg.message };
  const req = { name: pkg.found.name, version: pkg.found.version, dynamic: q.dynamic === true };
  const refused = policyOr400(() => runtime.policy.explainImport(tenantId, req, agentDoc));
  const name = `${req.name}@${req.version}`;
  return refused === null ? { effect: "allow", layer: "imports", ruleId: null, package: name } : {
    effect: "deny",
    layer: "imports",
    reason: "rule",
    ruleId: refused.ruleId,
    message: refused.message,
    package: name,
  };
}
