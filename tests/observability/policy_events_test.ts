/**
 * Every policy epoch bump is a `policy` event: a live tenant policy (admin),
 * a live agent policy (on that agent's stream too), and the stored policies
 * loaded at boot.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, withServer } from "../api/helpers.ts";

const allowAll = { version: 1, rules: [{ effect: "allow", calls: ["*"] }] };
const waitForever = "export default () => new Promise(() => {})";

Deno.test("policy events: tenant and agent policy changes are events with the new epoch", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-policy-events-" });
  let tenantId = "";
  await withServer(async (s) => {
    const t = await createTenant(s, "policy-events");
    tenantId = t.id;
    const sub = s.service.feed.subscribe({ tenant: t.id, types: ["policy"] });
    const put = await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: allowAll });
    assert.equal(put.status, 200);
    const tenantEpoch = (await put.json()).epoch;
    const agent = await (await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: waitForever } }))
      .json();
    const own = await s.req(`/v1/agents/${agent.id}/policy`, { method: "PUT", key: t.apiKey, json: allowAll });
    assert.equal(own.status, 200);
    const agentEpoch = (await own.json()).epoch;
    const { events } = sub.take();
    assert.deepEqual(events.map((e) => [e.data, e.agentId]), [
      [{ scope: "tenant", epoch: tenantEpoch }, null],
      [{ scope: "agent", epoch: agentEpoch }, agent.id],
    ]);
    const killed = await s.req(`/v1/agents/${agent.id}`, { method: "DELETE", key: t.apiKey });
    await killed.body?.cancel();
  }, { dataDir, keep: true });
  await withServer((s) => {
    const { events } = s.service.feed.subscribe({ tenant: tenantId, types: ["policy"] }, 0).take();
    assert.equal(events.length, 1, "the stored policy, loaded at boot");
    assert.equal(events[0].data.scope, "tenant");
    assert.equal(events[0].data.epoch, s.runtime.policy.epoch);
    return Promise.resolve();
  }, { dataDir });
});
