/**
 * Sessions: stateful code contexts for the code-interpreter workflow. A
 * session is an agent spawned as a REPL host (`runtime.spawn({session})`)
 * plus what the API keeps about it: labels, its clocks (idle, TTL), how
 * many cells ran, its durable record (`api/session_rows.ts`). Each `exec`
 * is one cell: the REPL transform (sandbox/code/) turns it into a script,
 * the kernel runs it in the agent's Worker (sandbox/session/), and the
 * answer carries its value, output and error.
 *
 * When a cell's context cannot survive (a busy cell over its time, an
 * interrupt it cannot see, the agent ending on a limit), the session gets a
 * fresh agent at once and the answer says `stateLost: true`; the session
 * keeps its id, labels and clocks. An idle session is closed with reason
 * `idle`, one past its TTL with `ttl`; either answers 404 to `exec` from
 * then on, with the reason in the message.
 *
 * @module
 */

import type { CellOutcome } from "../sandbox/mod.ts";
import type { Runtime } from "../sandbox/mod.ts";
import type { LiveAgent } from "./agent_table.ts";
import { ApiError } from "./api_error.ts";
import type { AuditAction } from "./audit_actions.ts";
import type { LabelFilter } from "./labels.ts";
import { agentFileScope, type FileScope } from "./files.ts";
import { newId } from "./ids.ts";
import {
  cellTimeoutMsDefault,
  sessionCpuMsDefault,
  sessionIdleMsDefault,
  sessionRecordsPerTenantMax,
  sessionsPerTenantMax,
  sessionTtlMsDefault,
  sessionTtlMsMax,
} from "./limits.ts";
import type { SessionCreate, SessionExec, SessionPatch } from "./session_schemas.ts";
import type { Principal, Service } from "./service.ts";
import { type SessionRow, SessionRows } from "./session_rows.ts";
import type { Store } from "./store.ts";

/** A cell's answer: the contract's fields first. */
export interface ExecAnswer extends Omit<CellOutcome, "text"> {
  executionCount: number;
  /** The value as the REPL shows it (`Deno.inspect`). */
  resultText: string;
  durationMs: number;
}

interface Open {
  row: SessionRow;
  body: SessionCreate;
  principal: Principal;
  live: LiveAgent;
  idleMs: number;
  idleTimer?: ReturnType<typeof setTimeout>;
  ttlTimer?: ReturnType<typeof setTimeout>;
  /** The cell running now (an interrupt waits for its answer). */
  running?: Promise<ExecAnswer>;
  /** A restart in progress (a lost context is replaced before the answer is sent). */
  restarting?: Promise<void>;
  /** The workspace every context of the session shares (kept past each agent; deleted when the session ends). */
  workspace: string;
}

/** The sessions of every tenant on this server. */
export class Sessions {
  #service: Service;
  #runtime: Runtime;
  #rows: SessionRows;
  #open = new Map<string, Open>();
  /** Sessions being opened, per tenant (they count against `sessionsPerTenantMax` already). */
  #creating = new Map<string, number>();

  /** @param service agents, audit, store errors @param runtime the kernel @param store durable state */
  constructor(service: Service, runtime: Runtime, store: Store) {
    this.#service = service;
    this.#runtime = runtime;
    this.#rows = new SessionRows(store.db);
  }

  /** At start: sessions the last server left open are ended (their contexts died with it). */
  recover(): number {
    return this.#rows.endOpen(new Date().toISOString());
  }

  /** Open a session for the caller's tenant: its agent is running when this resolves. */
  async create(p: Principal, body: SessionCreate): Promise<SessionRow> {
    const creating = this.#creating.get(p.tenant.id) ?? 0;
    if (this.#openCount(p.tenant.id) + creating >= sessionsPerTenantMax) {
      throw new ApiError(
        429,
        "quota_sessions",
        `the tenant has ${sessionsPerTenantMax} sessions open (sessionsPerTenantMax): close one first`,
        { retryAfterSec: 1 },
      );
    }
    // Counted before the first await, so concurrent creates cannot pass the cap together.
    this.#creating.set(p.tenant.id, creating + 1);
    try {
      return await this.#open1(p, body);
    } finally {
      const left = (this.#creating.get(p.tenant.id) ?? 1) - 1;
      if (left > 0) this.#creating.set(p.tenant.id, left);
      else this.#creating.delete(p.tenant.id);
    }
  }

  async #open1(p: Principal, body: SessionCreate): Promise<SessionRow> {
    const ttlMs = body.ttlMs ?? sessionTtlMsDefault;
    const now = new Date();
    const live = await this.#spawn(p, body, { keep: true });
    const workspace = this.#runtime.workspaces.root(live.agent.pid);
    const row: SessionRow = {
      id: newId("se"),
      tenantId: p.tenant.id,
      state: "open",
      reason: null,
      labels: body.labels ?? {},
      agentId: live.id,
      executionCount: 0,
      restarts: 0,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
      endedAt: null,
    };
    const s: Open = { row, body, principal: p, live, idleMs: body.idleTimeoutMs ?? sessionIdleMsDefault, workspace };
    try {
      this.#service.commit(() => this.#rows.put(row), this.#auditOf(p, row, "session.created", { agentId: live.id }));
    } catch (err) {
      this.#runtime.kill(live.agent.pid, "killed", "session record refused by the store");
      void live.agent.done.then(() => this.#runtime.workspaces.drop(workspace));
      throw err;
    }
    this.#open.set(row.id, s);
    this.#arm(s);
    return row;
  }

  /** A session the caller may see, open or ended (404 otherwise). */
  get(p: Principal, id: string): SessionRow {
    const open = this.#open.get(id);
    if (open !== undefined && open.row.tenantId === p.tenant.id) return open.row;
    const row = this.#rows.get(id, p.tenant.id);
    if (row === undefined) throw notFound(id);
    return row;
  }

  /** The caller's sessions, newest first, filtered by labels (`key=value` or `key`) and state. */
  list(p: Principal, q: { label: LabelFilter[]; state?: "open" | "ended"; limit?: number }): SessionRow[] {
    const labels = q.label;
    const rows = this.#rows.list(p.tenant.id, { labels, state: q.state, limit: q.limit ?? 100 });
    return rows.map((r) => this.#open.get(r.id)?.row ?? r);
  }

  /** Close a session (reason `closed`); closing an ended one answers its record. */
  close(p: Principal, id: string): SessionRow {
    const s = this.#open.get(id);
    if (s === undefined || s.row.tenantId !== p.tenant.id) return this.get(p, id);
    this.#end(s, "closed");
    return s.row;
  }

  /** Extend (or shorten) a session's TTL and idle timeout, or replace its labels. */
  patch(p: Principal, id: string, body: SessionPatch): SessionRow {
    const s = this.#session(p, id);
    const next = { ...s.row };
    if (body.ttlMs !== undefined) {
      const expires = Date.parse(s.row.createdAt) + body.ttlMs;
      if (body.ttlMs > sessionTtlMsMax) {
        throw new ApiError(400, "validation_failed", `ttlMs over sessionTtlMsMax (${sessionTtlMsMax} ms)`);
      }
      next.expiresAt = new Date(expires).toISOString();
    }
    if (body.labels !== undefined) next.labels = body.labels;
    this.#service.commit(() => this.#rows.put(next), this.#auditOf(p, next, "session.updated", body));
    s.row = next;
    if (body.idleTimeoutMs !== undefined) s.idleMs = body.idleTimeoutMs;
    this.#arm(s);
    return s.row;
  }

  /**
   * Run one cell. A syntax error is the cell's answer (200, `error`), not a
   * bad request; a session with a cell running answers 409 `session_busy`.
   */
  async exec(p: Principal, id: string, body: SessionExec, onOutput?: (fd: 1 | 2, data: string) => void) {
    const s = this.#session(p, id);
    if (s.running !== undefined) {
      throw new ApiError(409, "session_busy", "a cell is running in this session: wait for it, or interrupt it");
    }
    await s.restarting;
    // Ended while its context restarted: the 404 `session_ended` of a closed session.
    if (!this.#open.has(s.row.id)) this.#session(p, id);
    const started = performance.now();
    const n = s.row.executionCount + 1;
    const lang = body.lang ?? s.body.lang ?? "js";
    clearTimeout(s.idleTimer);
    const run = this.#runCell(s, n, lang, body, onOutput).then((outcome) => this.#answered(s, n, outcome, started));
    s.running = run;
    try {
      return await run;
    } finally {
      s.running = undefined;
      if (this.#open.has(s.row.id)) this.#arm(s);
    }
  }

  /** Interrupt the running cell; answers once its outcome is known (`stateLost` says whether the context died). */
  async interrupt(p: Principal, id: string): Promise<{ interrupted: boolean; stateLost: boolean }> {
    const s = this.#session(p, id);
    const running = s.running;
    if (running === undefined || !this.#runtime.sessions.interrupt(s.live.agent.pid)) {
      return { interrupted: false, stateLost: false };
    }
    const answer = await running;
    return { interrupted: true, stateLost: answer.stateLost };
  }

  /** Replace the session's context with a fresh one: its variables are gone, its files and clocks stay. */
  async restart(p: Principal, id: string): Promise<SessionRow> {
    const s = this.#session(p, id);
    if (s.running !== undefined) {
      throw new ApiError(409, "session_busy", "a cell is running in this session: interrupt it first");
    }
    await this.#replace(s, "restart");
    return s.row;
  }

  /** The session's workspace and volumes, for the files API (through its current context's confinement). */
  async files(p: Principal, id: string): Promise<FileScope> {
    const s = this.#session(p, id);
    await s.restarting;
    const agent = s.live.agent;
    return agentFileScope(this.#runtime, agent.pid, agent.subject, `session ${id}`);
  }

  /** End every open session (shutdown). */
  closeAll(reason = "server_stopped"): void {
    for (const s of [...this.#open.values()]) this.#end(s, reason);
  }

  async #runCell(
    s: Open,
    n: number,
    lang: "js" | "ts",
    body: SessionExec,
    onOutput?: (fd: 1 | 2, data: string) => void,
  ): Promise<CellOutcome> {
    const timeoutMs = body.timeoutMs ?? cellTimeoutMsDefault;
    const name = `cell${n}.${lang}`;
    return await this.#runtime.sessions.run(s.live.agent.pid, { code: body.code, lang, name, timeoutMs, onOutput });
  }

  async #answered(s: Open, n: number, outcome: CellOutcome, started: number): Promise<ExecAnswer> {
    s.row = { ...s.row, executionCount: n };
    if (outcome.stateLost && this.#open.has(s.row.id)) await this.#replace(s, "lost");
    const { result, stdout, stderr, error, text, ...rest } = outcome;
    const durationMs = Math.round(performance.now() - started);
    return { executionCount: n, result, stdout, stderr, error, resultText: text, ...rest, durationMs };
  }

  /** A fresh agent for the session (the old one is killed if it still runs); its record is updated. */
  async #replace(s: Open, why: "restart" | "lost"): Promise<void> {
    const old = s.live;
    const done = (async () => {
      this.#runtime.kill(old.agent.pid, "killed", `session ${why === "restart" ? "restarted" : "lost its context"}`);
      await old.agent.done;
      s.live = await this.#spawn(s.principal, s.body, { reuse: s.workspace });
      // Closed while the fresh context started: it must not outlive the session.
      if (!this.#open.has(s.row.id)) return void this.#runtime.kill(s.live.agent.pid, "killed", "session ended");
      const next = { ...s.row, agentId: s.live.id, restarts: s.row.restarts + 1 };
      if (why === "restart") next.executionCount = 0;
      this.#service.commit(
        () => this.#rows.put(next),
        this.#auditOf(s.principal, next, "session.restarted", { why, agentId: s.live.id }),
      );
      s.row = next;
    })();
    s.restarting = done;
    try {
      await done;
    } catch (err) {
      // No fresh context could start (quota, cells busy, store): the session ends with the reason.
      this.#end(s, "start_failed");
      throw err;
    } finally {
      s.restarting = undefined;
    }
  }

  async #spawn(p: Principal, body: SessionCreate, workspace: { reuse?: string; keep?: boolean }): Promise<LiveAgent> {
    const ceiling = p.tenant.quotas;
    const limits = {
      ...body.limits,
      wallMs: Math.min(sessionTtlMsMax, ceiling.wallMs ?? sessionTtlMsMax),
      cpuMs: body.limits?.cpuMs ?? Math.min(sessionCpuMsDefault, ceiling.cpuMs ?? sessionCpuMsDefault),
    };
    const live = await this.#service.spawn(p, {
      code: "// session",
      lang: body.lang,
      capabilities: body.capabilities,
      limits,
      policy: body.policy,
      volumes: body.volumes,
    }, { session: true, workspace });
    live.agent.done.then(() => this.#agentEnded(live));
    return live;
  }

  /** An agent that ended on its own between cells (a limit, a crash): the next cell gets a fresh one. */
  #agentEnded(live: LiveAgent): void {
    for (const s of this.#open.values()) {
      if (s.live === live && s.running === undefined && s.restarting === undefined) {
        void this.#replace(s, "lost").catch(() => {});
      }
    }
  }

  #arm(s: Open): void {
    clearTimeout(s.idleTimer);
    clearTimeout(s.ttlTimer);
    const ttlLeft = Math.max(0, Date.parse(s.row.expiresAt) - Date.now());
    s.ttlTimer = setTimeout(() => this.#end(s, "ttl"), ttlLeft);
    if (s.running === undefined) s.idleTimer = setTimeout(() => this.#end(s, "idle"), s.idleMs);
  }

  #end(s: Open, reason: string): void {
    if (!this.#open.delete(s.row.id)) return;
    clearTimeout(s.idleTimer);
    clearTimeout(s.ttlTimer);
    s.row = { ...s.row, state: "ended", reason, endedAt: new Date().toISOString() };
    this.#runtime.kill(s.live.agent.pid, "killed", `session ${reason}`);
    // The workspace goes once no context holds it (a restart may be starting one).
    const last = s.restarting ?? Promise.resolve();
    void last.catch(() => {}).then(() => s.live.agent.done).then(() => this.#runtime.workspaces.drop(s.workspace));
    const row = s.row;
    try {
      this.#service.commit(() => {
        this.#rows.put(row);
        this.#rows.prune(row.tenantId, sessionRecordsPerTenantMax);
      }, this.#auditOf(s.principal, row, "session.ended", { reason }));
      this.#service.webhooks.emit(row.tenantId, "session.ended", { sessionId: row.id, reason, endedAt: row.endedAt });
    } catch {
      // The store refused the end: the record stays `open`, and the next start ends it (`server_restarted`).
    }
  }

  #session(p: Principal, id: string): Open {
    const s = this.#open.get(id);
    if (s !== undefined && s.row.tenantId === p.tenant.id) return s;
    const row = this.#rows.get(id, p.tenant.id);
    if (row === undefined) throw notFound(id);
    throw new ApiError(404, "session_ended", `session ${id} ended (${row.reason}): create a new one`);
  }

  #openCount(tenantId: string): number {
    let n = 0;
    for (const s of this.#open.values()) if (s.row.tenantId === tenantId) n++;
    return n;
  }

  #auditOf(p: Principal, row: SessionRow, action: AuditAction, detail: unknown) {
    return { tenantId: row.tenantId, actor: p.tenant.id, action, subject: row.id, detail };
  }
}

function notFound(id: string): ApiError {
  return new ApiError(404, "not_found", `no session ${id.slice(0, 64)}`);
}
