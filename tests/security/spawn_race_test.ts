/**
 * A spawn bomb fired *concurrently* over HTTP must not bypass
 * `agentsConcurrentMax`: at most the quota is created, the rest get 429
 * `quota_agents`.
 *
 * Was: `Service.spawn` (api/service.ts) counts the tenant's entries in
 * `#live` and only inserts the new agent after `await admission.acquire()`
 * and `await runtime.spawn()`, so every request in flight passes the check
 * (the `rssMbTotal` check has the same race). Fix: reserve the slot
 * synchronously before the first `await` (a per-tenant pending counter
 * counted with `#live`, released in `finally`) — done.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "../api/helpers.ts";

Deno.test("security http 30 concurrent spawns against agentsConcurrentMax 2 create at most 2", async () => {
  await withServer(async (s) => {
    const bomber = await createTenant(s, "bomber", { agentsConcurrentMax: 2 });
    const spawns = await Promise.all(Array.from({ length: 30 }, async () => {
      const r = await s.req("/v1/agents", {
        method: "POST",
        key: bomber.apiKey,
        json: { code: "await new Promise(() => {})", limits: { wallMs: 20_000 } },
      });
      return { status: r.status, body: await r.json() };
    }));
    const statuses = spawns.map((x) => x.status);
    const created = statuses.filter((x) => x === 201).length;
    assert.ok(created <= 2, `created ${created} agents with agentsConcurrentMax 2: ${JSON.stringify(statuses)}`);
    assert.equal(statuses.filter((x) => x === 429).length, 30 - created);
  });
});
