/**
 * Engine side of the tenant-wide rate fix: a document compiled with a
 * `sharedRateKey` has one set of buckets for every request (and every
 * intersection that holds it); `probe` takes no tokens; `forgetRateKey`
 * drops one key's buckets, never shared ones.
 */
import assert from "node:assert/strict";
import { compilePolicy, evaluate, intersect, probe } from "../../../sandbox/policy/mod.ts";

const rated = (burst: number) => ({
  version: 1,
  rules: [{ id: "clock", effect: "allow", calls: ["time.now"], rate: { perSec: 1, burst } }],
});
const allowAll = { version: 1, rules: [{ effect: "allow", calls: ["*"] }] };
const clock = () => 0;

function allowed(policy: ReturnType<typeof compilePolicy>, rateKey: string, n: number): number {
  let served = 0;
  for (let i = 0; i < n; i++) if (evaluate(policy, { call: "time.now", rateKey }).effect === "allow") served++;
  return served;
}

Deno.test("rate scope: a shared rate key makes a document's buckets one for every request key", () => {
  const tenant = compilePolicy(rated(3), { clock, sharedRateKey: "acme" });
  const agentA = intersect(compilePolicy(allowAll), tenant);
  const agentB = intersect(compilePolicy(allowAll), tenant);
  assert.equal(allowed(agentA, "1", 2), 2);
  assert.equal(allowed(agentB, "2", 5), 1, "agent B shares agent A's buckets through the tenant's document");
  const denied = evaluate(agentA, { call: "time.now", rateKey: "3" });
  assert.deepEqual([denied.effect, denied.ruleId, denied.effect === "deny" && denied.reason], [
    "deny",
    "clock",
    "rate",
  ]);
  // Without a shared key, buckets are per request key (unchanged).
  const perKey = compilePolicy(rated(3), { clock });
  assert.deepEqual([allowed(perKey, "1", 5), allowed(perKey, "2", 5)], [3, 3]);
});

Deno.test("rate scope: probe decides like evaluate and takes no tokens", () => {
  const policy = compilePolicy(rated(2), { clock, sharedRateKey: "t" });
  for (let i = 0; i < 10; i++) {
    const d = probe(policy, { call: "time.now" });
    assert.deepEqual([d.effect, d.cacheable], ["allow", false]);
  }
  assert.equal(allowed(policy, "", 5), 2);
  const d = probe(policy, { call: "time.now" });
  assert.deepEqual([d.effect, d.effect === "deny" && d.reason], ["deny", "rate"]);
  const meter = { stepsMax: 1000, steps: 0, exhausted: false };
  probe(policy, { call: "time.now" }, meter);
  assert.ok(meter.steps > 0, "a probe is charged like an evaluation");
});

Deno.test("rate scope: forgetRateKey drops one key's buckets, never a shared one", () => {
  const own = compilePolicy(rated(1), { clock });
  const tenant = compilePolicy(rated(1), { clock, sharedRateKey: "t" });
  const chain = intersect(own, tenant);
  assert.equal(allowed(chain, "7", 1), 1);
  assert.equal(allowed(chain, "7", 1), 0);
  assert.equal(chain.forgetRateKey("7"), 1, "the own document's bucket of key 7; the tenant's stays");
  assert.equal(chain.forgetRateKey("7"), 0);
  assert.equal(allowed(chain, "8", 1), 0, "the tenant's shared bucket is still spent");
  assert.equal(tenant.forgetRateKey("t"), 0);
});
