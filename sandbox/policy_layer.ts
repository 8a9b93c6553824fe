/**
 * Confinement layer 3 and 4: the policy engine and its decision cache,
 * plugged into the dispatcher's one check path.
 *
 * - A tenant's policy and an agent's own policy (set at spawn) combine by
 *   intersection: a call is allowed only if both allow it. A tenant with no
 *   policy document gets {@linkcode allowAllPolicy} (capabilities still gate
 *   every call); once a tenant sets a policy, whatever it does not allow is
 *   denied.
 * - Live updates bump the epoch; cached decisions of older epochs are never
 *   used, so a change takes effect on the next syscall.
 * - A cached allow only skips the policy evaluation: the path layer runs on
 *   every call before this one, so swapping a directory for a symlink after
 *   a cached allow is still refused there.
 *
 * @module
 */

import type { Errno } from "../kernel/errno.ts";
import type { Process } from "../kernel/process/table.ts";
import type { PolicyVerdict } from "../kernel/syscall/dispatch.ts";
import type { CheckedPath } from "../kernel/syscall/table.ts";
import {
  type CompiledPolicy,
  compilePolicy,
  type Decision,
  DecisionCache,
  decisionErrno,
  evaluate,
  intersect,
  type PolicyRequest,
  resourceKey,
} from "./policy/mod.ts";
import { type Cidr, parseCidr } from "./egress/mod.ts";
import type { EgressRequest } from "./net/mod.ts";

/** The policy of a tenant that has not set one. */
export const allowAllPolicy = { version: 1, rules: [{ id: "builtin-allow-all", effect: "allow", calls: ["*"] }] };
/** Decision cache lifetime, ms. */
export const decisionTtlMs = 10_000;
/** Decision cache size, entries. */
export const decisionEntriesMax = 65_536;

/** Maps a call's validated args to the policy fields it carries (host, port, method). */
export type RequestFields = (args: unknown) => Pick<PolicyRequest, "host" | "port" | "method">;

/** Tenant and agent policies, the epoch, and the cache. */
export class PolicyLayer {
  readonly cache = new DecisionCache({ ttlMs: decisionTtlMs, entriesMax: decisionEntriesMax });
  #epoch = 1;
  #allowAll = compilePolicy(allowAllPolicy);
  #tenant = new Map<string, CompiledPolicy>();
  #agent = new Map<number, CompiledPolicy>();
  #tenantCidrs = new Map<string, Cidr[]>();
  #agentCidrs = new Map<number, Cidr[]>();
  #effective = new Map<number, { epoch: number; policy: CompiledPolicy }>();
  #fields = new Map<string, RequestFields>();
  #rootOf: (pid: number) => string;

  /** @param rootOf the real workspace root of a pid (to make checked paths relative) */
  constructor(rootOf: (pid: number) => string) {
    this.#rootOf = rootOf;
  }

  /** The current epoch; bumped by every policy change. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Teach the layer which policy fields a call's args carry. */
  fieldsFor(call: string, fields: RequestFields): void {
    this.#fields.set(call, fields);
  }

  /**
   * Set (or clear with null) a tenant's policy.
   *
   * @throws {ZodError} on an invalid document
   */
  setTenant(tenant: string, doc: unknown | null): void {
    if (doc === null) {
      this.#tenant.delete(tenant);
      this.#tenantCidrs.delete(tenant);
    } else {
      this.#tenant.set(tenant, compilePolicy(doc));
      this.#tenantCidrs.set(tenant, egressCidrs(doc));
    }
    this.#epoch++;
  }

  /**
   * Set (or clear with null) one agent's own policy.
   *
   * @throws {ZodError} on an invalid document
   */
  setAgent(pid: number, doc: unknown | null): void {
    if (doc === null) {
      this.#agent.delete(pid);
      this.#agentCidrs.delete(pid);
    } else {
      this.#agent.set(pid, compilePolicy(doc));
      this.#agentCidrs.set(pid, egressCidrs(doc));
    }
    this.#effective.delete(pid);
    this.cache.invalidatePid(pid);
    this.#epoch++;
  }

  /** Forget everything about an exited pid. */
  dropPid(pid: number): void {
    this.#agent.delete(pid);
    this.#agentCidrs.delete(pid);
    this.#effective.delete(pid);
    this.cache.invalidatePid(pid);
  }

  /** The effective policy of a process. */
  effective(proc: Process): CompiledPolicy {
    const cached = this.#effective.get(proc.pid);
    if (cached !== undefined && cached.epoch === this.#epoch) return cached.policy;
    const tenant = this.#tenant.get(proc.tenant) ?? this.#allowAll;
    const own = this.#agent.get(proc.pid);
    const policy = own === undefined ? tenant : intersect(own, tenant);
    this.#effective.set(proc.pid, { epoch: this.#epoch, policy });
    return policy;
  }

  /** The dispatcher's policy hook: decide every path (or the bare call) through the cache. */
  check(proc: Process, call: string, args: unknown, paths: readonly CheckedPath[]): PolicyVerdict | null {
    const fields = this.#fields.get(call)?.(args) ?? {};
    const base: PolicyRequest = { call, ...fields, rateKey: String(proc.pid) };
    if (paths.length === 0) return this.#decide(proc, base);
    const root = this.#rootOf(proc.pid);
    for (const checked of paths) {
      const path = checked === root ? "." : checked.slice(root.length + 1);
      const verdict = this.#decide(proc, { ...base, path });
      if (verdict !== null) return verdict;
    }
    return null;
  }

  /**
   * Egress, per hop, for the address about to be connected to: the full
   * effective policy with host, resolved address, port and method.
   */
  decideEgress(proc: Process, req: EgressRequest): Errno | null {
    const decision = evaluate(this.effective(proc), {
      call: "net.fetch",
      host: req.host,
      addr: req.addr,
      port: req.port,
      method: req.method,
      rateKey: String(proc.pid),
    });
    return decision.effect === "allow" ? null : decisionErrno(decision) ?? "EPERM";
  }

  /**
   * CIDRs that allow rules for `net.fetch` name explicitly (tenant's and the
   * agent's own): only these open non-public address classes, and
   * `decideEgress` still applies the intersection on top.
   */
  allowCidrs(proc: Process): readonly Cidr[] {
    const tenant = this.#tenantCidrs.get(proc.tenant) ?? [];
    const own = this.#agentCidrs.get(proc.pid);
    return own === undefined ? tenant : [...tenant, ...own];
  }

  /**
   * The epoch for which a path-less `call` of `proc` is allowed whatever its
   * args, or null if that cannot be promised (a per-argument field, a deny,
   * or a rate rule that makes the decision uncacheable).
   */
  stableAllow(proc: Process, call: string): number | null {
    if (this.#fields.has(call)) return null;
    // A probe key of its own, so that asking never spends the agent's rate tokens.
    const decision = evaluate(this.effective(proc), { call, rateKey: "\u0001fast-path-probe" });
    return decision.effect === "allow" && decision.cacheable ? this.#epoch : null;
  }

  /** Explain a decision without taking rate tokens' effect into account for caching. */
  explain(tenant: string, request: PolicyRequest, agentDoc?: unknown): Decision {
    const tenantPolicy = this.#tenant.get(tenant) ?? this.#allowAll;
    const policy = agentDoc === undefined ? tenantPolicy : intersect(compilePolicy(agentDoc), tenantPolicy);
    return evaluate(policy, request);
  }

  #decide(proc: Process, request: PolicyRequest): PolicyVerdict | null {
    const key = resourceKey(request);
    let decision = this.cache.get(proc.pid, request.call, key, this.#epoch);
    if (decision === undefined) {
      decision = evaluate(this.effective(proc), request);
      this.cache.set(proc.pid, request.call, key, this.#epoch, decision);
    }
    if (decision.effect === "allow") return null;
    const errno: Errno = decisionErrno(decision) ?? "EPERM";
    return { errno, layer: "policy", message: `denied by policy rule ${decision.ruleId} (${decision.reason})` };
  }
}

/** CIDR host entries of allow rules that cover `net.fetch`. */
function egressCidrs(doc: unknown): Cidr[] {
  const rules = (doc as { rules?: { effect?: string; calls?: string[]; hosts?: string[] }[] }).rules ?? [];
  const out: Cidr[] = [];
  for (const rule of rules) {
    if (rule.effect !== "allow") continue;
    if (!rule.calls?.some((c) => c === "*" || c === "net.*" || c === "net.fetch")) continue;
    for (const host of rule.hosts ?? []) {
      const cidr = host.includes("/") ? parseCidr(host) : null;
      if (cidr !== null) out.push(cidr);
    }
  }
  return out;
}

/** The policy fields of a `net.fetch` call before resolution: host, port, method from its URL. */
export function egressFields(args: unknown): Pick<PolicyRequest, "host" | "port" | "method"> {
  const { url, method } = args as { url: string; method?: string };
  try {
    const parsed = new URL(url);
    const port = parsed.port === "" ? (parsed.protocol === "https:" ? 443 : 80) : Number(parsed.port);
    // The engine takes the hostname exactly as `new URL()` gives it (IPv6 in brackets).
    return { host: parsed.hostname, port, method: method ?? "GET" };
  } catch {
    return { method: method ?? "GET" };
  }
}
