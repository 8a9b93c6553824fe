/**
 * Retention on a real server over a real SQLite file: with a tiny age or
 * count, agent records and audit rows are deleted in bounded batches, each
 * leaving its checkpoint row, and a live agent's record is never deleted.
 * The wall clock retention compares ages with is the test's, moved forward.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { retentionBatchRowsMax } from "../../api/limits.ts";
import { retentionOptions } from "../../api/retention.ts";
import { serverOptionsFromEnv, StartupError } from "../../api/server.ts";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";

const hello = "export default () => 'hi';";
const sleeper = "export default () => new Promise(() => {});";
const dayMs = 86_400_000;

/** A wall clock the test moves. */
function testClock() {
  const clock = { offsetMs: 0, nowMs: () => Date.now() + clock.offsetMs };
  return clock;
}

async function run(s: TestServer, key: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await s.req("/v1/agents", { method: "POST", key, json: { code: hello, wait: true } });
    assert.equal(res.status, 200, await res.clone().text());
    ids.push((await res.json()).id);
  }
  return ids;
}

async function spawnLive(s: TestServer, key: string): Promise<string> {
  const res = await s.req("/v1/agents", { method: "POST", key, json: { code: sleeper, limits: { wallMs: 60_000 } } });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

async function status(s: TestServer, id: string): Promise<number> {
  const res = await s.req(`/v1/agents/${id}`, { key: adminKey });
  await res.body?.cancel();
  return res.status;
}

interface AuditRecord {
  seq: number;
  action: string;
  detail: Record<string, number | string>;
}

async function auditRows(s: TestServer, action?: string): Promise<AuditRecord[]> {
  const q = action ? `&action=${action}` : "";
  return (await (await s.req(`/v1/audit?limit=1000${q}`, { key: adminKey })).json()).records;
}

/** Run retention after the clock moved: the second run starts after the move, whatever ran before. */
async function prune(s: TestServer): Promise<void> {
  await s.retention.run();
  await s.retention.run();
}

Deno.test("retention: records and audit rows older than the age go, with checkpoints; live agents stay", async () => {
  const clock = testClock();
  await withServer(async (s) => {
    const t = await createTenant(s, "old");
    const ended = await run(s, t.apiKey, 4);
    const live = await spawnLive(s, t.apiKey);
    s.service.flushAudit();
    const before = await auditRows(s);
    clock.offsetMs = 2 * dayMs;
    await prune(s);
    for (const id of ended) assert.equal(await status(s, id), 404, `${id} is gone`);
    assert.equal(await status(s, live), 200, "the live agent's record stays");
    const agents = await (await s.req("/v1/agents", { key: t.apiKey })).json();
    assert.deepEqual(agents.agents.map((a: { id: string }) => a.id), [live]);

    const [agentsCheckpoint] = await auditRows(s, "agents.pruned");
    assert.equal(agentsCheckpoint.detail.records, ended.length);
    assert.equal(agentsCheckpoint.detail.reason, "age");
    const after = await auditRows(s);
    assert.ok(after.every((r) => r.action.endsWith(".pruned")), "every old row went; checkpoints remain");
    const auditCheckpoints = after.filter((r) => r.action === "audit.pruned");
    assert.ok(auditCheckpoints.length >= 1);
    assert.equal(auditCheckpoints[0].detail.fromSeq, before[0].seq);
    assert.equal(auditCheckpoints.at(-1)!.detail.toSeq, after[0].seq - 1, "the checkpoints cover up to what is kept");
    assert.equal(auditCheckpoints.reduce((n, r) => n + Number(r.detail.rows), 0), after[0].seq - before[0].seq);
    assert.ok(s.retention.stats.agentsPruned === ended.length && s.retention.stats.errors === 0);
  }, { retention: { retentionDays: 1, agentRecordsMax: 0, auditRowsMax: 0, nowMs: clock.nowMs } });
});

Deno.test("retention: past the record and row counts the oldest go; records of live agents never", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "many");
    const liveA = await spawnLive(s, t.apiKey);
    const ended = await run(s, t.apiKey, 5);
    const liveB = await spawnLive(s, t.apiKey);
    await prune(s);
    // Two live records and three kept in all: only the newest ended one stays with them.
    for (const id of ended.slice(0, 4)) assert.equal(await status(s, id), 404, `${id} is gone`);
    for (const id of [ended[4], liveA, liveB]) assert.equal(await status(s, id), 200, `${id} stays`);
    const [checkpoint] = await auditRows(s, "agents.pruned");
    assert.equal(checkpoint.detail.reason, "count");
    assert.equal(checkpoint.detail.records, 4);

    // With fewer allowed than are live, nothing more goes (and the run ends).
    s.retention.options.agentRecordsMax = 1;
    await prune(s);
    for (const id of [liveA, liveB]) assert.equal(await status(s, id), 200, `${id} stays`);
    assert.equal(await status(s, ended[4]), 404);

    const after = await auditRows(s);
    assert.ok(after.length <= 10, `${after.length} audit rows kept`);
    const checkpoints = after.filter((r) => r.action === "audit.pruned");
    assert.ok(checkpoints.length >= 1, "the audit says what it no longer holds");
    assert.equal(checkpoints.at(-1)!.detail.toSeq, after[0].seq - 1);
  }, { retention: { retentionDays: 0, agentRecordsMax: 3, auditRowsMax: 10 } });
});

Deno.test("retention: a large backlog goes in bounded batches, and the file gives its pages back", async () => {
  await withServer(async (s) => {
    const rows = 5 * retentionBatchRowsMax + 123;
    const detail = { padding: "x".repeat(1000) };
    s.store.audit(Array.from({ length: rows }, (_, i) => ({
      at: new Date().toISOString(),
      tenantId: null,
      actor: "test",
      action: "filler",
      subject: String(i),
      detail,
    })));
    const path = `${s.dataDir}/agentos.db`;
    const pages = () => {
      const db = new DatabaseSync(path, { readOnly: true });
      const n = Number((db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count);
      db.close();
      return n;
    };
    const full = pages();
    s.retention.options.auditRowsMax = 50;
    await prune(s);
    const kept = await auditRows(s);
    assert.ok(kept.length <= 50, `${kept.length} rows kept`);
    const checkpoints = kept.filter((r) => r.action === "audit.pruned");
    const all = await s.req(`/v1/audit?limit=1000&action=audit.pruned`, { key: adminKey });
    const everyCheckpoint: AuditRecord[] = (await all.json()).records;
    assert.ok(everyCheckpoint.every((r) => Number(r.detail.rows) <= retentionBatchRowsMax), "each batch is bounded");
    assert.ok(checkpoints.length >= 1);
    assert.ok(s.retention.stats.batches >= Math.ceil(rows / retentionBatchRowsMax), `${s.retention.stats.batches}`);
    assert.ok(pages() < full / 4, `pages ${full} → ${pages()}: freed pages went back to the file system`);
  }, { retention: { retentionDays: 0, agentRecordsMax: 0, auditRowsMax: 0 } });
});

Deno.test("retention: options and environment variables are checked by name", () => {
  assert.throws(() => retentionOptions({ auditRowsMax: -1 }), /auditRowsMax must be an integer ≥ 0/);
  assert.throws(() => retentionOptions({ agentRecordsMax: 1.5 }), /agentRecordsMax must be an integer/);
  assert.equal(retentionOptions({ retentionDays: 0.5 }).retentionDays, 0.5);
  const env = (vars: Record<string, string>) => serverOptionsFromEnv((name) => vars[name]);
  assert.deepEqual(env({ AGENTOS_RETENTION_DAYS: "7", AGENTOS_AUDIT_ROWS_MAX: "5000" }).retention, {
    retentionDays: 7,
    agentRecordsMax: undefined,
    auditRowsMax: 5000,
    traceEventsPerAgentMax: undefined,
  });
  assert.equal(env({ AGENTOS_TRACE_EVENTS_MAX: "500" }).retention?.traceEventsPerAgentMax, 500);
  assert.throws(
    () => env({ AGENTOS_TRACE_EVENTS_MAX: "lots" }),
    /^StartupError|AGENTOS_TRACE_EVENTS_MAX must be a whole number/,
  );
  assert.throws(() => env({ AGENTOS_RETENTION_DAYS: "a week" }), (err) => {
    assert.ok(err instanceof StartupError);
    assert.match(err.message, /^AGENTOS_RETENTION_DAYS must be a number ≥ 0, got "a week": fix it or unset it$/);
    return true;
  });
  assert.throws(() => env({ AGENTOS_CONNECTIONS_MAX: "0" }), /connectionsMax .*AGENTOS_CONNECTIONS_MAX/);
});
