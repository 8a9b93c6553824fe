/**
 * Confinement layer 3 and 4: the policy engine and its decision cache,
 * plugged into the dispatcher's one check path.
 *
 * - **Narrowing only.** The effective policy of an agent is its own policy
 *   ∩ its parent's effective policy, which is the parent's own ∩ … ∩ the
 *   tenant's: a call is allowed only if every document on the way up
 *   allows it. A child's own policy (from `proc.spawn`) can therefore only
 *   narrow its parent's. A tenant with no policy document gets
 *   {@linkcode allowAllPolicy} (capabilities still gate every call); once
 *   a tenant sets a policy, whatever it does not allow is denied. One
 *   chain combines at most `intersectPartsMax` documents (the tenant's and
 *   up to seven own policies on the way up); a spawn or live update that
 *   would exceed it is refused.
 * - **Non-public addresses are the admin's.** Only CIDRs of the tenant's
 *   own (admin-set) policy open non-public address classes for egress
 *   ({@linkcode PolicyLayer.allowCidrs}); an agent's or a child's policy
 *   naming `127.0.0.0/8` opens nothing.
 * - **agentos's own endpoints** (its API's listen addresses, registered
 *   with {@linkcode PolicyLayer.reserveEndpoint}) are refused by
 *   `net.fetch` with `EPERM` whatever any policy says.
 * - **Rate rules count per tenant or per spawn, never per pid.** Buckets of
 *   the tenant's document are shared by all its agents (the document is
 *   compiled with the tenant as its `sharedRateKey`): spawning more agents
 *   does not multiply a tenant's rate. Buckets of an agent's own policy,
 *   and of its ancestors' own policies in its chain, are keyed by the
 *   agent's spawn id (`Process.uid`, never recycled), so a new agent on a
 *   recycled pid starts with fresh buckets; an exited agent's are dropped.
 *   Questions about decisions (`stableAllow`, `explain`) take no tokens.
 * - **Matcher steps are charged to the agent that causes them.** Every
 *   evaluation that misses the cache spends steps from the agent's bucket
 *   ({@linkcode policyStepsPerAgentPerSecMax}) and its tenant's
 *   ({@linkcode policyStepsPerTenantPerSecMax}); when either is empty the
 *   call is `EAGAIN` for that agent, so no policy can make evaluations
 *   expensive for other tenants. Cache hits cost nothing.
 * - Live updates (of the tenant's policy or of any ancestor's own) bump
 *   the epoch; cached decisions and effective policies of older epochs are
 *   never used, so a change takes effect on the next syscall, all the way
 *   down.
 * - A cached allow only skips the policy evaluation: the path layer runs on
 *   every call before this one, so swapping a directory for a symlink after
 *   a cached allow is still refused there.
 *
 * @module
 */

import type { Errno } from "../kernel/mod.ts";
import type { Process } from "../kernel/process/mod.ts";
import type { CheckedPath, PendingVerdict, PolicyVerdict } from "../kernel/syscall/mod.ts";
import type { Approvals } from "./approvals.ts";
import {
  CompiledPolicy,
  compilePolicy,
  decideImport,
  type Decision,
  DecisionCache,
  decisionErrno,
  denialMessage,
  evaluate,
  importDenialMessage,
  type ImportRequest,
  intersect,
  intersectPartsMax,
  matchStepsMax,
  type PolicyRequest,
  probe,
  resourceKey,
  type StepMeter,
} from "./policy/mod.ts";
import { type Cidr, type ListenAddress, ReservedEndpoints } from "./egress/mod.ts";
import type { EgressRequest, EgressVerdict } from "./net/mod.ts";
import { egressCidrs } from "./policy_egress.ts";
import { overBudget, StepAccounts } from "./policy_steps.ts";
import {
  decisionEntriesMax,
  decisionTtlMs,
  policyStepsPerAgentPerSecMax,
  policyStepsPerTenantPerSecMax,
} from "./limits.ts";

/** The policy of a tenant that has not set one. */
export const allowAllPolicy = { version: 1, rules: [{ id: "builtin-allow-all", effect: "allow", calls: ["*"] }] };

if (policyStepsPerAgentPerSecMax < matchStepsMax || policyStepsPerTenantPerSecMax < policyStepsPerAgentPerSecMax) {
  throw new Error("policy layer: a step budget must hold at least one evaluation at matchStepsMax");
}

/** Maps a call's validated args to the policy fields it carries (host, port, method). */
export type RequestFields = (args: unknown) => Pick<PolicyRequest, "host" | "port" | "method">;

/** Options of {@linkcode PolicyLayer}. */
export interface PolicyLayerOptions {
  /**
   * Monotonic clock for the step budgets, ms.
   * @default {() => performance.now()}
   */
  clock?: () => number;
}

/**
 * One agent's place in the policy tree. Children hold their parent's node,
 * so an ancestor's own policy keeps applying to a live descendant even
 * after the ancestor's pid is gone (or recycled).
 */
interface PolicyNode {
  readonly tenant: string;
  /** The agent's rate key (its spawn id), or null for a node made by `setAgent` alone. */
  readonly rateKey: string | null;
  readonly parent: PolicyNode | null;
  own: CompiledPolicy | null;
  readonly children: Set<PolicyNode>;
}

/** A step bucket. */
/** Why an import is refused: the message for the agent, and the deciding rule. */
type ImportVerdict = { message: string; ruleId: string };

/**
 * Tenant and agent policies, the epoch, the cache and the step accounts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { agentLimitsDefault } from "../kernel/limits.ts";
 * import { ProcessTable } from "../kernel/process/table.ts";
 * import { PolicyLayer } from "./policy_layer.ts";
 * const layer = new PolicyLayer(() => "/workspace");
 * layer.setTenant("acme", { version: 1, rules: [{ effect: "allow", calls: ["time.now"] }] });
 * const proc = new ProcessTable().create({ tenant: "acme", capabilities: [], limits: { ...agentLimitsDefault }, nowMs: 0 });
 * layer.attach(proc);
 * assert.equal(layer.check(proc, "time.now", {}, []), null);
 * assert.equal(layer.check(proc, "fs.stat", {}, [])?.errno, "EPERM");
 * ```
 */
export class PolicyLayer {
  readonly cache = new DecisionCache({ ttlMs: decisionTtlMs, entriesMax: decisionEntriesMax });
  readonly #reserved = new ReservedEndpoints();
  #epoch = 1;
  #allowAll = compilePolicy(allowAllPolicy);
  #denyAll = compilePolicy({ version: 1, rules: [] });
  #tenant = new Map<string, CompiledPolicy>();
  #tenantCidrs = new Map<string, Cidr[]>();
  #nodes = new Map<number, PolicyNode>();
  #effective = new Map<number, { epoch: number; policy: CompiledPolicy }>();
  #fields = new Map<string, RequestFields>();
  #agentSteps = new StepAccounts<number>(policyStepsPerAgentPerSecMax);
  #tenantSteps = new StepAccounts<string>(policyStepsPerTenantPerSecMax);
  #meter: StepMeter = { stepsMax: 0, steps: 0, exhausted: false };
  #clock: () => number;
  #approvals: Approvals | null = null;

  /**
   * @param _rootOf unused: checked paths carry their workspace-relative form (kept so callers need not change)
   * @param options the clock of the step budgets
   */
  constructor(_rootOf: (pid: number) => string, options: PolicyLayerOptions = {}) {
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** The current epoch; bumped by every policy change. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Where calls an `ask` rule matches wait for a person (without: they are refused). */
  useApprovals(approvals: Approvals): void {
    this.#approvals = approvals;
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
      this.#tenant.set(tenant, compilePolicy(doc, { sharedRateKey: tenant }));
      this.#tenantCidrs.set(tenant, egressCidrs(doc));
    }
    this.#epoch++;
  }

  /**
   * Register a new agent (at spawn, before its first syscall) under its
   * parent (`proc.parent`, 0 for none), with its own policy or none. A
   * child of a parent the layer does not know is refused: its chain could
   * not be built.
   *
   * @throws {ZodError} on an invalid document
   * @throws {RangeError} if the chain would combine more than `intersectPartsMax` documents, or the parent is gone
   */
  attach(proc: Process, doc: unknown | null = null): void {
    let parent: PolicyNode | null = null;
    if (proc.parent !== 0) {
      parent = this.#nodes.get(proc.parent) ?? null;
      if (parent === null || parent.tenant !== proc.tenant) {
        throw new RangeError(`parent ${proc.parent} has no policy chain (exiting?)`);
      }
    }
    const own = doc === null ? null : compilePolicy(doc);
    const node: PolicyNode = { tenant: proc.tenant, rateKey: rateKeyOf(proc), parent, own, children: new Set() };
    if (own !== null) checkChain(partsAbove(node));
    this.dropPid(proc.pid);
    parent?.children.add(node);
    this.#nodes.set(proc.pid, node);
  }

  /**
   * Set (or clear with null) one live agent's own policy. Its descendants'
   * effective policies follow at once (the epoch is bumped).
   *
   * @throws {ZodError} on an invalid document
   * @throws {RangeError} if a descendant's chain would combine more than `intersectPartsMax` documents
   */
  setAgent(pid: number, doc: unknown | null): void {
    let node = this.#nodes.get(pid);
    if (node === undefined) {
      // Not attached (an agent of a caller that never spawned through the runtime): a root.
      node = { tenant: "", rateKey: null, parent: null, own: null, children: new Set() };
      this.#nodes.set(pid, node);
    }
    const own = doc === null ? null : compilePolicy(doc);
    if (own !== null && node.own === null) checkChain(partsAbove(node) + 1 + ownsBelow(node));
    node.own = own;
    this.#effective.delete(pid);
    this.cache.invalidatePid(pid);
    this.#epoch++;
  }

  /**
   * Forget everything about an exited pid (its live descendants keep its
   * policy), and drop its rate buckets from every own policy of its chain.
   */
  dropPid(pid: number): void {
    const node = this.#nodes.get(pid);
    if (node !== undefined) {
      node.parent?.children.delete(node);
      if (node.rateKey !== null) {
        for (let n: PolicyNode | null = node; n !== null; n = n.parent) n.own?.forgetRateKey(node.rateKey);
      }
    }
    this.#nodes.delete(pid);
    this.#effective.delete(pid);
    this.#agentSteps.delete(pid);
    this.cache.invalidatePid(pid);
  }

  /**
   * Reserve an address agentos itself listens on: `net.fetch` refuses it
   * (and, for a wildcard host, every local address at that port) with
   * `EPERM` whatever any policy says. Call it as soon as the listener is bound.
   *
   * @param listen the bound address (`Deno.serve(...).addr`)
   * @param label what listens there, for the refusal message
   * @throws {RangeError} for a hostname that is not an IP literal
   */
  reserveEndpoint(listen: ListenAddress, label = "the agentos API"): void {
    this.#reserved.add(listen, label);
  }

  /** Which of agentos's own endpoints `addr:port` is, or `null` (webhook deliveries never reach them either). */
  reservedEndpoint(addr: Uint8Array, port: number): string | null {
    return this.#reserved.match(addr, port);
  }

  /** The endpoints reserved so far, as text. */
  reservedEndpoints(): string[] {
    return this.#reserved.list();
  }

  /** The effective policy of a process: own ∩ parent's effective ∩ … ∩ tenant's. */
  effective(proc: Process): CompiledPolicy {
    const cached = this.#effective.get(proc.pid);
    if (cached !== undefined && cached.epoch === this.#epoch) return cached.policy;
    const policy = this.#chain(proc);
    this.#effective.set(proc.pid, { epoch: this.#epoch, policy });
    return policy;
  }

  /** The dispatcher's policy hook: decide every path (or the bare call) through the cache. */
  check(
    proc: Process,
    call: string,
    args: unknown,
    paths: readonly CheckedPath[],
  ): PolicyVerdict | PendingVerdict | null {
    const fields = this.#fields.get(call)?.(args) ?? {};
    const base: PolicyRequest = { call, ...fields, rateKey: rateKeyOf(proc) };
    if (paths.length === 0) {
      const verdict = this.#decide(proc, base);
      return verdict === null || !("ask" in verdict) ? verdict : this.#ask(proc, call, [], fields, verdict.ask);
    }
    // Every path is decided first: a deny of any of them refuses the call before anyone is asked.
    let asked: string | null = null;
    const named: string[] = [];
    for (const c of paths) {
      const path = c.mount === undefined ? c.relative : c.relative === "." ? c.mount : `${c.mount}/${c.relative}`;
      named.push(path);
      const verdict = this.#decide(proc, { ...base, path });
      if (verdict === null) continue;
      if (!("ask" in verdict)) return verdict;
      asked ??= verdict.ask;
    }
    return asked === null ? null : this.#ask(proc, call, named, fields, asked);
  }

  /** A call an `ask` rule matched: it waits for a person (`sandbox/approvals.ts`), or is refused without approvals. */
  #ask(proc: Process, call: string, paths: string[], fields: Partial<PolicyRequest>, ruleId: string) {
    const refused = `${call} needs an approval (rule ${ruleId}); none can be given here`;
    if (this.#approvals === null) return { errno: "EPERM", layer: "policy", message: refused } as const;
    return { pending: this.#approvals.request(proc, { call, paths, ...fields, ruleId }) };
  }

  /**
   * Egress, per hop, for the address about to be connected to: agentos's
   * own endpoints first (always refused), then the full effective policy
   * with host, resolved address, port and method (steps charged).
   */
  decideEgress(proc: Process, req: EgressRequest): EgressVerdict {
    const endpoint = this.#reserved.match(req.addr, req.port);
    if (endpoint !== null) {
      return { errno: "EPERM", message: `${endpoint} is agentos's own endpoint; no policy opens it to agents` };
    }
    const decision = this.#evaluate(proc, {
      call: "net.fetch",
      host: req.host,
      addr: req.addr,
      port: req.port,
      method: req.method,
      rateKey: rateKeyOf(proc),
    });
    if (!("effect" in decision)) return decision;
    if (decision.effect === "allow") return null;
    const request = { call: "net.fetch", host: req.host, port: req.port, method: req.method };
    if (decision.effect === "ask") {
      // The call's own check asked for this host and port; any other hop (a redirect) was approved by nobody.
      if (this.#approvals?.granted(proc.pid, req.host, req.port)) return null;
      return {
        errno: "EPERM",
        message: `${req.method} ${req.host}:${req.port} needs an approval (rule ${decision.ruleId}), ` +
          "and a redirect is not approved: fetch that URL itself",
      };
    }
    return { errno: decisionErrno(decision) ?? "EPERM", message: denialMessage(decision, request) };
  }

  /**
   * CIDRs that the **tenant's** (admin-set) allow rules for `net.fetch`
   * name explicitly: only these open non-public address classes, and
   * `decideEgress` still applies the whole effective policy on top. An
   * agent's own policy (or a child's) never adds to them.
   */
  allowCidrs(proc: Process): readonly Cidr[] {
    return this.#tenantCidrs.get(proc.tenant) ?? [];
  }

  /**
   * The epoch for which a path-less `call` of `proc` is allowed whatever its
   * args, or null if that cannot be promised (a per-argument field, a deny,
   * or a rate rule that makes the decision uncacheable).
   */
  stableAllow(proc: Process, call: string): number | null {
    if (this.#fields.has(call)) return null;
    // A probe: asking never spends the agent's (or its tenant's) rate tokens.
    const decision = this.#evaluate(proc, { call, rateKey: rateKeyOf(proc) }, probe);
    return "effect" in decision && decision.effect === "allow" && decision.cacheable ? this.#epoch : null;
  }

  /** May `proc` import a package of the store? Every document of its chain decides (policy/imports.ts). */
  decideImport(proc: Process, req: ImportRequest): ImportVerdict | null {
    const policy = this.effective(proc);
    if (policy === this.#denyAll) {
      return { message: `import of ${req.name} denied: no known policy`, ruleId: "default-deny" };
    }
    return this.#importVerdict(policy, req, this.#tenant.get(proc.tenant));
  }

  /** What the tenant's policy (∩ `agentDoc`) answers an import, for `/v1/policy/explain`. */
  explainImport(tenant: string, req: ImportRequest, agentDoc?: unknown): ImportVerdict | null {
    const tenantPolicy = this.#tenant.get(tenant) ?? this.#allowAll;
    const policy = agentDoc === undefined ? tenantPolicy : intersect(compilePolicy(agentDoc), tenantPolicy);
    return this.#importVerdict(policy, req, this.#tenant.get(tenant));
  }

  /** A refusal names the rule and whose policy it is (the tenant's, an agent's, or the default). */
  #importVerdict(policy: CompiledPolicy, req: ImportRequest, tenant?: CompiledPolicy): ImportVerdict | null {
    const { decision, part } = decideImport(policy, req);
    if (decision.effect === "allow") return null;
    const set = CompiledPolicy.partsOf(policy)[part];
    const of = (p: CompiledPolicy | undefined) => p !== undefined && CompiledPolicy.partsOf(p).includes(set);
    const layer = of(tenant) ? "tenant" : of(this.#allowAll) ? "default" : "agent";
    return { message: importDenialMessage(req, decision, layer), ruleId: decision.ruleId };
  }

  /** Explain a decision: what the tenant's policy (∩ `agentDoc`) decides now, taking no rate tokens. */
  explain(tenant: string, request: PolicyRequest, agentDoc?: unknown): Decision {
    const tenantPolicy = this.#tenant.get(tenant) ?? this.#allowAll;
    const policy = agentDoc === undefined ? tenantPolicy : intersect(compilePolicy(agentDoc), tenantPolicy);
    return probe(policy, request);
  }

  /** Steps an agent may still spend right now (for tests and diagnostics). */
  stepsLeft(proc: Process): number {
    const now = this.#clock();
    const agent = this.#agentSteps.of(proc.pid, now);
    const tenant = this.#tenantSteps.of(proc.tenant, now);
    return Math.min(agent.steps, tenant.steps);
  }

  #chain(proc: Process): CompiledPolicy {
    const node = this.#nodes.get(proc.pid);
    const tenant = this.#tenant.get(proc.tenant) ?? this.#allowAll;
    // A child the layer was never told about has no known chain: fail closed.
    if (node === undefined) return proc.parent === 0 ? tenant : this.#denyAll;
    const owns: CompiledPolicy[] = [];
    for (let n: PolicyNode | null = node; n !== null; n = n.parent) if (n.own !== null) owns.push(n.own);
    let policy = tenant;
    for (let i = owns.length - 1; i >= 0; i--) policy = intersect(owns[i], policy);
    return policy;
  }

  #decide(proc: Process, request: PolicyRequest): PolicyVerdict | { ask: string } | null {
    const key = resourceKey(request);
    let decision = this.cache.get(proc.pid, request.call, key, this.#epoch);
    if (decision === undefined) {
      const fresh = this.#evaluate(proc, request);
      if (!("effect" in fresh)) return { ...fresh, layer: "policy" };
      decision = fresh;
      this.cache.set(proc.pid, request.call, key, this.#epoch, decision);
    }
    if (decision.effect === "allow") return null;
    if (decision.effect === "ask") return { ask: decision.ruleId };
    const errno: Errno = decisionErrno(decision) ?? "EPERM";
    return { errno, layer: "policy", message: denialMessage(decision, request) };
  }

  /**
   * One evaluation, charged to the agent and its tenant: `EAGAIN` (not a
   * decision, never cached) when their step budget cannot pay for it.
   */
  #evaluate(
    proc: Process,
    request: PolicyRequest,
    decide: typeof evaluate = evaluate,
  ): Decision | { errno: Errno; message: string } {
    const now = this.#clock();
    const agent = this.#agentSteps.of(proc.pid, now);
    const tenant = this.#tenantSteps.of(proc.tenant, now);
    const available = Math.min(agent.steps, tenant.steps);
    if (available < 1) return overBudget(agent.steps < 1);
    const meter = this.#meter;
    meter.stepsMax = available;
    const decision = decide(this.effective(proc), request, meter);
    agent.steps -= meter.steps;
    tenant.steps -= meter.steps;
    // Cut short by the agent's budget, not by the per-call ceiling.
    const ruled = decision.effect === "deny" && decision.reason === "rule";
    if (meter.exhausted && available < matchStepsMax && !ruled) return overBudget(agent.steps < 1);
    return decision;
  }
}

/** The rate key of an agent's own (and its ancestors' own) rate buckets: its spawn id, never its pid. */
function rateKeyOf(proc: Process): string {
  return String(proc.uid);
}

/** Documents a chain combines: the tenant's plus every own policy from `node` up. */
function partsAbove(node: PolicyNode): number {
  let parts = 1;
  for (let n: PolicyNode | null = node; n !== null; n = n.parent) if (n.own !== null) parts++;
  return parts;
}

/** Most own policies on one path below `node` (exclusive). */
function ownsBelow(node: PolicyNode): number {
  let most = 0;
  for (const child of node.children) most = Math.max(most, (child.own !== null ? 1 : 0) + ownsBelow(child));
  return most;
}

function checkChain(parts: number): void {
  if (parts > intersectPartsMax) {
    throw new RangeError(
      `policy chain too long: ${parts} documents (the tenant's and each ancestor's own) over intersectPartsMax (${intersectPartsMax})`,
    );
  }
}
