/**
 * A real denial flood against a real server: three tenants, two agents each,
 * denied syscalls as fast as they go for a bounded time. The audit rows
 * written stay within the server-wide bound the constants state, and the
 * suppressed counts are exact: denials − rows written.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { auditDenialRowsMax, auditDenialRowsServerMax } from "../../api/audit_denials.ts";
import { auditDenialRowBytesMax, auditDenialsPerServerPerMinuteMax } from "../../api/limits.ts";
import { adminKey, createTenant, withServer } from "./helpers.ts";

const floodMs = 2500;
const tenants = 3;
const agentsPerTenant = 2;

/** Denied calls (no `fs.read` capability), 64 in flight, until `floodMs` have passed; returns how many were refused. */
const flood = `export default async () => {
  const end = Date.now() + ${floodMs};
  let refused = 0;
  while (Date.now() < end) {
    const calls = [];
    for (let i = 0; i < 64; i++) calls.push(sys.fs.readText("secret.txt").then(() => 0, () => 1));
    for (const r of await Promise.all(calls)) refused += r;
  }
  return { refused };
};`;

interface Tally {
  denialRows: number;
  summaryRows: number;
  suppressed: number;
  bytes: number;
}

/** What the audit log holds of each tenant's denials, read from the SQLite file. */
function tally(dbPath: string, tenantIds: string[]): Map<string, Tally> {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const out = new Map<string, Tally>();
    for (const id of tenantIds) {
      const row = db.prepare(
        `SELECT
           sum(action = 'denial') AS denialRows,
           sum(action = 'denial.suppressed') AS summaryRows,
           sum(CASE WHEN action = 'denial.suppressed' THEN json_extract(detail, '$.count') ELSE 0 END) AS suppressed,
           sum(length(CAST(at AS BLOB)) + length(CAST(tenant_id AS BLOB)) + length(CAST(actor AS BLOB)) +
               length(CAST(action AS BLOB)) + ifnull(length(CAST(subject AS BLOB)), 0) +
               ifnull(length(CAST(detail AS BLOB)), 0) + 8) AS bytes
         FROM audit WHERE tenant_id = ? AND action IN ('denial', 'denial.suppressed')`,
      ).get(id) as Record<string, number | null>;
      out.set(id, {
        denialRows: Number(row.denialRows ?? 0),
        summaryRows: Number(row.summaryRows ?? 0),
        suppressed: Number(row.suppressed ?? 0),
        bytes: Number(row.bytes ?? 0),
      });
    }
    return out;
  } finally {
    db.close();
  }
}

Deno.test("audit flood: rows stay within the server-wide bound, suppressed counts are exact", async () => {
  await withServer(async (s) => {
    const startedMs = performance.now(); // the gate is fresh: no window is open before this
    const spawned: { tenantId: string; id: string; key: string }[] = [];
    for (let t = 0; t < tenants; t++) {
      const tenant = await createTenant(s, `flood-${t}`);
      for (let a = 0; a < agentsPerTenant; a++) {
        const res = await s.req("/v1/agents", {
          method: "POST",
          key: tenant.apiKey,
          json: { code: flood, capabilities: [], limits: { wallMs: floodMs + 20_000, cpuMs: floodMs + 20_000 } },
        });
        assert.equal(res.status, 201, await res.clone().text());
        spawned.push({ tenantId: tenant.id, id: (await res.json()).id, key: tenant.apiKey });
      }
    }
    const denials = new Map<string, number>();
    for (const agent of spawned) {
      const done = await (await s.req(`/v1/agents/${agent.id}/wait`, { key: agent.key })).json();
      assert.equal(done.reason, "exit", JSON.stringify(done));
      assert.equal(done.usage.denials, done.result.refused, "every refused call is a denial the kernel counted");
      denials.set(agent.tenantId, (denials.get(agent.tenantId) ?? 0) + done.usage.denials);
    }
    // The shutdown flush: every pending count is written now (one more summary per tenant at most).
    s.service.flushAudit(true);
    const elapsedMs = performance.now() - startedMs;

    const ids = [...denials.keys()];
    const audit = tally(`${s.dataDir}/agentos.db`, ids);
    let rows = 0;
    let bytes = 0;
    let denialRows = 0;
    for (const id of ids) {
      const t = audit.get(id)!;
      assert.equal(t.suppressed, denials.get(id)! - t.denialRows, `tenant ${id}: suppressed = denials − rows written`);
      assert.ok(
        t.denialRows + t.summaryRows <= auditDenialRowsMax(elapsedMs, true) + 1,
        `tenant ${id}: ${t.denialRows} + ${t.summaryRows} rows in ${elapsedMs} ms`,
      );
      rows += t.denialRows + t.summaryRows;
      bytes += t.bytes;
      denialRows += t.denialRows;
    }
    const total = [...denials.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > denialRows, `a flood: ${total} denials, ${denialRows} rows`);
    assert.equal(s.service.denialAudit.admittedTotal, denialRows);
    assert.equal(s.service.denialAudit.suppressedTotal, total - denialRows);
    const metrics = await (await s.req("/metrics", { key: adminKey })).text();
    const counted = [...metrics.matchAll(/^agentos_denials_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + +m[1], 0);
    assert.equal(counted, total, "the kernel's denial counter agrees");

    const rowsMax = auditDenialRowsServerMax(elapsedMs, true) + tenants;
    assert.ok(denialRows <= auditDenialsPerServerPerMinuteMax, `${denialRows} denial rows in under a minute`);
    assert.ok(rows <= rowsMax, `${rows} rows in ${Math.round(elapsedMs)} ms, bound ${rowsMax}`);
    assert.ok(bytes <= rows * auditDenialRowBytesMax, `${bytes} bytes in ${rows} rows`);
    console.log(
      `flood: ${total} denials in ${Math.round(elapsedMs)} ms → ${denialRows} denial rows + ${rows - denialRows} ` +
        `summaries (${bytes} bytes); bound ${rowsMax} rows, ${rowsMax * auditDenialRowBytesMax} bytes`,
    );
  });
});
