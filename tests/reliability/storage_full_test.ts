/**
 * The server's data dir on a real tmpfs filled to 100 % by the test: spawns,
 * tenant creation and key rotation are refused with a clear
 * `storage_full` error (507 or 503, never a 500), reads keep working,
 * nothing is leaked (admission slots, agents, bytes in flight, workspaces,
 * the tenant's concurrency slots), and once the filler is deleted the same
 * requests succeed.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { entries, fillDisk, metric, ServerProcess, until, withTmpfs } from "./helpers.ts";

type Answer = Awaited<ReturnType<ServerProcess["json"]>>;

function assertStorageFull(what: string, r: Answer): void {
  assert.ok(
    (r.status === 507 || r.status === 503) && r.body.error?.code === "storage_full",
    `${what} on a full disk: expected 507/503 storage_full, got ${r.status} ${JSON.stringify(r.body)}`,
  );
  assert.ok((r.body.error?.message ?? "").length > 0, `${what}: the error says nothing`);
}

/** Nothing is held any more: no admitted or waiting spawn, no agent in the table, no byte in flight. */
async function assertNothingHeld(s: ServerProcess): Promise<void> {
  let last = "";
  await until("every slot and agent to be given back", async () => {
    const sched = await s.json("/v1/scheduler");
    const admission = sched.body.admission as { admitted: number; waiting: number };
    const text = await (await s.req("/metrics")).text();
    const agents = metric(text, "agentos_agents");
    const inflight = metric(text, "agentos_inflight_bytes");
    last = JSON.stringify({ admission, agents, inflight });
    return admission.admitted === 0 && admission.waiting === 0 && agents === 0 && inflight === 0;
  }).catch((err) => {
    throw new Error(`${err.message}; last seen ${last}`);
  });
  assert.deepEqual(entries(`${s.dataDir}/workspaces`), [], "a workspace was left on disk");
}

const spawn = (s: ServerProcess, key: string, code: string, wait = true, limits?: Record<string, number>) =>
  s.json("/v1/agents", { method: "POST", key, json: { code, wait, limits } });

/**
 * An agent that never ends by itself (for a minute): a refused spawn that
 * still started it would hold a concurrency slot and show in the metrics.
 */
const forever = "export default () => new Promise(() => {})";
const aMinute = { wallMs: 60_000 };

Deno.test({
  name: "reliability: a full data dir (real tmpfs) gives storage_full errors, leaks nothing and recovers",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withTmpfs(64, async (dataDir) => {
      const s = await ServerProcess.start({ dataDir, poolSize: 1 });
      try {
        const t = await s.tenant("full", { agentsConcurrentMax: 2, spawnsPerSec: 1000 });
        // Run by another tenant: its cell is kept for that tenant (recycled cells) and so is not disposed — its
        // files freed — in the middle of the probes below, where a top-up could not see it coming.
        const other = await s.tenant("other", { spawnsPerSec: 1000 });
        const before = await spawn(s, other.apiKey, "export default () => 'before'");
        assert.equal(before.status, 200, JSON.stringify(before.body));
        // Give the WAL's allocated space back first: a commit into space the WAL already holds needs no new block,
        // so without this the "full" disk would still take some writes, depending on when SQLite last checkpointed.
        await truncateWal(`${dataDir}/agentos.db`);
        const filler = await fillDisk(dataDir);

        for (let i = 0; i < 3; i++) {
          await fillDisk(dataDir); // top up what the refused spawns gave back (their cells' and workspaces' files)
          assertStorageFull(`spawn ${i} (wait: true)`, await spawn(s, t.apiKey, forever, true, aMinute));
        }
        await fillDisk(dataDir);
        assertStorageFull("spawn (wait: false)", await spawn(s, t.apiKey, forever, false, aMinute));
        await fillDisk(dataDir);
        assertStorageFull("tenant creation", await s.json("/v1/tenants", { method: "POST", json: { name: "nope" } }));
        await fillDisk(dataDir);
        assertStorageFull("key rotation", await s.json(`/v1/tenants/${t.id}/keys`, { method: "POST" }));

        // Reads need no space: health and a stored record still answer, and the server is still there.
        assert.equal((await s.json("/healthz")).status, 200);
        const read = await s.json(`/v1/agents/${before.body.id}`, { key: other.apiKey });
        assert.deepEqual([read.status, read.body.result], [200, "before"]);
        assert.equal(s.exited, null, `the server exited on a full disk\n${s.output}`);
        await assertNothingHeld(s);

        await Deno.remove(filler);
        const after = await spawn(s, t.apiKey, "export default () => 'after'");
        assert.deepEqual([after.status, after.body.reason, after.body.result], [200, "exit", "after"]);
        // Both of the tenant's concurrency slots are free again: the refused spawns kept none.
        const held = [await spawn(s, t.apiKey, forever, false), await spawn(s, t.apiKey, forever, false)];
        assert.deepEqual(held.map((r) => r.status), [201, 201], JSON.stringify(held.map((r) => r.body)));
        const third = await spawn(s, t.apiKey, "export default () => 1");
        assert.equal(third.status, 429, "the tenant's quota still holds");
        for (const r of held) await s.json(`/v1/agents/${r.body.id}`, { method: "DELETE", key: t.apiKey });
        assert.equal((await s.json("/v1/tenants", { method: "POST", json: { name: "later" } })).status, 201);
        assert.equal((await s.json(`/v1/tenants/${t.id}/keys`, { method: "POST" })).status, 201);
        await assertNothingHeld(s);
        assert.equal(s.exited, null, `the server exited\n${s.output}`);
      } finally {
        await s.stop();
      }
    });
  },
});

/** Checkpoint the server's database from a second connection and truncate its WAL to 0 bytes (retried while busy). */
async function truncateWal(path: string): Promise<void> {
  const db = new DatabaseSync(path);
  try {
    for (let i = 0; i < 200; i++) {
      const row = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
      if (row.busy === 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("the WAL stayed busy: the server kept a read transaction open for 2 s");
  } finally {
    db.close();
  }
}
