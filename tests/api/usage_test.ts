/**
 * `GET /v1/tenants/:id/usage`: live agents, spawns, CPU ms, syscalls, disk
 * and egress bytes of the current UTC day; admin or the tenant itself,
 * another tenant a 404.
 */
import assert from "node:assert/strict";
import { periodStart } from "../../api/usage.ts";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";

async function usage(s: TestServer, id: string, key: string) {
  const res = await s.req(`/v1/tenants/${id}/usage`, { key });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

Deno.test("usage: live agents, spawns, CPU, syscalls, disk and egress of today; admin or the tenant only", async () => {
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("x".repeat(1000)),
  );
  const url = `http://127.0.0.1:${upstream.addr.port}/`;
  try {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const other = await createTenant(s, "other");
      const zero = await usage(s, t.id, t.apiKey);
      assert.deepEqual(
        [zero.liveAgents, zero.spawns, zero.cpuMs, zero.syscalls, zero.diskBytes, zero.egressBytes],
        [0, 0, 0, 0, 0, 0],
      );
      assert.equal(zero.period.start, periodStart(Date.now()));
      const policy = {
        version: 1,
        rules: [
          { effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.1/32"], ports: [upstream.addr.port] },
          { effect: "allow", calls: ["io.write", "time.now"] },
        ],
      };
      const put = await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: policy });
      assert.equal(put.status, 200, await put.clone().text());
      await put.body?.cancel();
      const code = `export default async () => (await sys.net.fetch(${JSON.stringify(url)})).text().length`;
      const ran = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code, capabilities: ["net.fetch"], wait: true },
      });
      const done = await ran.json();
      assert.equal(ran.status, 200, JSON.stringify(done));
      assert.equal(done.result, 1000);
      const spawned = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code: "await new Promise(() => {})" },
      });
      const { id } = await spawned.json();
      const now = await usage(s, t.id, t.apiKey);
      assert.equal(now.liveAgents, 1);
      assert.equal(now.spawns, 2);
      assert.ok(now.syscalls >= 1, JSON.stringify(now));
      assert.ok(now.egressBytes >= 1000, JSON.stringify(now));
      assert.ok(now.cpuMs >= 0);
      assert.ok(now.egressSince >= now.period.start);
      assert.equal((await usage(s, t.id, adminKey)).spawns, 2, "the admin sees it too");
      assert.equal((await usage(s, other.id, other.apiKey)).spawns, 0, "tenants are apart");
      const theirs = await s.req(`/v1/tenants/${t.id}/usage`, { key: other.apiKey });
      assert.equal(theirs.status, 404);
      await theirs.body?.cancel();
      const kill = await s.req(`/v1/agents/${id}`, { method: "DELETE", key: t.apiKey });
      await kill.body?.cancel();
      await (await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey })).body?.cancel();
      const after = await usage(s, t.id, t.apiKey);
      assert.equal(after.liveAgents, 0);
      assert.equal(after.spawns, 2);
      assert.ok(after.syscalls >= now.syscalls, "ended agents count in their records");
    });
  } finally {
    await upstream.shutdown();
  }
});
