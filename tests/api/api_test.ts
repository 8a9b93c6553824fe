/**
 * End-to-end tests against a real server on 127.0.0.1 with a real data dir.
 */
import assert from "node:assert/strict";
import { parsePrometheusText } from "../../observability/prom_parse.ts";
import { adminKey, createTenant, withServer } from "./helpers.ts";

const hello = `export default async () => { console.log("hi"); return { answer: 42 }; }`;

Deno.test("api: health, readiness, openapi need no key; everything else does", async () => {
  await withServer(async (s) => {
    assert.equal((await s.req("/healthz")).status, 200);
    assert.equal((await s.req("/readyz")).status, 200);
    const doc = await (await s.req("/openapi.json")).json();
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.paths["/v1/agents"].post.requestBody.content["application/json"].schema.properties.code);
    for (const path of ["/v1/agents", "/v1/tenants", "/v1/events", "/v1/audit", "/metrics"]) {
      const res = await s.req(path);
      assert.equal(res.status, 401, path);
      assert.equal((await res.json()).error.code, "unauthorized");
    }
    assert.equal((await s.req("/v1/agents", { key: "x".repeat(20) })).status, 401);
    assert.equal((await s.req("/nope", { key: adminKey })).status, 404);
  });
});

Deno.test("api: run to completion, async spawn, status, output, kill", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const res = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: hello, wait: true } });
    assert.equal(res.status, 200);
    const done = await res.json();
    // The answer is the durable final record: the same state and endedAt a GET right after returns.
    assert.equal(done.state, "Zombie");
    assert.equal(typeof done.endedAt, "string");
    const after = await (await s.req(`/v1/agents/${done.id}`, { key: t.apiKey })).json();
    assert.deepEqual([after.state, after.endedAt, after.reason], [done.state, done.endedAt, done.reason]);
    assert.equal(done.reason, "exit");
    assert.equal(done.exitCode, 0);
    assert.deepEqual(done.result, { answer: 42 });
    assert.equal(done.stdout, "hi\n");
    assert.equal(typeof done.usage.cpuMs, "number");
    assert.equal(typeof done.usage.peakRssMb, "number");

    const spawned = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: "await new Promise(() => {})" },
    });
    assert.equal(spawned.status, 201);
    const { id, state } = await spawned.json();
    assert.equal(state, "Running");
    const status = await (await s.req(`/v1/agents/${id}`, { key: t.apiKey })).json();
    assert.equal(status.state, "Running");
    const recorded = await (await s.req(`/v1/agents/${done.id}/wait`, { key: t.apiKey })).json();
    assert.equal(recorded.state, "Zombie");
    assert.deepEqual(recorded.result, { answer: 42 });
    assert.equal((await s.req(`/v1/agents/${id}`, { method: "DELETE", key: t.apiKey })).status, 202);
    const killed = await (await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey })).json();
    assert.equal(killed.reason, "killed");
    assert.notEqual(killed.exitCode, 0);
    const out = await (await s.req(`/v1/agents/${done.id}/output`, { key: t.apiKey })).json();
    assert.equal(out.stdout, "hi\n");
    const list = await (await s.req("/v1/agents?limit=1", { key: t.apiKey })).json();
    assert.equal(list.agents.length, 1);
    assert.ok(list.next);
    const page2 = await (await s.req(`/v1/agents?limit=5&cursor=${encodeURIComponent(list.next)}`, { key: t.apiKey }))
      .json();
    assert.equal(page2.agents.length, 1);
    assert.notEqual(page2.agents[0].id, list.agents[0].id);
  });
});

Deno.test("api: tenants never see each other (404, never 403)", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "alpha");
    const b = await createTenant(s, "beta");
    const res = await s.req("/v1/agents", { method: "POST", key: a.apiKey, json: { code: hello, wait: true } });
    const { id } = await res.json();
    for (
      const [method, path] of [["GET", ""], ["DELETE", ""], ["GET", "/output"], ["GET", "/events"], ["GET", "/wait"]]
    ) {
      const r = await s.req(`/v1/agents/${id}${path}`, { method, key: b.apiKey });
      assert.equal(r.status, 404, `${method} ${path}`);
      await r.body?.cancel();
    }
    const list = await (await s.req("/v1/agents", { key: b.apiKey })).json();
    assert.equal(list.agents.length, 0);
    const audit = await (await s.req("/v1/audit", { key: b.apiKey })).json();
    assert.ok(audit.records.every((r: { tenantId: string }) => r.tenantId === b.id));
    const metrics = await (await s.req("/metrics", { key: b.apiKey })).text();
    assert.ok(!metrics.includes(a.id));
    assert.equal((await s.req("/v1/tenants", { key: b.apiKey })).status, 403);
    // The admin sees everything.
    assert.equal((await s.req(`/v1/agents/${id}`, { key: adminKey })).status, 200);
  });
});

Deno.test("api: key rotation with overlapSec 0 retires the old key at once", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "rot");
    const res = await s.req(`/v1/tenants/${t.id}/keys`, { method: "POST", key: adminKey, json: { overlapSec: 0 } });
    assert.equal(res.status, 201);
    const { apiKey } = await res.json();
    assert.equal((await s.req("/v1/agents", { key: t.apiKey })).status, 401);
    assert.equal((await s.req("/v1/agents", { key: apiKey })).status, 200);
    const audit = await (await s.req("/v1/audit?action=key.rotated", { key: adminKey })).json();
    assert.equal(audit.records.length, 1);
  });
});

Deno.test("api: every error status with a machine-readable code", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "errs", { agentsConcurrentMax: 1, cpuMs: 5000 });
    const bad = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: 5 } });
    assert.equal(bad.status, 400);
    const badBody = await bad.json();
    assert.equal(badBody.error.code, "validation_failed");
    assert.ok(Array.isArray(badBody.error.issues));
    const ceiling = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: hello, limits: { cpuMs: 6000 } },
    });
    assert.equal(ceiling.status, 400);
    assert.match((await ceiling.json()).error.message, /cpuMs=6000.*ceiling of 5000/);
    const big = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: "x".repeat(3 * 1024 * 1024) }),
    });
    assert.equal(big.status, 413);
    assert.equal((await s.req("/v1/tenants", { method: "POST", key: adminKey, json: { name: "errs" } })).status, 409);
    const first = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: "await new Promise(() => {})" },
    });
    assert.equal(first.status, 201);
    const second = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: hello } });
    assert.equal(second.status, 429);
    assert.equal(second.headers.get("retry-after"), "1");
    assert.equal((await second.json()).error.code, "quota_agents");
    const notJson = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      body: "{",
      headers: { "content-type": "application/json" },
    });
    assert.equal(notJson.status, 400);
    assert.equal((await notJson.json()).error.code, "invalid_json");
    const audit = await (await s.req("/v1/audit?action=quota.exceeded", { key: t.apiKey })).json();
    assert.equal(audit.records.length, 1);
  });
});

Deno.test("api: 1,000 malformed bodies all get 4xx and the server stays healthy", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "fuzz");
    const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
    const shapes: (() => string)[] = [
      () => JSON.stringify({ code: 1 }),
      () => JSON.stringify({ code: "x", capabilities: "fs.read" }),
      () => JSON.stringify({ code: "x", capabilities: ["root"] }),
      () => JSON.stringify({ code: "x", limits: { heapMb: -1 } }),
      () => JSON.stringify({ code: "x", limits: { wallMs: 1e300 } }),
      () => JSON.stringify({ code: "x", limits: { nope: 1 } }),
      () => JSON.stringify({ code: "x", extra: true }),
      () =>
        JSON.stringify({ code: "x", __proto__: { admin: true } }).replace(
          '"code"',
          '"__proto__":{"admin":true},"code"',
        ),
      () => '{"code":"x","constructor":{"prototype":{"polluted":true}}}',
      () => JSON.stringify({ code: "x", files: { "": "a" } }),
      () => JSON.stringify({ code: "", wait: "yes" }),
      () => JSON.stringify([1, 2, 3]),
      () => JSON.stringify("string"),
      () => "null",
      () => deep(5000),
      () => `{"code":"${"\\u0000".repeat(10)}","lang":"py"}`,
      () => JSON.stringify({ code: "x", limits: { memoryMb: "64" } }),
      () => '{"code": "x",}',
      () => "\u0000\u0001\u0002",
      () => JSON.stringify({ code: "x".repeat(1_100_000) }),
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const res = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        headers: { "content-type": "application/json" },
        body: shapes[i % shapes.length](),
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await res.body?.cancel();
    }
    for (const status of statuses.keys()) assert.ok(status >= 400 && status < 500, `got ${status}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((await s.req("/healthz")).status, 200);
    const ok = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: hello, wait: true } });
    assert.equal((await ok.json()).result.answer, 42);
  });
});

Deno.test("api: /metrics is valid Prometheus text", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "prom");
    await (await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: hello, wait: true } })).json();
    const text = await (await s.req("/metrics", { key: adminKey })).text();
    const families = parsePrometheusText(text);
    assert.ok(families.has("agentos_syscalls_total"));
    assert.ok(families.has("agentos_syscall_latency_seconds"));
    assert.ok(families.has("agentos_agent_exits_total"));
    assert.ok(families.has("agentos_spawn_seconds"));
    const tenantText = await (await s.req("/metrics", { key: t.apiKey })).text();
    parsePrometheusText(tenantText);
    assert.ok(tenantText.includes(t.id));
  });
});
