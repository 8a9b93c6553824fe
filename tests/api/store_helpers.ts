/**
 * Failing the store on purpose, for the durability and store-error tests.
 *
 * {@linkcode FaultyStore} is the server's real SQLite store (handed in with
 * `ServerOptions.openStore`) that throws at a chosen step — a row of one
 * table, an audit row of one action — with a real SQLite error: each error is
 * produced by a real database (a full one, a read-only one, a locked one),
 * not built by hand. It can also cap its own file for real
 * (`PRAGMA max_page_count`), so the next write that needs a page fails with
 * SQLITE_FULL as on a full disk, without root or a tmpfs.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { type AgentRow, type AuditRow, type Quotas, Store, type TenantRow } from "../../api/store.ts";

/** The kinds of real SQLite failure a step can get. */
export type FaultKind = "full" | "readonly" | "busy";

/** A step that can fail: a store method, or `audit:<action>` for an audit row of that action. */
export type StoreStep =
  | "insertTenant"
  | "updateQuotas"
  | "insertKey"
  | "setPolicy"
  | "insertAgent"
  | "finishAgent"
  | "tenantForKey"
  /** The end of an outermost transaction, after everything in it ran (as a commit that fails). */
  | "commit"
  | `audit:${string}`;

const made = new Map<FaultKind, Error>();

/**
 * A real SQLite error of `kind`, made once by a real database and reused.
 *
 * @param kind full (SQLITE_FULL), readonly (SQLITE_READONLY) or busy (SQLITE_BUSY)
 */
export function realSqliteError(kind: FaultKind): Error {
  let err = made.get(kind);
  if (err === undefined) {
    err = provoke(kind);
    made.set(kind, err);
  }
  return err;
}

function provoke(kind: FaultKind): Error {
  const dir = Deno.makeTempDirSync({ prefix: "agentos-sqlite-" });
  const path = `${dir}/x.db`;
  const db = new DatabaseSync(kind === "full" ? ":memory:" : path);
  try {
    db.exec("CREATE TABLE t (x)");
    if (kind === "full") {
      db.exec("PRAGMA max_page_count = 4");
      const insert = db.prepare("INSERT INTO t VALUES (?)");
      for (let i = 0; i < 100; i++) insert.run("x".repeat(4096));
    } else if (kind === "readonly") {
      const readonly = new DatabaseSync(path, { readOnly: true });
      try {
        readonly.prepare("INSERT INTO t VALUES (1)").run();
      } finally {
        readonly.close();
      }
    } else {
      db.exec("BEGIN IMMEDIATE");
      const other = new DatabaseSync(path, { timeout: 0 });
      try {
        other.prepare("INSERT INTO t VALUES (1)").run();
      } finally {
        other.close();
      }
    }
  } catch (err) {
    return err as Error;
  } finally {
    db.close();
    Deno.removeSync(dir, { recursive: true });
  }
  throw new Error(`could not provoke a real SQLite ${kind} error`);
}

/** The server's store, failing at the steps a test chooses (until it heals them). */
export class FaultyStore extends Store {
  #faults = new Map<StoreStep, FaultKind>();
  /** Failures injected so far, per step. */
  readonly injected = new Map<StoreStep, number>();

  /** Make `step` fail with a real SQLite error of `kind` until {@linkcode FaultyStore.heal}. */
  failAt(step: StoreStep, kind: FaultKind = "full"): void {
    this.#faults.set(step, kind);
  }

  /** Stop failing `step` (every step when omitted), and lift a page cap. */
  heal(step?: StoreStep): void {
    if (step === undefined) this.#faults.clear();
    else this.#faults.delete(step);
    this.db.exec("PRAGMA max_page_count = 1073741823");
  }

  /** Cap the database at the pages it has: the next write that needs a page gets a real SQLITE_FULL. */
  capAtCurrentSize(): void {
    const { page_count } = this.db.prepare("PRAGMA page_count").get() as { page_count: number };
    this.db.exec(`PRAGMA max_page_count = ${page_count}`);
  }

  override transaction<T>(fn: () => T): T {
    if (this.db.isTransaction) return super.transaction(fn);
    return super.transaction(() => {
      const value = fn();
      this.#check("commit");
      return value;
    });
  }

  override insertTenant(t: TenantRow): void {
    this.#check("insertTenant");
    super.insertTenant(t);
  }

  override updateQuotas(id: string, quotas: Quotas): void {
    this.#check("updateQuotas");
    super.updateQuotas(id, quotas);
  }

  override insertKey(hash: string, key: Parameters<Store["insertKey"]>[1]): void {
    this.#check("insertKey");
    super.insertKey(hash, key);
  }

  override setPolicy(id: string, policy: unknown | null): void {
    this.#check("setPolicy");
    super.setPolicy(id, policy);
  }

  override insertAgent(a: AgentRow): void {
    this.#check("insertAgent");
    super.insertAgent(a);
  }

  override finishAgent(a: Parameters<Store["finishAgent"]>[0]): void {
    this.#check("finishAgent");
    super.finishAgent(a);
  }

  override tenantForKey(hash: string): ReturnType<Store["tenantForKey"]> {
    this.#check("tenantForKey");
    return super.tenantForKey(hash);
  }

  override audit(rows: Omit<AuditRow, "seq">[]): void {
    for (const row of rows) this.#check(`audit:${row.action}`);
    super.audit(rows);
  }

  #check(step: StoreStep): void {
    const kind = this.#faults.get(step);
    if (kind === undefined) return;
    this.injected.set(step, (this.injected.get(step) ?? 0) + 1);
    throw realSqliteError(kind);
  }
}

/**
 * What is durable: a second, read-only connection to the server's database
 * file sees only committed rows.
 */
export class DurableView {
  #db: DatabaseSync;

  /** @param dataDir the server's data dir */
  constructor(dataDir: string) {
    this.#db = new DatabaseSync(`${dataDir}/agentos.db`, { readOnly: true });
  }

  /** The committed agent row, if any. */
  agent(id: string): { state: string; reason: string | null; result: unknown; ended_at: string | null } | undefined {
    const row = this.#db.prepare("SELECT state, reason, result, ended_at FROM agents WHERE id = ?").get(id) as
      | { state: string; reason: string | null; result: string | null; ended_at: string | null }
      | undefined;
    return row && { ...row, result: row.result === null ? null : JSON.parse(row.result) };
  }

  /** Committed audit rows of `action`, about `subject` or of tenant `tenantId` when given. */
  auditCount(action: string, where: { subject?: string; tenantId?: string } = {}): number {
    let sql = "SELECT count(*) AS n FROM audit WHERE action = ?";
    const params = [action];
    if (where.subject !== undefined) sql += " AND subject = ?", params.push(where.subject);
    if (where.tenantId !== undefined) sql += " AND tenant_id = ?", params.push(where.tenantId);
    return Number((this.#db.prepare(sql).get(...params) as { n: number }).n);
  }

  /** Committed agent records of tenant `tenantId`. */
  agentCount(tenantId: string): number {
    return Number(
      (this.#db.prepare("SELECT count(*) AS n FROM agents WHERE tenant_id = ?").get(tenantId) as { n: number }).n,
    );
  }

  /** Committed keys of tenant `tenantId` (live or revoked). */
  keyCount(tenantId: string): number {
    return Number(
      (this.#db.prepare("SELECT count(*) AS n FROM keys WHERE tenant_id = ?").get(tenantId) as { n: number }).n,
    );
  }

  /** The committed tenant row named `name`, if any. */
  tenant(name: string): { id: string; quotas: string } | undefined {
    return this.#db.prepare("SELECT id, quotas FROM tenants WHERE name = ?").get(name) as
      | { id: string; quotas: string }
      | undefined;
  }

  /** The committed policy document of tenant `id` (null when none). */
  policy(id: string): unknown {
    const row = this.#db.prepare("SELECT policy FROM tenants WHERE id = ?").get(id) as { policy: string | null };
    return row.policy === null ? null : JSON.parse(row.policy);
  }

  /** Close the connection. */
  close(): void {
    this.#db.close();
  }
}

/**
 * Wait until `fn` holds, checking every few ms; fails with `what` after `timeoutMs`.
 *
 * @param what the state waited for, for the failure message
 */
export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await fn())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
