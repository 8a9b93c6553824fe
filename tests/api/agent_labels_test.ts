/**
 * Labels on agents: set at spawn (validated as sessions' are), in the view
 * and the record, replaced by `PATCH`, and `GET /v1/agents?label=k=v`
 * (repeatable, every one must match; `?label=k` any value).
 */
import assert from "node:assert/strict";
import { createTenant, type TestServer, withServer } from "./helpers.ts";

async function run(s: TestServer, key: string, labels: Record<string, string>) {
  const res = await s.req("/v1/agents", { method: "POST", key, json: { code: "1", wait: true, labels } });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body as { id: string; labels: Record<string, string> };
}

async function ids(s: TestServer, key: string, query: string): Promise<string[]> {
  const res = await s.req(`/v1/agents?${query}`, { key });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.agents.map((a: { id: string }) => a.id).sort();
}

Deno.test("agent labels: set at spawn, shown, filtered with AND; PATCH replaces them", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const other = await createTenant(s, "other");
    const a = await run(s, t.apiKey, { team: "data", env: "prod" });
    const b = await run(s, t.apiKey, { team: "data", env: "dev" });
    const c = await run(s, t.apiKey, { team: "web" });
    await run(s, other.apiKey, { team: "data" });
    assert.deepEqual(a.labels, { team: "data", env: "prod" });
    assert.deepEqual((await (await s.req(`/v1/agents/${a.id}`, { key: t.apiKey })).json()).labels, a.labels);
    assert.deepEqual(await ids(s, t.apiKey, "label=team=data"), [a.id, b.id].sort());
    assert.deepEqual(await ids(s, t.apiKey, "label=team=data&label=env=prod"), [a.id]);
    assert.deepEqual(await ids(s, t.apiKey, "label=env"), [a.id, b.id].sort());
    assert.deepEqual(await ids(s, t.apiKey, "label=team=nobody"), []);
    assert.deepEqual(await ids(s, t.apiKey, ""), [a.id, b.id, c.id].sort());
    const patched = await s.req(`/v1/agents/${c.id}`, {
      method: "PATCH",
      key: t.apiKey,
      json: { labels: { team: "data" } },
    });
    assert.equal(patched.status, 200, await patched.clone().text());
    assert.deepEqual((await patched.json()).labels, { team: "data" });
    assert.deepEqual(await ids(s, t.apiKey, "label=team=data"), [a.id, b.id, c.id].sort());
  });
});

Deno.test("agent labels: bad labels and filters are 400s", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    for (const labels of [{ "bad key": "v" }, { k: "x".repeat(257) }, many, { k: 5 }]) {
      const res = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: "1", labels } });
      assert.equal(res.status, 400, JSON.stringify(labels));
      await res.body?.cancel();
    }
    const filters = Array.from({ length: 17 }, (_, i) => `label=k${i}`).join("&");
    for (const q of [filters, "label=", `label=${"x".repeat(400)}`]) {
      const res = await s.req(`/v1/agents?${q}`, { key: t.apiKey });
      const body = await res.json();
      assert.equal(res.status, 400, q);
      assert.match(body.error.message, /label/);
    }
  });
});
