/**
 * Several API keys per tenant: names, expiry, last use, rotation with an
 * overlap window, revocation one by one, `key_expired`, who may manage
 * them, and that they survive a restart (stored hashed, durable before the
 * 2xx).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";

type Key = { id: string; name: string; prefix: string; expiresAt: string | null; expired: boolean; current: boolean };

async function newKey(s: TestServer, tenantId: string, key: string, json?: unknown) {
  const res = await s.req(`/v1/tenants/${tenantId}/keys`, { method: "POST", key, json });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body as { id: string; apiKey: string; key: Key; expiring: number };
}

async function keys(s: TestServer, tenantId: string, key: string): Promise<Key[]> {
  const res = await s.req(`/v1/tenants/${tenantId}/keys`, { key });
  assert.equal(res.status, 200);
  return (await res.json()).keys;
}

async function status(s: TestServer, key: string): Promise<[number, string | undefined]> {
  const res = await s.req("/v1/agents", { key });
  const body = await res.json();
  return [res.status, body.error?.code];
}

Deno.test("keys: several per tenant with names; the old ones stay valid by default; revoked one by one", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const ci = await newKey(s, t.id, t.apiKey, { name: "ci" });
    assert.equal(ci.id, t.id);
    assert.equal(ci.key.name, "ci");
    assert.ok(ci.apiKey.startsWith(ci.key.prefix) && ci.key.prefix.length >= 8);
    assert.deepEqual(await status(s, t.apiKey), [200, undefined], "the first key still works");
    assert.deepEqual(await status(s, ci.apiKey), [200, undefined]);
    const listed = await keys(s, t.id, ci.apiKey);
    assert.deepEqual(listed.map((k) => k.name), ["default", "ci"]);
    assert.deepEqual(listed.map((k) => k.current), [false, true]);
    const used = listed as (Key & { lastUsedAt: string | null })[];
    assert.ok(used.every((k) => k.lastUsedAt !== null), "both keys authenticated a request");
    assert.ok(listed.every((k) => typeof (k as Record<string, unknown>).createdAt === "string"));
    assert.ok(!JSON.stringify(listed).includes(ci.apiKey), "never the secret");
    const first = listed[0];
    const del = await s.req(`/v1/tenants/${t.id}/keys/${first.id}`, { method: "DELETE", key: ci.apiKey });
    assert.equal(del.status, 200, await del.clone().text());
    assert.deepEqual(await status(s, t.apiKey), [401, "unauthorized"]);
    assert.deepEqual(await status(s, ci.apiKey), [200, undefined]);
    const again = await s.req(`/v1/tenants/${t.id}/keys/${first.id}`, { method: "DELETE", key: ci.apiKey });
    assert.equal(again.status, 404);
    await again.body?.cancel();
    const audit = await (await s.req("/v1/audit?action=key.revoked", { key: adminKey })).json();
    assert.equal(audit.records.length, 1);
  });
});

Deno.test("keys: rotation with an overlap window; an expired key is 401 key_expired naming it", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const short = await newKey(s, t.id, adminKey, { name: "short", expiresInSec: 1 });
    assert.ok(short.key.expiresAt !== null);
    const rotated = await newKey(s, t.id, adminKey, { name: "next", overlapSec: 3600 });
    assert.equal(rotated.expiring, 1, "the default key gets the window; the short one keeps its sooner expiry");
    const listed = await keys(s, t.id, adminKey);
    const byName = Object.fromEntries(listed.map((k) => [k.name, k]));
    assert.ok(Date.parse(byName.default.expiresAt!) > Date.now() + 3000 * 1000);
    assert.equal(byName.short.expiresAt, short.key.expiresAt);
    assert.equal(byName.next.expiresAt, null);
    assert.deepEqual(await status(s, t.apiKey), [200, undefined], "within the overlap the old key works");
    // Wait (bounded) for the one-second key to pass its expiry.
    const deadline = Date.now() + 30_000;
    let last: [number, string | undefined] = [0, undefined];
    while (Date.now() < deadline) {
      last = await status(s, short.apiKey);
      if (last[0] === 401) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(last, [401, "key_expired"]);
    const res = await s.req("/v1/agents", { key: short.apiKey });
    assert.match((await res.json()).error.message, /short \(aos_/);
    const now = await newKey(s, t.id, adminKey, { overlapSec: 0 });
    assert.deepEqual(await status(s, t.apiKey), [401, "key_expired"]);
    assert.deepEqual(await status(s, now.apiKey), [200, undefined]);
  });
});

Deno.test("keys: admin or the tenant itself; another tenant gets 404; bad bodies are 400s", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "a");
    const b = await createTenant(s, "b");
    for (const [method, path] of [["GET", `/v1/tenants/${a.id}/keys`], ["POST", `/v1/tenants/${a.id}/keys`]]) {
      const res = await s.req(path, { method, key: b.apiKey });
      assert.equal(res.status, 404, `${method} ${path}`);
      await res.body?.cancel();
    }
    for (const json of [{ name: "" }, { expiresInSec: 0 }, { overlapSec: -1 }, { extra: 1 }]) {
      const res = await s.req(`/v1/tenants/${a.id}/keys`, { method: "POST", key: a.apiKey, json });
      assert.equal(res.status, 400, JSON.stringify(json));
      await res.body?.cancel();
    }
    for (let i = 1; i < 20; i++) await newKey(s, a.id, a.apiKey, { name: `k${i}` });
    const full = await s.req(`/v1/tenants/${a.id}/keys`, { method: "POST", key: a.apiKey, json: { overlapSec: 60 } });
    assert.equal(full.status, 409);
    assert.equal((await full.json()).error.code, "too_many_keys");
    const adminTenant = (await (await s.req("/v1/tenants", { key: adminKey })).json()).tenants
      .find((t: { admin: boolean }) => t.admin);
    const [only] = await keys(s, adminTenant.id, adminKey);
    const last = await s.req(`/v1/tenants/${adminTenant.id}/keys/${only.id}`, { method: "DELETE", key: adminKey });
    assert.equal(last.status, 409);
    assert.equal((await last.json()).error.code, "last_admin_key");
  });
});

Deno.test("keys: stored hashed with their names, and still valid after a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-keys-" });
  try {
    let apiKey = "";
    let tenantId = "";
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      tenantId = t.id;
      apiKey = (await newKey(s, t.id, t.apiKey, { name: "kept" })).apiKey;
    }, { dataDir, keep: true });
    const db = new DatabaseSync(`${dataDir}/agentos.db`, { readOnly: true });
    const rows = db.prepare("SELECT * FROM keys WHERE name = 'kept'").all();
    db.close();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(apiKey), "only the hash is stored");
    await withServer(async (s) => {
      assert.deepEqual(await status(s, apiKey), [200, undefined]);
      assert.deepEqual((await keys(s, tenantId, apiKey)).map((k) => k.name), ["default", "kept"]);
    }, { dataDir });
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
