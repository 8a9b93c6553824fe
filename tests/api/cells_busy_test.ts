import assert from "node:assert/strict";
import { createTenant, withServer } from "./helpers.ts";

Deno.test("cells busy: spawns that find no cell start within the wait get 503 cells_busy with Retry-After, never 500 or crash, and hold nothing", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "busy", { agentsConcurrentMax: 32, spawnsPerSec: 1000 });
    // One start at a time, a 1 ms wait, no warm cells: a cold start takes tens of ms, so of ten spawns sent at once
    // at least one must give up waiting.
    const answers = await Promise.all(Array.from({ length: 10 }, () =>
      s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code: "export default () => 1", wait: true },
      }).then(async (res) => ({
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
        body: await res.json(),
      }))));
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length >= 1, JSON.stringify(answers.map((a) => a.status)));
    for (const a of refused) {
      assert.equal(a.body.error.code, "cells_busy", JSON.stringify(a.body));
      assert.equal(a.retryAfter, "1");
    }
    for (const a of answers.filter((a) => a.status !== 503)) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.reason, "exit", JSON.stringify(a.body));
    }
    const list = await (await s.req("/v1/agents?limit=100", { key: t.apiKey })).json();
    assert.equal(list.agents.filter((a: { reason: string }) => a.reason === "crash").length, 0);
    // A `wait: true` answer is the durable record; the agent's slot is given back once its cleanup is done.
    const deadline = Date.now() + 20_000;
    while (s.runtime.agents().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.runtime.agents().length, 0, "no agent left");
    assert.equal(s.runtime.tenants.usage(t.id).agents, 0, "no quota slot held");
  }, { poolSize: 0, cells: { startsMax: 1, startWaitMsMax: 1 } });
});
