/**
 * Red-team finding: egress slots. 32 agents × 8 slow fetches took all 256
 * server-wide `net.fetch` slots, and another tenant got `EAGAIN server
 * egress is busy`. Containment: a tenant holds at most its share
 * (`fetchesPerTenantMaxDefault`, a quarter of the total) — here 9 agents ×
 * 8 fetches to a listener that holds every connection open: exactly the
 * share connects, the rest is `EAGAIN` naming the share, and another tenant
 * still gets a slot. Counted, not timed; the bystander's p99 is printed.
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";
import { fetchesPerAgentMaxDefault, fetchesPerTenantMaxDefault } from "../../sandbox/net/mod.ts";
import { agentRoundTrips, reportRatio } from "./bystander.ts";
import { until } from "./helpers.ts";
import { countingListener } from "./listeners.ts";

const loopbackPort = (port: number) => ({
  version: 1,
  rules: [
    { effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.1/32"], ports: [port] },
    { effect: "allow", calls: ["io.write", "time.now"] },
  ],
});

const fetchAll = (url: string, n: number) =>
  `export default async () => {
    const out = await Promise.all(Array.from({ length: ${n} }, () =>
      sys.net.fetch(${
    JSON.stringify(url)
  }, { timeoutMs: 30000 }).then((r) => String(r.status), (e) => e.code + ": " + e.message)));
    return out;
  }`;

Deno.test("security egress share: one tenant holds at most its share of egress slots; another still gets one", async () => {
  const slow = countingListener(true);
  const fast = countingListener();
  const agents = Math.ceil(fetchesPerTenantMaxDefault / fetchesPerAgentMaxDefault) + 1;
  const tries = agents * fetchesPerAgentMaxDefault;
  try {
    await withRuntime(async (runtime) => {
      runtime.policy.setTenant("hog", loopbackPort(slow.port));
      runtime.policy.setTenant("other", loopbackPort(fast.port));
      let refused = 0;
      runtime.subscribe((e) => {
        if (e.type === "syscall" && e.tenant === "hog" && e.call === "net.fetch" && e.errno === "EAGAIN") refused++;
      });
      const quiet = await agentRoundTrips(runtime, "bystander");
      const hogs = [];
      for (let i = 0; i < agents; i++) {
        hogs.push(
          await runtime.spawn({
            tenant: "hog",
            capabilities: ["net.fetch"],
            code: fetchAll(`http://127.0.0.1:${slow.port}/`, fetchesPerAgentMaxDefault),
          }),
        );
      }
      // Every try has either connected (and is held open) or been refused.
      await until(() => slow.accepted + refused >= tries, 60_000);
      const during = await agentRoundTrips(runtime, "bystander");
      const other = await runtime.run({
        tenant: "other",
        capabilities: ["net.fetch"],
        code: fetchAll(`http://127.0.0.1:${fast.port}/`, 1),
      });
      assert.equal(slow.accepted, fetchesPerTenantMaxDefault, "connections the tenant holds at once");
      assert.equal(refused, tries - fetchesPerTenantMaxDefault);
      assert.equal(other.reason, "exit", other.message);
      assert.deepEqual(other.result, ["200"], "another tenant still gets a slot");
      assert.equal(fast.accepted, 1);
      slow.release();
      const results = (await Promise.all(hogs.map((h) => h.done))).flatMap((r) => r.result as string[]);
      assert.equal(results.filter((r) => r === "200").length, fetchesPerTenantMaxDefault);
      const eagain = results.filter((r) => r.startsWith("EAGAIN"));
      assert.equal(eagain.length, tries - fetchesPerTenantMaxDefault);
      for (const r of eagain) assert.match(r, /share of \d+ server egress slots/);
      reportRatio(`${agents} agents × ${fetchesPerAgentMaxDefault} slow fetches`, quiet, during);
    });
  } finally {
    await slow.close();
    await fast.close();
  }
});
