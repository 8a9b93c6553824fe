import assert from "node:assert/strict";
import {
  backtrackingSegmentCost,
  compilePolicy,
  evaluate,
  matchStepsMax,
  policyMatchCost,
  policyMatchCostMax,
  safeParsePolicy,
  type StepMeter,
} from "../../../sandbox/policy/mod.ts";

const doc = (rules: unknown[]) => ({ version: 1, rules });

Deno.test("cost: segments cost 1, backtracking segments backtrackingSegmentCost, hosts 1", () => {
  assert.equal(policyMatchCost(doc([{ effect: "allow", calls: ["fs.*"], paths: ["src/**", "*.ts", "a*", "."] }])), 5);
  assert.equal(
    policyMatchCost(doc([{ effect: "allow", calls: ["fs.*"], paths: ["*a*", "a?"] }])),
    2 * backtrackingSegmentCost,
  );
  assert.equal(
    policyMatchCost(doc([{ effect: "allow", calls: ["net.fetch"], hosts: ["a.com", "*.b.com", "10.0.0.0/8"] }])),
    3,
  );
  assert.equal(policyMatchCost({ rules: "nope" }), 0);
});

Deno.test("cost: a document over policyMatchCostMax is refused, naming the budget", () => {
  const glob = "**/*a*b/**"; // 1 + 16 + 1
  const perRule = Math.floor(64 / 1);
  const rules = (n: number) =>
    Array.from({ length: n }, () => ({ effect: "deny", calls: ["fs.*"], paths: Array(perRule).fill(glob) }));
  const fits = Math.floor(policyMatchCostMax / (perRule * (2 + backtrackingSegmentCost)));
  assert.ok(safeParsePolicy(doc(rules(fits))).success);
  const over = safeParsePolicy(doc(rules(fits + 1)));
  assert.equal(over.success, false);
  if (!over.success) assert.match(over.error.issues[0].message, /policyMatchCostMax \(4096/);
  assert.throws(() => compilePolicy(doc(rules(20 * 64))), /policyMatchCostMax/);
});

Deno.test("engine: a StepMeter caps and reports the steps of one evaluation", () => {
  const policy = compilePolicy(doc([
    { effect: "deny", calls: ["fs.read"], paths: ["**/*a*a*a*a*b/**"] },
    { effect: "allow", calls: ["fs.read"], paths: ["**"] },
  ]));
  const path = Array(8).fill("a".repeat(200)).join("/");
  const meter: StepMeter = { stepsMax: matchStepsMax * 10, steps: 0, exhausted: false };
  const full = evaluate(policy, { call: "fs.read", path }, meter);
  const fullSteps = meter.steps;
  assert.ok(fullSteps > 0 && fullSteps <= matchStepsMax);
  const small = { stepsMax: 10, steps: 0, exhausted: false };
  const cut = evaluate(policy, { call: "fs.read", path }, small);
  assert.deepEqual([cut.effect, cut.effect === "deny" && cut.reason, cut.cacheable], ["deny", "invalid", false]);
  assert.deepEqual([small.steps, small.exhausted], [10, true]);
  // Never allow on exhaustion, never a cacheable default deny.
  const none = { stepsMax: 0, steps: 0, exhausted: false };
  assert.equal(evaluate(policy, { call: "fs.read", path: "x" }, none).cacheable, false);
  assert.equal(full.effect === "deny" ? full.reason : "allow", meter.exhausted ? "invalid" : "allow");
});
