/**
 * Approvals: a person in the loop for the calls a policy `ask` rule
 * matches. The policy layer hands such a call here; the call waits (the
 * agent's `await` does not return) until someone allows or denies it over
 * the API, it expires, or its agent ends. Allowed, the call goes on
 * through the rest of the syscall path (the handler, accounting, events);
 * denied or expired, it fails with `EPERM` naming the rule and who decided.
 *
 * Every approval is one call: the next call the rule matches asks again.
 * A `net.fetch` that was allowed may connect to the host and port that were
 * approved (a short grant the egress check reads); a redirect to another
 * host an ask rule covers is refused, since nobody approved it.
 *
 * Bounded: `approvalsPerAgentMax` pending per agent, `approvalsPerTenantMax`
 * per tenant and `approvalsServerMax` per server (past any the call is
 * `EAGAIN` at once; a waiting call holds a syscall slot of the scheduler), `approvalsRecentMax` decided ones remembered (so a second decision
 * answers "already decided"), grants `approvalGrantMs` long. State is in
 * memory: a waiting agent does not outlive its server either.
 *
 * @module
 */

import type { Process } from "../kernel/process/mod.ts";
import type { PolicyVerdict } from "../kernel/syscall/mod.ts";
import {
  approvalGrantMs,
  approvalsPerAgentMax,
  approvalsPerTenantMax,
  approvalsRecentMax,
  approvalsServerMax,
  approvalWaitMsDefault,
} from "./limits.ts";

/** What is asked: the call and the resource the ask rule matched. */
export interface ApprovalQuestion {
  call: string;
  /** Workspace-relative paths of the call (empty for path-less calls). */
  paths: string[];
  host?: string;
  port?: number;
  method?: string;
  /** The ask rule's id (or index). */
  ruleId: string;
}

/** The states of an approval; every one but `pending` is final. */
export type ApprovalState = "pending" | "allowed" | "denied" | "expired" | "cancelled";

/** One approval, as the API shows it. */
export interface Approval extends ApprovalQuestion {
  id: string;
  tenant: string;
  pid: number;
  state: ApprovalState;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  /** Who decided (the deciding key's tenant id, `system` for an expiry or an end). */
  decidedBy: string | null;
  /** The decider's note (at most 500 characters). */
  note: string | null;
}

/** What {@linkcode Approvals} tells its listener: an approval was opened, or reached a final state. */
export type ApprovalListener = (approval: Readonly<Approval>) => void;

interface Pending {
  approval: Approval;
  settle: (verdict: PolicyVerdict | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Options: how long a call waits, and who hears of approvals. */
export interface ApprovalsOptions {
  /** How long an approval stays open before it expires (the call then fails), ms. */
  waitMs?: number;
  /** Called for every opened approval and every final state. Must not throw. */
  listener?: ApprovalListener;
  /** Wall clock, ms (tests). */
  now?: () => number;
}

/**
 * The open approvals of a runtime.
 *
 * @example
 * ```ts
 * const approvals = new Approvals({ waitMs: 60_000 });
 * const waiting = approvals.request(proc, { call: "fs.writeText", paths: ["out/a"], ruleId: "review" });
 * const [open] = approvals.list(proc.tenant);
 * approvals.decide(proc.tenant, open.id, true, "tn_admin");
 * await waiting; // null: allowed, the call goes on
 * ```
 */
export class Approvals {
  #pending = new Map<string, Pending>();
  #recent = new Map<string, Approval>();
  #perPid = new Map<number, number>();
  #perTenant = new Map<string, number>();
  #grants = new Map<number, Map<string, number>>();
  #waitMs: number;
  #listener: ApprovalListener;
  #now: () => number;

  constructor(options: ApprovalsOptions = {}) {
    this.#waitMs = options.waitMs ?? approvalWaitMsDefault;
    this.#listener = options.listener ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  /**
   * Open an approval for a call of `proc`, and wait for its outcome.
   *
   * @returns null once allowed; the refusal otherwise (`EPERM` denied or
   *   expired, `ECANCELED` when the agent ended, `EAGAIN` over a cap)
   */
  request(proc: Process, question: ApprovalQuestion): Promise<PolicyVerdict | null> {
    const byPid = this.#perPid.get(proc.pid) ?? 0;
    const byTenant = this.#perTenant.get(proc.tenant) ?? 0;
    const full = this.#pending.size >= approvalsServerMax;
    if (byPid >= approvalsPerAgentMax || byTenant >= approvalsPerTenantMax || full) {
      const which = byPid >= approvalsPerAgentMax
        ? `this agent (approvalsPerAgentMax = ${approvalsPerAgentMax})`
        : byTenant >= approvalsPerTenantMax
        ? `its tenant (approvalsPerTenantMax = ${approvalsPerTenantMax})`
        : `the server (approvalsServerMax = ${approvalsServerMax})`;
      return Promise.resolve({
        errno: "EAGAIN",
        layer: "policy",
        message: `${describe(question)} needs an approval (rule ${question.ruleId}), and ${which} has as many ` +
          "pending as it may; retry once one is decided",
      });
    }
    const now = this.#now();
    const approval: Approval = {
      id: `ap_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
      tenant: proc.tenant,
      pid: proc.pid,
      state: "pending",
      ...question,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.#waitMs).toISOString(),
      decidedAt: null,
      decidedBy: null,
      note: null,
    };
    this.#perPid.set(proc.pid, byPid + 1);
    this.#perTenant.set(proc.tenant, byTenant + 1);
    return new Promise((settle) => {
      const timer = setTimeout(() => this.#close(approval.id, "expired", "system", null), this.#waitMs);
      this.#pending.set(approval.id, { approval, settle, timer });
      this.#listener(approval);
    });
  }

  /**
   * Allow or deny an open approval of `tenant` (null: any tenant, for an admin).
   *
   * @returns the approval in its final state, `already` when it was decided
   *   before (or expired, or its agent ended); undefined when `tenant` has no such approval
   */
  decide(
    tenant: string | null,
    id: string,
    allow: boolean,
    by: string,
    note: string | null = null,
  ): { approval: Approval; already: boolean } | undefined {
    const found = this.get(tenant, id);
    if (found === undefined) return undefined;
    if (found.state !== "pending") return { approval: found, already: true };
    return { approval: this.#close(id, allow ? "allowed" : "denied", by, note)!, already: false };
  }

  /** An approval `tenant` may see (null: any), open or recently decided. */
  get(tenant: string | null, id: string): Approval | undefined {
    const approval = this.#pending.get(id)?.approval ?? this.#recent.get(id);
    return approval !== undefined && (tenant === null || approval.tenant === tenant) ? { ...approval } : undefined;
  }

  /** The open approvals of `tenant` (null: all), oldest first. */
  list(tenant: string | null): Approval[] {
    const open: Approval[] = [];
    for (const { approval } of this.#pending.values()) {
      if (tenant === null || approval.tenant === tenant) open.push({ ...approval });
    }
    return open;
  }

  /** An ended agent's open approvals are cancelled (its calls answered `ECANCELED`), its grants dropped. */
  dropPid(pid: number): void {
    for (const [id, p] of this.#pending) if (p.approval.pid === pid) this.#close(id, "cancelled", "system", null);
    this.#grants.delete(pid);
  }

  /** Was a `net.fetch` of `pid` to `host:port` approved within the last `approvalGrantMs`? */
  granted(pid: number, host: string, port: number): boolean {
    const grants = this.#grants.get(pid);
    const until = grants?.get(grantKey(host, port));
    if (until === undefined) return false;
    if (until >= this.#now()) return true;
    grants!.delete(grantKey(host, port));
    return false;
  }

  #close(id: string, state: Exclude<ApprovalState, "pending">, by: string, note: string | null): Approval | undefined {
    const p = this.#pending.get(id);
    if (p === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    const a = p.approval;
    Object.assign(a, { state, decidedAt: new Date(this.#now()).toISOString(), decidedBy: by, note });
    this.#count(this.#perPid, a.pid);
    this.#count(this.#perTenant, a.tenant);
    this.#remember(a);
    if (state === "allowed" && a.host !== undefined && a.port !== undefined) this.#grant(a.pid, a.host, a.port);
    p.settle(state === "allowed" ? null : refusal(a));
    this.#listener(a);
    return { ...a };
  }

  #count<K>(counts: Map<K, number>, key: K): void {
    const n = (counts.get(key) ?? 1) - 1;
    if (n <= 0) counts.delete(key);
    else counts.set(key, n);
  }

  #remember(a: Approval): void {
    this.#recent.set(a.id, a);
    if (this.#recent.size > approvalsRecentMax) this.#recent.delete(this.#recent.keys().next().value!);
  }

  #grant(pid: number, host: string, port: number): void {
    let grants = this.#grants.get(pid);
    if (grants === undefined) this.#grants.set(pid, grants = new Map());
    grants.set(grantKey(host, port), this.#now() + approvalGrantMs);
  }
}

/** Hosts compare without IPv6 brackets and case: `[::1]` from a URL is `::1` at the connection. */
function grantKey(host: string, port: number): string {
  return `${host.replace(/^\[(.*)\]$/, "$1").toLowerCase()}:${port}`;
}

function describe(q: ApprovalQuestion): string {
  if (q.host !== undefined) {
    return `${q.call} ${q.method ?? "GET"} ${q.host}${q.port === undefined ? "" : `:${q.port}`}`;
  }
  return q.paths.length > 0 ? `${q.call} ${q.paths.join(", ")}` : q.call;
}

function refusal(a: Approval): PolicyVerdict {
  const what = `${describe(a)} needs an approval (rule ${a.ruleId})`;
  switch (a.state) {
    case "denied":
      return {
        errno: "EPERM",
        layer: "policy",
        message: `${what}: denied by ${a.decidedBy}${a.note === null ? "" : ` (${a.note})`}`,
      };
    case "expired":
      return {
        errno: "EPERM",
        layer: "policy",
        message: `${what}: nobody decided before it expired at ${a.expiresAt}`,
      };
    default:
      return { errno: "ECANCELED", layer: "policy", message: `${what}: the agent is ending` };
  }
}
