/**
 * The policy layer without cells: chains of own policies (narrowing only),
 * the tenant-only CIDRs, the chain cap, and the step budgets with a fake clock.
 */
import assert from "node:assert/strict";
import { intersectPartsMax, matchStepsMax } from "../../sandbox/policy/mod.ts";
import { PolicyLayer } from "../../sandbox/policy_layer.ts";
import type { Process } from "../../kernel/process/table.ts";
import type { CheckedPath } from "../../kernel/syscall/table.ts";
import { policyStepsPerAgentPerSecMax, policyStepsPerTenantPerSecMax } from "../../sandbox/limits.ts";

/** The errno of a policy verdict (`null`: allowed). */
const errnoOf = (v: unknown) => (v as { errno?: string } | null)?.errno;

const proc = (pid: number, tenant = "t", parent = 0) => ({ pid, tenant, parent }) as unknown as Process;
/** A checked path beneath "/root" as the confinement layer would carry it (the policy layer reads `relative`). */
const at = (real: string) =>
  ({ root: "/root", real, relative: real.slice("/root/".length), seen: null }) as CheckedPath;
const allowAll = { version: 1, rules: [{ effect: "allow", calls: ["*"] }] };
const only = (call: string) => ({ version: 1, rules: [{ effect: "allow", calls: [call] }] });
const netTo = (cidr: string) => ({ version: 1, rules: [{ effect: "allow", calls: ["*"], hosts: [cidr] }] });

Deno.test("policy chain: a child's effective policy is its own ∩ its parent's, after live updates too", () => {
  const layer = new PolicyLayer(() => "/root");
  layer.setTenant("t", allowAll);
  const root = proc(1), child = proc(2, "t", 1), grandchild = proc(3, "t", 2);
  layer.attach(root, only("time.now"));
  layer.attach(child, allowAll);
  layer.attach(grandchild, null);
  assert.equal(layer.check(grandchild, "time.now", {}, []), null);
  assert.equal(
    errnoOf(layer.check(grandchild, "fs.read", {}, [])),
    "EPERM",
    "the root's own policy binds its grandchild",
  );
  layer.setAgent(1, only("fs.read"));
  assert.equal(errnoOf(layer.check(grandchild, "time.now", {}, [])), "EPERM", "the live update reaches down");
  // The root exits: its policy still binds the live descendants.
  layer.dropPid(1);
  assert.equal(errnoOf(layer.check(grandchild, "time.now", {}, [])), "EPERM");
  // A child the layer never heard of gets nothing.
  assert.equal(errnoOf(layer.check(proc(9, "t", 7), "time.now", {}, [])), "EPERM");
  assert.throws(() => layer.attach(proc(10, "t", 7), null), RangeError, "a parent without a chain");
});

Deno.test("policy chain: only the tenant's CIDRs open non-public addresses", () => {
  const layer = new PolicyLayer(() => "/root");
  layer.setTenant("t", netTo("10.0.0.0/8"));
  layer.attach(proc(1), netTo("127.0.0.0/8"));
  layer.attach(proc(2, "t", 1), netTo("0.0.0.0/0"));
  for (const pid of [1, 2]) {
    const cidrs = layer.allowCidrs(proc(pid, "t", pid - 1));
    assert.deepEqual(cidrs.map((c) => [...c.bytes].join(".") + "/" + c.prefix), ["10.0.0.0/8"]);
  }
});

Deno.test("policy chain: at most intersectPartsMax documents, at spawn and on live update", () => {
  const layer = new PolicyLayer(() => "/root");
  const parts = intersectPartsMax - 1; // plus the tenant's
  for (let pid = 1; pid <= parts; pid++) layer.attach(proc(pid, "t", pid - 1), allowAll);
  assert.throws(() => layer.attach(proc(parts + 1, "t", parts), allowAll), /intersectPartsMax/);
  layer.attach(proc(parts + 1, "t", parts), null); // no own policy: no new document
  assert.equal(layer.check(proc(parts + 1, "t", parts), "time.now", {}, []), null);
  layer.setAgent(3, null);
  layer.attach(proc(parts + 2, "t", parts + 1), allowAll); // room again
  assert.throws(
    () => layer.setAgent(3, allowAll),
    /intersectPartsMax/,
    "a live update that lengthens a descendant's chain",
  );
});

Deno.test("policy chain: matcher steps are charged per agent and per tenant; cache hits are free", () => {
  let now = 0;
  const layer = new PolicyLayer(() => "/root", { clock: () => now });
  const hostile = Array(12).fill("*a").join("") + "*b";
  layer.setTenant("t", {
    version: 1,
    rules: [
      ...Array.from({ length: 50 }, (_, i) => ({ effect: "deny", calls: ["fs.*"], paths: [`**/${hostile}${i}/**`] })),
      { effect: "allow", calls: ["*"] },
    ],
  });
  const a = proc(1), b = proc(2), other = proc(3, "u");
  for (const p of [a, b, other]) layer.attach(p, null);
  const root = "/root";
  const deep = `${root}/${Array(12).fill("a".repeat(200)).join("/")}`;
  const codes: string[] = [];
  for (let i = 0; codes.at(-1) !== "EAGAIN" && i < 100; i++) {
    codes.push(errnoOf(layer.check(a, "fs.stat", {}, [at(`${deep}/${i}`)])) ?? "ok");
  }
  assert.equal(codes.at(-1), "EAGAIN");
  assert.equal(codes.length - 1, policyStepsPerAgentPerSecMax / matchStepsMax, "evaluations at the per-call ceiling");
  assert.ok(codes.slice(0, -1).every((c) => c === "EINVAL"), "past the per-call ceiling: denied");
  // Another agent of the same tenant still has its own budget; another tenant is untouched.
  assert.equal(layer.check(b, "fs.stat", {}, [at(`${root}/x`)]), null);
  assert.equal(layer.check(other, "fs.stat", {}, [at(`${deep}/0`)]), null, "its tenant has no policy");
  // Refill with time.
  now += 1000;
  assert.equal(errnoOf(layer.check(a, "fs.stat", {}, [at(`${deep}/x`)])), "EINVAL");
  // Cache hits cost nothing: a cheap allowed path, decided once, asked again with the budget spent.
  assert.equal(layer.check(b, "fs.stat", {}, [at(`${root}/y`)]), null);
  const left = layer.stepsLeft(b);
  assert.equal(layer.check(b, "fs.stat", {}, [at(`${root}/y`)]), null);
  assert.equal(layer.stepsLeft(b), left);
  assert.ok(policyStepsPerTenantPerSecMax >= policyStepsPerAgentPerSecMax);
});
