/**
 * Store errors are operating errors: real SQLite failures (a database capped
 * with `PRAGMA max_page_count` is really full; read-only and locked
 * databases are really so) are answered 503 with a code and `Retry-After`,
 * never 500; a failed transaction reports its own error, not a failed
 * rollback; the audit buffer is bounded and counts what it drops.
 */
import assert from "node:assert/strict";
import { DenialAuditGate } from "../../api/audit_denials.ts";
import { AuditLog } from "../../api/audit_log.ts";
import { auditActions } from "../../api/audit_actions.ts";
import { storeApiError, StoreErrors } from "../../api/store_errors.ts";
import { storeErrorLogMs } from "../../api/limits.ts";
import { adminKey, createTenant, withServer } from "./helpers.ts";
import { DurableView, FaultyStore, realSqliteError, until } from "./store_helpers.ts";

async function withStore(fn: (store: FaultyStore) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agentos-store-" });
  const store = new FaultyStore(`${dir}/agentos.db`);
  try {
    await fn(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const auditRow = (action: string, detail: unknown = {}) => ({
  at: new Date().toISOString(),
  tenantId: "tn_x",
  actor: "test",
  action,
  subject: null,
  detail,
});

Deno.test("store: a transaction that fills the disk reports SQLITE_FULL (not a failed rollback), writes nothing, and the store goes on", async () => {
  await withStore((store) => {
    store.audit([auditRow("before")]);
    store.capAtCurrentSize();
    let thrown: unknown;
    try {
      // A row bigger than a page needs new pages: a real SQLITE_FULL.
      store.transaction(() => {
        store.audit([auditRow("first")]);
        store.audit([auditRow("big", "x".repeat(200_000))]);
      });
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof Error, "the transaction failed");
    assert.match(thrown.message, /database or disk is full/);
    assert.equal(storeApiError(thrown)?.code, "storage_full");
    store.heal();
    store.audit([auditRow("after")]);
    assert.deepEqual(store.auditLog(null, 0, 10).map((r) => r.action), ["before", "after"]);
  });
});

Deno.test("store errors: real SQLite failures are 503s with a code and Retry-After; other errors are not store errors", () => {
  const cases = [
    { kind: "full", code: "storage_full", retryAfterSec: 30 },
    { kind: "readonly", code: "storage_readonly", retryAfterSec: 30 },
    { kind: "busy", code: "storage_busy", retryAfterSec: 1 },
  ] as const;
  for (const { kind, code, retryAfterSec } of cases) {
    const api = storeApiError(realSqliteError(kind));
    assert.deepEqual([api?.status, api?.code, api?.retryAfterSec], [503, code, retryAfterSec], kind);
  }
  assert.equal(storeApiError(new Error("database or disk is full")), undefined, "not a node:sqlite error");
  let constraint: unknown;
  try {
    realSqliteConstraint();
  } catch (err) {
    constraint = err;
  }
  assert.equal(storeApiError(constraint), undefined, "a constraint violation is not an operating error");
});

function realSqliteConstraint(): void {
  const store = new FaultyStore(":memory:");
  try {
    const tenant = { id: "tn_a", name: "a", admin: false, quotas: {}, createdAt: "now" };
    store.insertTenant(tenant);
    store.insertTenant(tenant);
  } finally {
    store.close();
  }
}

Deno.test("store errors: the first failure of a code is logged, then one line per interval with the count since", () => {
  const lines: string[] = [];
  let nowMs = 0;
  const errors = new StoreErrors((line) => lines.push(line), () => nowMs);
  const full = realSqliteError("full");
  for (let i = 0; i < 3; i++) errors.failed("agent record", full);
  errors.failed("audit flush", realSqliteError("busy"));
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^store error storage_full in agent record: database or disk is full$/);
  assert.match(lines[1], /^store error storage_busy in audit flush/);
  nowMs += storeErrorLogMs;
  errors.failed("agent record", full);
  assert.equal(lines.length, 3);
  assert.match(lines[2], /\(2 more since the last line\)$/);
  assert.deepEqual([...errors.counts()], [["storage_full", 4], ["storage_busy", 1]]);
  assert.equal(errors.failed("x", new TypeError("a bug")), undefined);
});

Deno.test("audit buffer: rows the store refuses stay, bounded (oldest dropped, counted), and are written once it takes them", async () => {
  await withStore((store) => {
    const audit = new AuditLog(store, new DenialAuditGate(), new StoreErrors(() => {}), { rowsMax: 3 });
    try {
      const [a0, a1, a2, a3, a4] = auditActions;
      store.failAt(`audit:${a0}`);
      audit.record(null, "test", a0, null, {});
      audit.record(null, "test", a1, null, {});
      assert.equal(audit.flush(), false);
      assert.equal(audit.flush(), false, "kept and tried again");
      assert.deepEqual([audit.buffered, audit.dropped], [2, 0]);
      for (const action of [a2, a3, a4]) audit.record(null, "test", action, null, {});
      assert.deepEqual([audit.buffered, audit.dropped], [3, 2], "the oldest dropped past the bound");
      store.heal();
      assert.equal(audit.flush(), true);
      assert.equal(audit.buffered, 0);
      assert.deepEqual(store.auditLog(null, 0, 10).map((r) => r.action), [a2, a3, a4]);
    } finally {
      audit.stop();
    }
  });
});

Deno.test("store errors: a read the store refuses is a 503 with a code, never a 500", async () => {
  let store: FaultyStore | undefined;
  await withServer(async (s) => {
    for (const [kind, code, retryAfter] of [["busy", "storage_busy", "1"], ["readonly", "storage_readonly", "30"]]) {
      // A key never used before is not in the key cache: authenticating it reads the store.
      const t = await createTenant(s, `reader-${kind}`);
      store!.failAt("tenantForKey", kind as "busy" | "readonly");
      const res = await s.req("/v1/agents", { key: t.apiKey });
      const body = await res.json();
      store!.heal();
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, code);
      assert.equal(res.headers.get("retry-after"), retryAfter);
      assert.equal((await s.req("/v1/agents", { key: t.apiKey })).status, 200);
    }
  }, { openStore: (path) => store = new FaultyStore(path) });
});

Deno.test("store errors: a really full database refuses tenant creation with storage_full and leaves nothing half-written", async () => {
  let store: FaultyStore | undefined;
  await withServer(async (s) => {
    const view = new DurableView(s.dataDir);
    try {
      store!.capAtCurrentSize();
      // Each tenant takes a few hundred bytes; the pages the database has fill within a few dozen.
      let refusedName: string | undefined;
      for (let i = 0; i < 500 && refusedName === undefined; i++) {
        const name = `filler-${i}`;
        const res = await s.req("/v1/tenants", { method: "POST", key: adminKey, json: { name } });
        const body = await res.json();
        if (res.status === 201) {
          assert.ok(view.tenant(name), `${name} acknowledged but not committed`);
          assert.equal(view.auditCount("tenant.created", { tenantId: body.id }), 1);
          assert.equal(view.auditCount("key.issued", { tenantId: body.id }), 1);
          continue;
        }
        assert.equal(res.status, 503, JSON.stringify(body));
        assert.equal(body.error.code, "storage_full");
        assert.equal(res.headers.get("retry-after"), "30");
        refusedName = name;
      }
      assert.ok(refusedName !== undefined, "the capped database never filled");
      assert.equal(view.tenant(refusedName), undefined, "the refused tenant was committed");
      store!.heal();
      const res = await s.req("/v1/tenants", { method: "POST", key: adminKey, json: { name: refusedName } });
      assert.equal(res.status, 201, "the same tenant once there is room");
      await res.body?.cancel();
    } finally {
      view.close();
    }
  }, { openStore: (path) => store = new FaultyStore(path) });
});

Deno.test("store errors: a really full database during a run: 503 storage_full, nothing reserved, the record written once there is room", async () => {
  let store: FaultyStore | undefined;
  await withServer(async (s) => {
    const view = new DurableView(s.dataDir);
    try {
      const t = await createTenant(s, "full");
      store!.capAtCurrentSize();
      // 16 KiB of output: the final record needs pages the capped database does not have.
      const code = `export default () => { console.log("y".repeat(16384)); return "ran"; }`;
      const res = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code, wait: true } });
      const body = await res.json();
      assert.equal(res.status, 503, JSON.stringify(body).slice(0, 300));
      assert.equal(body.error.code, "storage_full");
      assert.equal(res.headers.get("retry-after"), "30");
      await until("the agent's resources released", () => s.runtime.stats().agents === 0);
      assert.equal(s.service.admission.stats().admitted, 0);
      assert.equal(s.runtime.tenants.usage(t.id).agents, 0);
      if (body.agent === undefined) {
        // The start could not be written: refused before it ran.
        assert.equal(view.agentCount(t.id), 0);
        return;
      }
      assert.equal(body.agent.durable, false);
      assert.equal(body.agent.result, "ran");
      store!.heal();
      await until("the record written once there is room", () => view.agent(body.agent.id)?.ended_at !== null);
      assert.equal(view.agent(body.agent.id)?.result, "ran");
    } finally {
      view.close();
    }
  }, { openStore: (path) => store = new FaultyStore(path) });
});
