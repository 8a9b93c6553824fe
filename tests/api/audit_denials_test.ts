/**
 * The denial audit gate with a fake clock: per-agent, per-tenant and
 * per-minute caps, one summary per tenant, and the stated row bound.
 */
import assert from "node:assert/strict";
import { auditDenialRowsMax, auditDenialRowsServerMax, DenialAuditGate } from "../../api/audit_denials.ts";
import {
  auditDenialRowsPerServerPerSecMax,
  auditDenialRowsPerTenantPerSecMax,
  auditDenialsPerAgentPerFlushMax,
  auditDenialsPerServerPerFlushMax,
  auditDenialsPerServerPerMinuteMax,
  auditDenialsPerTenantPerFlushMax,
  auditDenialsPerTenantPerMinuteMax,
  auditFlushMs,
  auditMinuteMs,
  auditSummariesPerFlushMax,
  auditSuppressedAgentsMax,
} from "../../api/limits.ts";

function gateAt(start = 1_000) {
  const clock = { now: start };
  return { clock, gate: new DenialAuditGate({ nowMs: () => clock.now }) };
}

function admitted(gate: DenialAuditGate, tenant: string, agent: string, n: number): number {
  let kept = 0;
  for (let i = 0; i < n; i++) if (gate.admit(tenant, agent)) kept++;
  return kept;
}

Deno.test("audit gate: an agent's rows per window are capped, the rest is its tenant's summary", () => {
  const { clock, gate } = gateAt();
  assert.equal(admitted(gate, "A", "a1", 1_000), auditDenialsPerAgentPerFlushMax);
  assert.deepEqual(gate.summaries(), [{
    tenantId: "A",
    count: 1_000 - auditDenialsPerAgentPerFlushMax,
    agents: [{ agentId: "a1", count: 1_000 - auditDenialsPerAgentPerFlushMax }],
    agentsOmitted: 0,
  }]);
  assert.equal(admitted(gate, "A", "a1", 10), 0); // same window
  clock.now += auditFlushMs;
  assert.equal(admitted(gate, "A", "a1", 10), 10); // a new window
  assert.equal(gate.suppressedTotal, 1_000 - auditDenialsPerAgentPerFlushMax + 10);
});

Deno.test("audit gate: one tenant's flood never takes another tenant's rows", () => {
  const { gate } = gateAt();
  let kept = 0;
  for (let agent = 0; agent < 20; agent++) kept += admitted(gate, "A", `a${agent}`, 500);
  assert.equal(kept, auditDenialsPerTenantPerFlushMax);
  assert.equal(admitted(gate, "B", "b1", 50), 50);
  const rows = gate.summaries();
  assert.deepEqual(rows.map((r) => [r.tenantId, r.count]), [["A", 20 * 500 - auditDenialsPerTenantPerFlushMax]]);
  assert.equal(rows[0].agents.length, auditSuppressedAgentsMax);
  assert.equal(rows[0].agentsOmitted, 20 - auditSuppressedAgentsMax);
  assert.equal(rows[0].agents[0].agentId, "a0");
  assert.ok(rows[0].agents.reduce((n, a) => n + a.count, 0) < rows[0].count);
});

Deno.test("audit gate: a tenant's rows per minute are capped", () => {
  const { clock, gate } = gateAt();
  let kept = 0;
  for (let w = 0; w < auditMinuteMs / auditFlushMs; w++) {
    kept += admitted(gate, "A", "a1", 1_000);
    clock.now += auditFlushMs;
  }
  assert.equal(kept, auditDenialsPerTenantPerMinuteMax);
  assert.equal(admitted(gate, "A", "a1", 1), 1); // the next minute
});

Deno.test("audit gate: forced flushes buy no summaries; final takes every pending count", () => {
  const { clock, gate } = gateAt();
  admitted(gate, "A", "a1", 100);
  assert.equal(gate.summaries().length, 1);
  admitted(gate, "A", "a1", 100);
  for (let i = 0; i < 50; i++) {
    clock.now += 1;
    assert.deepEqual(gate.summaries(), []);
  }
  clock.now += auditFlushMs;
  assert.deepEqual(gate.summaries().map((r) => r.count), [100]);
  admitted(gate, "A", "a1", 1_000);
  assert.equal(gate.summaries().length, 0);
  assert.equal(gate.summaries(true)[0].tenantId, "A");
});

Deno.test("audit gate: idle tenants are dropped on flush", () => {
  const { clock, gate } = gateAt();
  admitted(gate, "A", "a1", 1);
  admitted(gate, "B", "b1", 100);
  clock.now += auditMinuteMs;
  assert.equal(gate.summaries().length, 1);
  assert.equal(gate.tenantCount, 1); // B just had a summary
  clock.now += auditFlushMs;
  gate.summaries();
  assert.equal(gate.tenantCount, 0);
});

Deno.test("audit gate: a flood with a flush forced every millisecond stays within the stated bound", () => {
  const { clock, gate } = gateAt(0);
  const durationMs = 130_000;
  let denialRows = 0;
  let summaryRows = 0;
  let summarised = 0;
  const summarise = (final: boolean) => {
    for (const row of gate.summaries(final)) {
      summaryRows++;
      summarised += row.count;
    }
  };
  for (let t = 0; t < durationMs; t++) {
    clock.now = t;
    for (let i = 0; i < 20; i++) if (gate.admit("A", `a${i % 3}`)) denialRows++;
    summarise(false);
  }
  summarise(true);
  assert.equal(denialRows + summarised, 20 * durationMs);
  assert.equal(denialRows, 3 * auditDenialsPerTenantPerMinuteMax); // minutes from 0, 60 and 120 s
  assert.ok(summaryRows <= durationMs / auditFlushMs + 2, `${summaryRows} summaries`);
  assert.ok(denialRows + summaryRows <= auditDenialRowsMax(durationMs));
  assert.equal(auditDenialRowsPerTenantPerSecMax, 25);
});

Deno.test("audit gate: all tenants together are capped per window and per minute", () => {
  const { clock, gate } = gateAt();
  let kept = 0;
  for (let t = 0; t < 4; t++) for (let a = 0; a < 8; a++) kept += admitted(gate, `T${t}`, `a${a}`, 100);
  assert.equal(kept, auditDenialsPerServerPerFlushMax); // two tenants' full windows, nothing for the others
  let minute = kept;
  for (let w = 1; w < auditMinuteMs / auditFlushMs; w++) {
    clock.now += auditFlushMs;
    for (let t = 0; t < 4; t++) for (let a = 0; a < 8; a++) minute += admitted(gate, `T${t}`, `a${a}`, 100);
  }
  assert.equal(minute, auditDenialsPerServerPerMinuteMax);
  assert.equal(gate.admittedTotal, minute);
  assert.equal(gate.admittedTotal + gate.suppressedTotal, (auditMinuteMs / auditFlushMs) * 4 * 8 * 100);
});

Deno.test("audit gate: summaries are capped per flush for all tenants; the waiting ones go first, counts exact", () => {
  const { clock, gate } = gateAt();
  const tenants = 3 * auditSummariesPerFlushMax;
  const suppressed = new Map<string, number>();
  for (let t = 0; t < tenants; t++) suppressed.set(`T${t}`, 100 - admitted(gate, `T${t}`, "a", 100));
  const first = gate.summaries();
  assert.equal(first.length, auditSummariesPerFlushMax);
  assert.deepEqual(gate.summaries(), [], "a forced flush in the same window writes none");
  clock.now += auditFlushMs;
  admitted(gate, first[0].tenantId, "a", auditDenialsPerAgentPerFlushMax + 1); // one more suppressed, due again
  suppressed.set(first[0].tenantId, 1);
  const second = gate.summaries();
  assert.equal(second.length, auditSummariesPerFlushMax);
  const firstIds = new Set(first.map((r) => r.tenantId));
  assert.ok(second.every((r) => !firstIds.has(r.tenantId)), "tenants never summarised go before the others");
  const rest = gate.summaries(true);
  assert.equal(rest.length, tenants - 2 * auditSummariesPerFlushMax + 1, "final: every pending one");
  for (const r of [...second, ...rest]) assert.equal(r.count, suppressed.get(r.tenantId), r.tenantId);
  const written = [...first, ...second, ...rest].reduce((n, r) => n + r.count, 0);
  assert.equal(written, gate.suppressedTotal);
  assert.equal(gate.admittedTotal + gate.suppressedTotal, tenants * 100 + auditDenialsPerAgentPerFlushMax + 1);
});

Deno.test("audit gate: many tenants flooding with a flush forced every millisecond stay within the server bound", () => {
  const { clock, gate } = gateAt(0);
  const durationMs = 65_000;
  const tenants = 20;
  let rows = 0;
  let summarised = 0;
  let denials = 0;
  for (let t = 0; t < durationMs; t++) {
    clock.now = t;
    for (let i = 0; i < 40; i++, denials++) if (gate.admit(`T${i % tenants}`, `a${i % 7}`)) rows++;
    for (const row of gate.summaries()) {
      rows++;
      summarised += row.count;
    }
  }
  assert.ok(rows <= auditDenialRowsServerMax(durationMs, true), `${rows} rows`);
  assert.ok(rows <= auditDenialRowsServerMax(durationMs), `${rows} rows`);
  const final = gate.summaries(true);
  assert.ok(final.length <= tenants);
  summarised += final.reduce((n, r) => n + r.count, 0);
  assert.equal(gate.admittedTotal + summarised, denials, "every denial is a row or in a summary's count");
  assert.equal(auditDenialRowsPerServerPerSecMax, 80);
});
