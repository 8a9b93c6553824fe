/**
 * Observability and audit cannot be poisoned by a hostile tenant (issue 9,
 * "Isolation under hostile load"):
 *
 * 1. never-seen call names do not fill the name table: another tenant's
 *    events keep their real call names (real cells, read from the ring);
 * 2. one tenant's denial flood never takes another tenant's audit rows, and
 *    what is suppressed is summarised with its own tenant and exact count
 *    (real server, `GET /v1/audit`);
 * 3. a capability-less agent flooding denied calls writes a bounded, stated
 *    number of audit rows, however often a client forces a flush.
 *
 * Counts are asserted exactly; the bystander's p99 ratio is printed, never
 * asserted (see `bystander.ts`).
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { withRuntime } from "../helpers.ts";
import { createTenant, type TestServer, withServer } from "../api/helpers.ts";
import { agentRoundTrips, httpAgentRoundTrips, reportRatio } from "./bystander.ts";
import { EventKind, EventView } from "../../observability/ring.ts";
import { auditDenialRowsMax } from "../../api/audit_denials.ts";
import {
  auditDenialMessageCharsMax,
  auditDenialRowBytesMax,
  auditDenialsPerAgentPerFlushMax,
  auditDenialsPerTenantPerMinuteMax,
} from "../../api/limits.ts";

/** Guest: `n` raw calls with never-seen names of [A-Za-z0-9._], 64 chars each, in batches. */
function unknownNamesCode(n: number): string {
  return `export default async () => {
  let enosys = 0;
  for (let b = 0; b < ${n / 500}; b++) {
    const calls = [];
    for (let i = 0; i < 500; i++) calls.push({ call: ("atk." + b + "." + i + ".").padEnd(64, "q"), args: {} });
    for (const r of await sys.batch(calls)) if (!r.ok && r.error.code === "ENOSYS") enosys++;
  }
  return enosys;
}`;
}

Deno.test("security obs poison: never-seen call names cannot turn another tenant's calls into 'other'", async () => {
  await withRuntime(async (runtime) => {
    const names = runtime.obs.names;
    const sizeBefore = names.size;
    const quiet = await agentRoundTrips(runtime, "bystander");
    const attackFrom = runtime.obs.ring.nextSeq;
    const [attack, during] = await Promise.all([
      runtime.run({ tenant: "attacker", code: unknownNamesCode(6_000) }),
      agentRoundTrips(runtime, "bystander"),
    ]);
    reportRatio("6,000 never-seen call names", quiet, during);
    assert.equal(attack.reason, "exit", attack.message);
    assert.equal(attack.result, 6_000);

    const victimFrom = runtime.obs.ring.nextSeq;
    const victim = await runtime.run({
      tenant: "victim",
      capabilities: ["fs.read"],
      code: `export default async () => {
        const codes = [];
        for (let i = 0; i < 20; i++) try { await sys.fs.stat("missing-" + i); } catch (e) { codes.push(e.code); }
        for (let i = 0; i < 10; i++) try { await sys.fs.writeText("f", "x"); } catch (e) { codes.push(e.code); }
        return codes.join(",");
      }`,
    });
    assert.equal(victim.reason, "exit", victim.message);
    assert.equal(victim.result, [...Array(20).fill("ENOENT"), ...Array(10).fill("EACCES")].join(","));

    const count = (from: number, tenant: string) => {
      const seen = new Map<string, number>();
      const view = new EventView();
      const reader = runtime.obs.ring.reader(from);
      while (reader.next(view)) {
        if (runtime.obs.tenants.name(view.tenantId) !== tenant) continue;
        if (view.kind !== EventKind.syscall && view.kind !== EventKind.denial) continue;
        const key = `${view.kind === EventKind.syscall ? "syscall" : "denial"} ${names.name(view.nameId)}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      assert.equal(reader.dropped, 0);
      return Object.fromEntries(seen);
    };
    // Errors and denials are never sampled out, so the counts are exact.
    assert.deepEqual(count(victimFrom, "victim"), {
      "syscall fs.stat": 20,
      "denial fs.writeText": 10,
      "syscall fs.writeText": 10,
    });
    assert.deepEqual(count(attackFrom, "attacker"), { "syscall (unknown)": 6_000 });
    assert.equal(names.size, sizeBefore, "unknown call names were interned");
    assert.equal(names.overflow, 0);
    assert.equal(runtime.obs.unknownCalls, 6_000);
  });
});

interface AuditRecord {
  seq: number;
  tenantId: string | null;
  action: string;
  subject: string | null;
  detail: Record<string, unknown> | null;
}

/** Every audit record the key may see with `action`, paging through `GET /v1/audit`. */
async function auditRows(s: TestServer, key: string, action: string): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let after = 0;;) {
    const res = await s.req(`/v1/audit?action=${action}&limit=1000&after=${after}`, { key });
    assert.equal(res.status, 200);
    const page = (await res.json()).records as AuditRecord[];
    out.push(...page);
    if (page.length < 1000) return out;
    after = page.at(-1)!.seq;
  }
}

/** Kept denial rows plus what the tenant's suppressed rows count; polls until it reaches `total` (≤ 5 s). */
async function auditedDenials(s: TestServer, key: string, total: number) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const kept = await auditRows(s, key, "denial");
    const suppressed = await auditRows(s, key, "denial.suppressed");
    const sum = suppressed.reduce((n, r) => n + Number(r.detail?.count), 0);
    if (kept.length + sum >= total || Date.now() > deadline) return { kept, suppressed, sum };
    await sleep(50);
  }
}

/** Guest: denied calls (no capability) in batches of 1000, `batches` times or forever (-1). */
function denialFloodCode(batches: number): string {
  return `export default async () => {
  const calls = [
    { call: "fs.stat", args: { path: "a" } },
    { call: "fs.writeText", args: { path: "a", text: "b" } },
    { call: "ipc.pipe", args: {} },
    { call: "proc.spawn", args: { code: "export default () => 1" } },
    { call: "net.fetch", args: { url: "http://127.0.0.1:9/" } },
  ];
  let denied = 0;
  for (let b = 0; b !== ${batches}; b++) {
    const batch = [];
    for (let i = 0; i < 1000; i++) batch.push(calls[i % calls.length]);
    for (const r of await sys.batch(batch)) if (!r.ok && r.error.code === "EACCES") denied++;
  }
  return denied;
}`;
}

async function spawn(s: TestServer, key: string, body: Record<string, unknown>) {
  const res = await s.req("/v1/agents", { method: "POST", key, json: body });
  const json = await res.json();
  assert.ok(res.status === 200 || res.status === 201, `spawn: ${res.status} ${JSON.stringify(json)}`);
  return json as { id: string; reason?: string; message?: string; result?: unknown; usage?: { denials: number } };
}

Deno.test("security obs poison: tenant A's denial flood never takes tenant B's audit rows; A's suppressed rows are A's", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "flooder");
    const b = await createTenant(s, "victim");
    const c = await createTenant(s, "bystander");
    const bystander = { url: s.url, key: c.apiKey };
    const quiet = await httpAgentRoundTrips(bystander);

    const flood = await spawn(s, a.apiKey, { code: denialFloodCode(-1), limits: { wallMs: 20_000 } });
    const deadline = Date.now() + 5_000;
    for (;;) { // wait until the flood is under way (count, not time)
      const row = await (await s.req(`/v1/agents/${flood.id}`, { key: a.apiKey })).json();
      if (row.usage.denials >= 5_000 || Date.now() > deadline) break;
      await sleep(20);
    }
    const [victim, during] = await Promise.all([
      spawn(s, b.apiKey, {
        wait: true,
        code: `export default async () => {
          let denied = 0;
          for (let i = 0; i < 50; i++) try { await sys.fs.stat("x"); } catch (e) { if (e.code === "EACCES") denied++; }
          return denied;
        }`,
      }),
      httpAgentRoundTrips(bystander),
    ]);
    const killed = await s.req(`/v1/agents/${flood.id}`, { method: "DELETE", key: a.apiKey });
    await killed.body?.cancel();
    const flooded = await (await s.req(`/v1/agents/${flood.id}/wait`, { key: a.apiKey })).json();
    reportRatio("denial flood of another tenant", quiet, during);
    assert.equal(victim.reason, "exit", victim.message);
    assert.equal(victim.result, 50);
    assert.equal(flooded.reason, "killed", flooded.message);

    // B: all 50 rows, nothing of B suppressed, nothing of A visible.
    const bRows = await auditedDenials(s, b.apiKey, 50);
    assert.equal(bRows.kept.length, 50);
    assert.ok(bRows.kept.every((r) => r.tenantId === b.id && r.subject === victim.id));
    assert.equal(bRows.suppressed.length, 0);

    // A: kept + suppressed = every denial A's agent had, and every summary row is A's.
    const total = flooded.usage.denials as number;
    assert.ok(total > 5_000, `flood made ${total} denials`);
    const aRows = await auditedDenials(s, a.apiKey, total);
    console.log(`[audit] flooder: ${total} denials, ${aRows.kept.length} rows, ${aRows.suppressed.length} summaries`);
    assert.equal(aRows.kept.length + aRows.sum, total);
    assert.ok(aRows.suppressed.length > 0);
    for (const r of aRows.suppressed) {
      assert.equal(r.tenantId, a.id);
      assert.deepEqual(r.detail?.agents, [{ agentId: flood.id, count: r.detail?.count }]);
    }
  });
});

Deno.test("security obs poison: a capability-less agent's denial flood writes a bounded number of audit rows", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "flooder");
    const c = await createTenant(s, "bystander");
    const bystander = { url: s.url, key: c.apiKey };
    const quiet = await httpAgentRoundTrips(bystander);

    const started = performance.now();
    let flooding = true;
    const forcedFlushes = (async () => { // a client forcing flushes must not buy more rows
      let n = 0;
      while (flooding) {
        await (await s.req("/v1/audit?limit=1", { key: a.apiKey })).body?.cancel();
        n++;
      }
      return n;
    })();
    const [flood, during] = await Promise.all([
      spawn(s, a.apiKey, { wait: true, code: denialFloodCode(30) }),
      httpAgentRoundTrips(bystander),
    ]);
    flooding = false;
    const flushes = await forcedFlushes;
    reportRatio(`capability-less denial flood (${flushes} forced flushes)`, quiet, during);
    assert.equal(flood.reason, "exit", flood.message);
    assert.equal(flood.result, 30_000);
    assert.equal(flood.usage?.denials, 30_000);

    const rows = await auditedDenials(s, a.apiKey, 30_000);
    const elapsedMs = performance.now() - started;
    console.log(
      `[audit] 30,000 denials in ${elapsedMs.toFixed(0)} ms: ${rows.kept.length} rows, ` +
        `${rows.suppressed.length} summaries (bound ${auditDenialRowsMax(elapsedMs)})`,
    );
    assert.equal(rows.kept.length + rows.sum, 30_000);
    // The flood starts a fresh minute window and lasts under a minute.
    assert.ok(elapsedMs < 60_000);
    assert.ok(rows.kept.length <= auditDenialsPerTenantPerMinuteMax, `${rows.kept.length} denial rows`);
    assert.ok(
      rows.kept.length + rows.suppressed.length <= auditDenialRowsMax(elapsedMs),
      `${rows.kept.length} + ${rows.suppressed.length} rows in ${elapsedMs.toFixed(0)} ms`,
    );
    assert.ok(rows.kept.length >= auditDenialsPerAgentPerFlushMax); // the first window is kept in full
    for (const r of rows.kept) assert.ok(String(r.detail?.message).length <= auditDenialMessageCharsMax);
    for (const r of [...rows.kept, ...rows.suppressed]) {
      assert.ok(new TextEncoder().encode(JSON.stringify(r)).length <= auditDenialRowBytesMax);
    }
  });
});
