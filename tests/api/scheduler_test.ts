/**
 * The scheduler over HTTP: policy switch at run time (admin only, audited,
 * nothing lost), and the admission queue (spawns wait instead of failing).
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, withServer } from "./helpers.ts";

Deno.test("scheduler: admin reads and switches the policy; tenants cannot; bad input is 400", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sch");
    const state = await (await s.req("/v1/scheduler", { key: adminKey })).json();
    assert.equal(state.policy, "fair");
    assert.equal((await s.req("/v1/scheduler", { key: t.apiKey })).status, 403);
    for (const policy of ["round-robin", "priority", "fair"]) {
      const put = await s.req("/v1/scheduler", { method: "PUT", key: adminKey, json: { policy } });
      assert.equal(put.status, 200);
      assert.equal((await (await s.req("/v1/scheduler", { key: adminKey })).json()).policy, policy);
    }
    const bad = await s.req("/v1/scheduler", { method: "PUT", key: adminKey, json: { policy: "lottery" } });
    assert.equal(bad.status, 400);
    const audit = await (await s.req("/v1/audit?action=scheduler.changed", { key: adminKey })).json();
    assert.equal(audit.records.length, 3);
  });
});

Deno.test("scheduler: switching policy while syscalls are queued loses none", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "busy");
    const code = `export default async () => {
      let ok = 0;
      for (let round = 0; round < 40; round++) {
        const out = await sys.batch(Array.from({ length: 200 }, () => ({ call: "time.now" })));
        ok += out.filter((o) => o.ok).length;
        await Promise.all(Array.from({ length: 50 }, () => sys.time.now().then(() => ok++)));
      }
      return ok;
    }`;
    const runs = [0, 1, 2].map(() =>
      s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code, wait: true, priority: 10 } }).then((r) =>
        r.json()
      )
    );
    for (const policy of ["round-robin", "priority", "fair", "round-robin", "fair"]) {
      await new Promise((r) => setTimeout(r, 40));
      await (await s.req("/v1/scheduler", { method: "PUT", key: adminKey, json: { policy } })).json();
    }
    for (const done of await Promise.all(runs)) {
      assert.equal(done.reason, "exit", done.message);
      assert.equal(done.result, 40 * 250);
    }
  });
});

Deno.test("admission: at capacity a spawn waits for a slot instead of failing", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "holder");
    const b = await createTenant(s, "waiter");
    const first = await (await s.req("/v1/agents", {
      method: "POST",
      key: a.apiKey,
      json: { code: "await new Promise(() => {})" },
    })).json();
    let settled = false;
    const second = s.req("/v1/agents", {
      method: "POST",
      key: b.apiKey,
      json: { code: "export default () => 'admitted'", wait: true },
    }).then(async (r) => {
      settled = true;
      return { status: r.status, body: await r.json() };
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false, "the second spawn waits while the only slot is taken");
    const queued = await (await s.req("/v1/scheduler", { key: adminKey })).json();
    assert.equal(queued.admission.waiting, 1);
    await (await s.req(`/v1/agents/${first.id}`, { method: "DELETE", key: a.apiKey })).json();
    const done = await second;
    assert.equal(done.status, 200);
    assert.equal(done.body.result, "admitted");
  }, { agentsMax: 1 });
});
