/**
 * Policies over HTTP with real cells: tenant policy, agent policy
 * (intersection), live update, explain, invalid documents.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, withServer } from "./helpers.ts";

const readsOnlyData = {
  version: 1,
  rules: [
    { id: "read-data", effect: "allow", calls: ["fs.readText", "fs.stat"], paths: ["data/**"] },
    { id: "sdk", effect: "allow", calls: ["io.write", "proc.info", "time.now"] },
    { id: "no-secrets", effect: "deny", calls: ["fs.*"], paths: ["data/secret*"] },
  ],
};

const probe = `export default async () => {
  const r = {};
  for (const [name, fn] of [
    ["readData", () => sys.fs.readText("data/a.txt")],
    ["readSecret", () => sys.fs.readText("data/secret.txt")],
    ["readOther", () => sys.fs.readText("other.txt")],
    ["writeData", () => sys.fs.writeText("data/b.txt", "x")],
  ]) {
    try { r[name] = await fn(); } catch (e) { r[name] = e.code; }
  }
  return r;
}`;
const files = { "data/a.txt": "A", "data/secret.txt": "S", "other.txt": "O" };
const caps = ["fs.read", "fs.write"];

Deno.test("policy: a tenant policy decides every call; deny overrides allow; default deny", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "pol");
    const put = await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: readsOnlyData });
    assert.equal(put.status, 200);
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: probe, files, capabilities: caps, wait: true },
    });
    const done = await res.json();
    assert.deepEqual(done.result, { readData: "A", readSecret: "EPERM", readOther: "EPERM", writeData: "EPERM" });
    const explain = await (await s.req("/v1/policy/explain", {
      method: "POST",
      key: t.apiKey,
      json: { request: { call: "fs.readText", path: "data/secret.txt" } },
    })).json();
    assert.equal(explain.effect, "deny");
    assert.equal(explain.ruleId, "no-secrets");
    const allowed = await (await s.req("/v1/policy/explain", {
      method: "POST",
      key: t.apiKey,
      json: { request: { call: "fs.readText", path: "data/a.txt" } },
    })).json();
    assert.deepEqual([allowed.effect, allowed.ruleId], ["allow", "read-data"]);
    const audit = await (await s.req("/v1/audit?action=policy.changed", { key: adminKey })).json();
    assert.equal(audit.records.length, 1);
    const denials = await (await s.req("/v1/audit?action=denial", { key: t.apiKey })).json();
    assert.ok(denials.records.length >= 3);
    // Tenants cannot set policies; only the admin can.
    assert.equal((await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: t.apiKey, json: null })).status, 403);
  });
});

Deno.test("policy: an agent's own policy intersects with its tenant's", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "inter");
    const agentPolicy = { version: 1, rules: [{ effect: "allow", calls: ["fs.readText", "io.write"] }] };
    const done = await (await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: probe, files, capabilities: caps, policy: agentPolicy, wait: true },
    })).json();
    assert.deepEqual(done.result, { readData: "A", readSecret: "S", readOther: "O", writeData: "EPERM" });
  });
});

Deno.test("policy: a live update takes effect on the next syscall", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "live");
    const code = `export default async () => {
      const seen = [];
      for (let i = 0; i < 400; i++) {
        try { await sys.fs.readText("data/a.txt"); seen.push("ok"); }
        catch (e) { seen.push(e.code); break; }
        await new Promise((r) => setTimeout(r, 10));
      }
      return seen;
    }`;
    const spawned = await (await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code, files, capabilities: caps },
    })).json();
    await new Promise((r) => setTimeout(r, 300));
    const deny = { version: 1, rules: [{ effect: "deny", calls: ["fs.*"] }, { effect: "allow", calls: ["*"] }] };
    const put = await s.req(`/v1/agents/${spawned.id}/policy`, { method: "PUT", key: t.apiKey, json: deny });
    assert.equal(put.status, 200);
    const done = await (await s.req(`/v1/agents/${spawned.id}/wait`, { key: t.apiKey })).json();
    const seen = done.result as string[];
    assert.ok(seen.length >= 2, JSON.stringify(seen));
    assert.equal(seen.at(-1), "EPERM");
    assert.ok(seen.slice(0, -1).every((x) => x === "ok"));
  });
});

Deno.test("policy: invalid and hostile documents are 400, never applied", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "badpol");
    for (
      const doc of [
        { version: 2, rules: [] },
        { version: 1, rules: [{ effect: "maybe", calls: ["*"] }] },
        { version: 1, rules: [{ effect: "allow", calls: ["*"], extra: 1 }] },
        { version: 1, rules: Array.from({ length: 1001 }, () => ({ effect: "allow", calls: ["*"] })) },
      ]
    ) {
      const put = await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: doc });
      assert.equal(put.status, 400, JSON.stringify(doc).slice(0, 80));
      assert.equal((await put.json()).error.code, "invalid_policy");
      const spawn = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: "1", policy: doc } });
      assert.equal(spawn.status, 400);
    }
    // A prototype key is either refused or inert data; it never reaches a prototype.
    const proto = await s.req(`/v1/tenants/${t.id}/policy`, {
      method: "PUT",
      key: adminKey,
      headers: { "content-type": "application/json" },
      body: '{"version":1,"rules":[{"effect":"allow","calls":["*"]}],"__proto__":{"polluted":true}}',
    });
    assert.ok(proto.status === 200 || proto.status === 400);
    await proto.body?.cancel();
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    const ok = await (await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: "export default () => 1", wait: true },
    })).json();
    assert.equal(ok.result, 1);
  });
});
