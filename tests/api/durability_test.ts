/**
 * Nothing acknowledged is lost: a 2xx that reports a state change leaves
 * only once that change and its audit row are committed (together), and a
 * store that refuses a step of a spawn leaves nothing reserved. The store is
 * the server's real SQLite store failing with real SQLite errors at one
 * step at a time (tests/api/store_helpers.ts); what is durable is read
 * through a second connection to the database file.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";
import { DurableView, type FaultKind, FaultyStore, type StoreStep, until } from "./store_helpers.ts";

/** An agent that holds arena memory (a pipe with data), writes a workspace file and prints before it returns. */
const holdingAgent = `export default async () => {
  const { writeFd } = await sys.ipc.pipe();
  await sys.ipc.write(writeFd, "x".repeat(1000));
  await sys.fs.writeText("note.txt", "kept in the workspace");
  console.log("hello");
  return "hello";
}`;
const holdingCaps = ["ipc", "fs.write"];

interface Faulty {
  s: TestServer;
  store: FaultyStore;
  view: DurableView;
  /** Lifecycle states each pid of the test's tenants went through, and its cell's OS pid once it had one. */
  pids: Map<number, { states: string[]; cellOsPid?: number }>;
}

async function withFaultyServer(fn: (f: Faulty) => Promise<void>): Promise<void> {
  let store: FaultyStore | undefined;
  await withServer(async (s) => {
    const view = new DurableView(s.dataDir);
    const pids: Faulty["pids"] = new Map();
    const unsubscribe = s.runtime.subscribe((event) => {
      if (event.type !== "lifecycle") return;
      const seen = pids.get(event.pid) ?? { states: [] };
      seen.states.push(event.to);
      if (event.to === "Ready") seen.cellOsPid = s.runtime.get(event.pid)?.cell?.osPid;
      pids.set(event.pid, seen);
    });
    try {
      await fn({ s, store: store!, view, pids });
    } finally {
      unsubscribe();
      store!.heal();
      view.close();
    }
  }, { openStore: (path) => store = new FaultyStore(path) });
}

/** Nothing of any agent is held any more: admission, the tenant's quota slots, workspaces, cells, arena. */
async function assertNothingReserved(f: Faulty, tenantId: string): Promise<void> {
  const { s } = f;
  assert.equal(s.service.admission.stats().admitted, 0, "admission slots still taken");
  const usage = s.runtime.tenants.usage(tenantId);
  assert.deepEqual([usage.agents, usage.rssMb, usage.inflightBytes], [0, 0, 0], "quota slots held");
  assert.equal(s.runtime.stats().agents, 0, "agents still tracked by the runtime");
  assert.equal(s.runtime.arena.usageOfTenant(tenantId), 0, "arena bytes still held");
  const workspaces: string[] = [];
  for await (const entry of Deno.readDir(`${s.dataDir}/workspaces`)) workspaces.push(entry.name);
  assert.deepEqual(workspaces, [], "workspaces left on disk");
  for (const [pid, seen] of f.pids) {
    assert.equal(s.runtime.orchestrator.held(pid), 0, `pid ${pid} still holds resources`);
    if (seen.cellOsPid === undefined) continue;
    const alive = await Deno.stat(`/proc/${seen.cellOsPid}`).then(() => true, () => false);
    assert.equal(alive, false, `cell process ${seen.cellOsPid} of pid ${pid} still running`);
  }
}

async function allReleased(f: Faulty, tenantId: string): Promise<void> {
  await until(
    "every resource of the agent released",
    () => f.s.runtime.stats().agents === 0 && f.s.service.admission.stats().admitted === 0,
  );
  await assertNothingReserved(f, tenantId);
}

const refusals: { step: StoreStep; kind: FaultKind; code: string; retryAfter: string }[] = [
  { step: "insertAgent", kind: "full", code: "storage_full", retryAfter: "30" },
  { step: "audit:agent.spawned", kind: "full", code: "storage_full", retryAfter: "30" },
  { step: "commit", kind: "full", code: "storage_full", retryAfter: "30" },
  { step: "insertAgent", kind: "readonly", code: "storage_readonly", retryAfter: "30" },
  { step: "audit:agent.spawned", kind: "busy", code: "storage_busy", retryAfter: "1" },
];

Deno.test("durability: a spawn whose record the store refuses is a 503 before any agent code runs; nothing stays reserved", async () => {
  await withFaultyServer(async (f) => {
    const { s, store, view } = f;
    const t = await createTenant(s, "refused");
    for (const { step, kind, code, retryAfter } of refusals) {
      f.pids.clear();
      store.failAt(step, kind);
      const res = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code: holdingAgent, capabilities: holdingCaps, wait: true },
      });
      const body = await res.json();
      assert.equal(res.status, 503, `${step}/${kind}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, code, step);
      assert.equal(res.headers.get("retry-after"), retryAfter, step);
      assert.equal(store.injected.get(step)! > 0, true, `${step} was reached`);
      if (kind !== "busy") assert.match(body.error.message, /AGENTOS_DATA_DIR/);
      // The agent existed (a pid, a cell) but none of its code was sent.
      assert.equal(f.pids.size, 1, `${step}: one pid`);
      for (const seen of f.pids.values()) {
        assert.ok(seen.states.includes("Ready"), `${step}: got as far as a cell`);
        assert.ok(!seen.states.includes("Running"), `${step}: never Running (${seen.states})`);
      }
      // Released before the answer: no waiting needed.
      await assertNothingReserved(f, t.id);
      assert.equal(view.agentCount(t.id), 0, `${step}: no record`);
      assert.equal(view.auditCount("agent.spawned", { tenantId: t.id }), 0, `${step}: no audit row`);
      const list = await (await s.req("/v1/agents", { key: t.apiKey })).json();
      assert.deepEqual(list.agents, []);
      store.heal(step);
    }
    const ok = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: holdingAgent, wait: true } });
    assert.equal(ok.status, 200);
    const row = await ok.json();
    assert.equal(view.agent(row.id)?.state, "Zombie");
  });
});

Deno.test("durability: an end the store refuses is a 503 with the result marked not durable, written once the store takes it", async () => {
  for (const step of ["finishAgent", "audit:agent.exited"] as const) {
    await withFaultyServer(async (f) => {
      const { s, store, view } = f;
      const t = await createTenant(s, "unrecorded");
      store.failAt(step);
      const res = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code: holdingAgent, capabilities: holdingCaps, wait: true },
      });
      const body = await res.json();
      assert.equal(res.status, 503, `${step}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, "storage_full");
      assert.equal(res.headers.get("retry-after"), "30");
      // The agent ran: its outcome is in the answer, marked as not durable.
      assert.equal(body.agent.durable, false);
      assert.equal(body.agent.reason, "exit");
      assert.equal(body.agent.result, "hello");
      assert.match(body.agent.stdout, /hello/);
      const id = body.agent.id;
      // Its start is durable, its end not, and the audit row of the end went with it (one transaction).
      assert.deepEqual([view.agent(id)?.state, view.agent(id)?.ended_at], ["Running", null], step);
      assert.equal(view.auditCount("agent.spawned", { subject: id }), 1);
      assert.equal(view.auditCount("agent.exited", { subject: id }), 0, `${step}: no exit audit row alone`);
      await allReleased(f, t.id);
      // Status answers from the record kept in memory; wait still says it is not durable.
      const status = await (await s.req(`/v1/agents/${id}`, { key: t.apiKey })).json();
      assert.deepEqual([status.state, status.reason, status.result], ["Zombie", "exit", "hello"]);
      const waited = await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey });
      assert.equal(waited.status, 503);
      assert.equal((await waited.json()).agent.durable, false);
      assert.equal(s.service.storeStats().recordsPending, 1);
      store.heal();
      await until("the refused record written by the retry", () => view.agent(id)?.ended_at !== null);
      assert.deepEqual([view.agent(id)?.state, view.agent(id)?.reason, view.agent(id)?.result], [
        "Zombie",
        "exit",
        "hello",
      ]);
      assert.equal(view.auditCount("agent.exited", { subject: id }), 1);
      assert.equal(s.service.storeStats().recordsPending, 0);
      const after = await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey });
      assert.equal(after.status, 200);
      assert.equal((await after.json()).result, "hello");
    });
  }
});

Deno.test("durability: kill, tenants, quotas, keys, policy and scheduler changes answer 2xx only once committed with their audit row", async () => {
  await withFaultyServer(async (f) => {
    const { s, store, view } = f;
    const refused = async (path: string, init: Parameters<TestServer["req"]>[1], step: StoreStep) => {
      store.failAt(step);
      const res = await s.req(path, init);
      const body = await res.json();
      store.heal(step);
      assert.equal(res.status, 503, `${path} with ${step}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, "storage_full");
      assert.ok(store.injected.get(step)! > 0, `${step} reached`);
    };

    // Tenant creation: neither the tenant, its key nor an audit row of it.
    await refused("/v1/tenants", { method: "POST", key: adminKey, json: { name: "ghost" } }, "audit:key.issued");
    assert.equal(view.tenant("ghost"), undefined);
    assert.equal(view.auditCount("tenant.created"), 1, "only the admin's");

    const t = await createTenant(s, "acme");
    // Quotas: unchanged in the store and in the kernel.
    await refused(`/v1/tenants/${t.id}`, {
      method: "PATCH",
      key: adminKey,
      json: { quotas: { agentsConcurrentMax: 1 } },
    }, "audit:tenant.quotas_changed");
    assert.equal(view.tenant("acme")?.quotas, "{}");
    assert.notEqual(s.runtime.tenants.quotas(t.id).agentsConcurrentMax, 1);

    // Key rotation: no new key; the old one still works.
    const keys = `/v1/tenants/${t.id}/keys`;
    await refused(keys, { method: "POST", key: adminKey, json: { overlapSec: 0 } }, "audit:key.rotated");
    assert.equal(view.keyCount(t.id), 1);
    await refused(keys, { method: "POST", key: adminKey, json: { name: "second" } }, "audit:key.created");
    assert.equal(view.keyCount(t.id), 1);
    assert.equal((await s.req("/v1/agents", { key: t.apiKey })).status, 200);

    // Tenant policy, refused at the audit row and at the commit (after the kernel took it: undone).
    const denyAll = { version: 1, rules: [] };
    const explain = async () =>
      (await (await s.req("/v1/policy/explain", {
        method: "POST",
        key: adminKey,
        json: { tenantId: t.id, request: { call: "time.now" } },
      })).json()).effect;
    assert.equal(await explain(), "allow");
    for (const step of ["audit:policy.changed", "commit"] as const) {
      await refused(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: denyAll }, step);
      assert.equal(view.policy(t.id), null, step);
      assert.equal(await explain(), "allow", `${step}: the kernel kept the old policy`);
    }

    // Scheduler: unchanged.
    const before = (await (await s.req("/v1/scheduler", { key: adminKey })).json()).policy;
    const other = before === "fair" ? "round-robin" : "fair";
    await refused(
      "/v1/scheduler",
      { method: "PUT", key: adminKey, json: { policy: other } },
      "audit:scheduler.changed",
    );
    assert.equal((await (await s.req("/v1/scheduler", { key: adminKey })).json()).policy, before);

    // Kill: the agent is not killed when its audit row cannot be written.
    const spawned = await (await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: `export default () => new Promise(() => {})`, limits: { wallMs: 60_000 } },
    })).json();
    await refused(`/v1/agents/${spawned.id}`, { method: "DELETE", key: t.apiKey }, "audit:agent.killed");
    const live = await (await s.req(`/v1/agents/${spawned.id}`, { key: t.apiKey })).json();
    assert.equal(live.state, "Running");
    assert.equal(view.auditCount("agent.killed"), 0);
    assert.equal((await s.req(`/v1/agents/${spawned.id}`, { method: "DELETE", key: t.apiKey })).status, 202);
    assert.equal(view.auditCount("agent.killed", { subject: spawned.id }), 1, "committed before the 202");
    const killed = await (await s.req(`/v1/agents/${spawned.id}/wait`, { key: t.apiKey })).json();
    assert.equal(killed.reason, "killed");
  });
});

Deno.test("durability: audit rows the store refuses stay buffered (counted) and are written once it takes them", async () => {
  await withFaultyServer(async (f) => {
    const { s, store, view } = f;
    const t = await createTenant(s, "flooded", { agentsConcurrentMax: 1 });
    const sleeper = { code: `export default () => new Promise(() => {})`, limits: { wallMs: 60_000 } };
    const first = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: sleeper });
    assert.equal(first.status, 201);
    const { id } = await first.json();
    store.failAt("audit:quota.exceeded");
    const refused = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: sleeper });
    assert.equal(refused.status, 429);
    await refused.body?.cancel();
    await until("two flushes refused", () => (store.injected.get("audit:quota.exceeded") ?? 0) >= 2);
    assert.equal(view.auditCount("quota.exceeded"), 0);
    const stats = s.service.storeStats();
    assert.ok(stats.auditBuffered >= 1, `buffered ${stats.auditBuffered}`);
    assert.equal(stats.auditDropped, 0);
    assert.ok((stats.errors.get("storage_full") ?? 0) >= 2);
    const metrics = await (await s.req("/metrics", { key: adminKey })).text();
    assert.match(metrics, /agentos_store_errors_total\{code="storage_full"\} [1-9]/);
    assert.match(metrics, /agentos_audit_rows_buffered [1-9]/);
    store.heal();
    await until("the buffered row written", () => view.auditCount("quota.exceeded", { tenantId: t.id }) === 1);
    assert.equal(s.service.storeStats().auditBuffered, 0);
    await (await s.req(`/v1/agents/${id}`, { method: "DELETE", key: t.apiKey })).body?.cancel();
  });
});
