import assert from "node:assert/strict";
import fc from "fast-check";
import { schedPolicies, type SchedPolicy, SyscallScheduler } from "../../../kernel/sched/mod.ts";
import { drained, FakeClock, tick } from "./helpers.ts";

type Op =
  | { kind: "submit"; pid: number; priority: number; delay: 0 | 1 | 2 }
  | { kind: "policy"; policy: SchedPolicy }
  | { kind: "remove"; pid: number }
  | { kind: "tick" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("submit" as const),
      pid: fc.integer({ min: 1, max: 6 }),
      priority: fc.integer({ min: 0, max: 39 }),
      delay: fc.constantFrom(0 as const, 1 as const, 2 as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("policy" as const), policy: fc.constantFrom(...schedPolicies) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), pid: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("tick" as const) }) },
);

Deno.test("property: every job not removed runs exactly once, and per-pid order holds", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { minLength: 20, maxLength: 200, size: "max" }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 8 }),
      fc.constantFrom(...schedPolicies),
      async (ops, quantumCalls, inflightMax, queueCallsMax, policy) => {
        const clock = new FakeClock();
        const sched = new SyscallScheduler({ policy, nowMs: clock.now, quantumCalls, inflightMax, queueCallsMax });
        const runs = new Map<number, number>();
        const started = new Map<number, number[]>();
        const accepted = new Set<number>();
        const removed = new Set<number>();
        const jobIds = new Map<unknown, number>();
        let next = 0;
        for (const op of ops) {
          if (op.kind === "submit") {
            const id = next++;
            const job = async () => {
              clock.t += 1;
              runs.set(id, (runs.get(id) ?? 0) + 1);
              started.set(op.pid, [...started.get(op.pid) ?? [], id]);
              for (let i = 0; i < op.delay; i++) await tick();
            };
            jobIds.set(job, id);
            if (sched.submit({ pid: op.pid, tenant: `t${op.pid % 3}`, priority: op.priority }, job)) accepted.add(id);
          } else if (op.kind === "policy") {
            sched.setPolicy(op.policy);
          } else if (op.kind === "remove") {
            for (const job of sched.remove(op.pid)) removed.add(jobIds.get(job)!);
          } else {
            await tick();
          }
        }
        await drained(sched);
        for (const id of accepted) {
          assert.equal(runs.get(id) ?? 0, removed.has(id) ? 0 : 1, `job ${id}`);
        }
        assert.equal(runs.size, accepted.size - removed.size);
        for (const ids of started.values()) assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
        const stats = sched.stats();
        assert.equal(stats.served, runs.size);
        assert.deepEqual(stats.tenants, []);
      },
    ),
    { numRuns: 300 },
  );
});
