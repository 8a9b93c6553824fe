import assert from "node:assert/strict";
import { ResourceOrchestrator } from "../../../kernel/resources/orchestrator.ts";

Deno.test("orchestrator: reverse type order, LIFO within a type, per-type stats", async () => {
  const orch = new ResourceOrchestrator();
  const order: string[] = [];
  orch.registerType("memory", (_pid, h: string) => (order.push(h), 100));
  orch.registerType("fd", (_pid, h: string) => (order.push(h), 0));
  orch.acquire(1, "memory", "m1");
  orch.acquire(1, "fd", "f1");
  orch.acquire(1, "memory", "m2");
  orch.acquire(1, "fd", "f2");
  orch.acquire(2, "fd", "other");
  const report = await orch.cleanup(1);
  assert.deepEqual(order, ["f2", "f1", "m2", "m1"]);
  assert.deepEqual(report.types.memory, { count: 2, bytes: 200, errors: [] });
  assert.equal(orch.held(1), 0);
  assert.equal(orch.held(2), 1);
});

Deno.test("orchestrator: a failing cleanup is reported and the rest still run", async () => {
  const orch = new ResourceOrchestrator();
  let released = 0;
  orch.registerType("a", () => (released++, 0));
  orch.registerType("b", () => {
    throw new Error("stuck");
  });
  orch.acquire(1, "a", null);
  orch.acquire(1, "b", null);
  const report = await orch.cleanup(1);
  assert.equal(report.errors, 1);
  assert.deepEqual(report.types.b.errors, ["stuck"]);
  assert.equal(released, 1);
  assert.equal(orch.held(1), 0);
});

Deno.test("orchestrator: coverage fails loudly for a type without cleanup", () => {
  const orch = new ResourceOrchestrator();
  orch.registerType("a", () => 0);
  assert.throws(() => orch.assertCoverage(["a", "pipe", "shm"]), /pipe, shm/);
  assert.throws(() => orch.acquire(1, "pipe", null), /unregistered/);
  assert.throws(() => orch.registerType("a", () => 0), /twice/);
});

Deno.test("orchestrator: release forgets a resource", async () => {
  const orch = new ResourceOrchestrator();
  let cleaned = 0;
  orch.registerType("a", () => (cleaned++, 0));
  const id = orch.acquire(1, "a", null);
  assert.ok(orch.release(1, id));
  assert.equal(orch.release(1, id), false);
  await orch.cleanup(1);
  assert.equal(cleaned, 0);
});
