/**
 * `PATCH /v1/agents/:id {wallMs}`: a running agent's wall-clock limit is
 * extended or shortened within its tenant's ceiling (the supervisor's
 * timer re-armed); an ended agent is a 409; above the ceiling a 400 naming it.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";

const forever = "await new Promise(() => {})";

async function spawn(s: TestServer, key: string, wallMs: number): Promise<string> {
  const res = await s.req("/v1/agents", { method: "POST", key, json: { code: forever, limits: { wallMs } } });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.id;
}

function patch(s: TestServer, key: string, id: string, json: unknown) {
  return s.req(`/v1/agents/${id}`, { method: "PATCH", key, json });
}

Deno.test("agent patch: shortening wallMs re-arms the timer (the agent ends with reason timeout)", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const id = await spawn(s, t.apiKey, 600_000);
    const res = await patch(s, t.apiKey, id, { wallMs: 1 });
    const view = await res.json();
    assert.equal(res.status, 200, JSON.stringify(view));
    assert.equal(view.limits.wallMs, 1);
    const done = await (await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey })).json();
    assert.equal(done.reason, "timeout");
    assert.equal(done.limits.wallMs, 1, "the record keeps the new limit");
    const late = await patch(s, t.apiKey, id, { wallMs: 5000 });
    assert.equal(late.status, 409);
    assert.equal((await late.json()).error.code, "agent_not_running");
    const audit = await (await s.req("/v1/audit?action=agent.updated", { key: adminKey })).json();
    assert.equal(audit.records.length, 1);
    assert.deepEqual(audit.records[0].detail, { wallMs: 1, previousWallMs: 600_000 });
  });
});

Deno.test("agent patch: extending wallMs keeps the agent past its first limit", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const spawnedAt = Date.now();
    const id = await spawn(s, t.apiKey, 3000);
    const res = await patch(s, t.apiKey, id, { wallMs: 600_000 });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    // Past the first limit (bounded wait on the clock, not on the agent): it is still running.
    while (Date.now() < spawnedAt + 4000) await new Promise((r) => setTimeout(r, 200));
    const view = await (await s.req(`/v1/agents/${id}`, { key: t.apiKey })).json();
    assert.equal(view.state, "Running");
    assert.equal(view.limits.wallMs, 600_000);
    const kill = await s.req(`/v1/agents/${id}`, { method: "DELETE", key: t.apiKey });
    await kill.body?.cancel();
    assert.equal((await (await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey })).json()).reason, "killed");
  });
});

Deno.test("agent patch: above the tenant's ceiling is a 400 naming it; bad bodies and other tenants refused", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "capped", { wallMs: 10_000 });
    const other = await createTenant(s, "other");
    const id = await spawn(s, t.apiKey, 5000);
    const over = await patch(s, t.apiKey, id, { wallMs: 20_000 });
    const body = await over.json();
    assert.equal(over.status, 400);
    assert.equal(body.error.code, "limit_above_ceiling");
    assert.match(body.error.message, /quotas\.wallMs\) of 10000/);
    for (const json of [{ wallMs: 0 }, { wallMs: "5" }, { cpuMs: 5 }]) {
      const res = await patch(s, t.apiKey, id, json);
      assert.equal(res.status, 400, JSON.stringify(json));
      await res.body?.cancel();
    }
    const theirs = await patch(s, other.apiKey, id, { wallMs: 6000 });
    assert.equal(theirs.status, 404);
    await theirs.body?.cancel();
    const kill = await s.req(`/v1/agents/${id}`, { method: "DELETE", key: t.apiKey });
    await kill.body?.cancel();
  });
});
