import assert from "node:assert/strict";
import { type SchedJob, SyscallScheduler } from "../../../kernel/sched/mod.ts";
import { drained, entity, hold, tick } from "./helpers.ts";

Deno.test("queue bound: submit returns false once a pid has queueCallsMax queued", async () => {
  const sched = new SyscallScheduler({ queueCallsMax: 3, inflightMax: 1 });
  const open = await hold(sched, 1);
  let ran = 0;
  const job = () => {
    ran++;
    return Promise.resolve();
  };
  assert.deepEqual([1, 2, 3, 4].map(() => sched.submit(entity(1, "t"), job)), [true, true, true, false]);
  assert.equal(sched.submit(entity(2, "t"), job), true, "other pids are not affected");
  assert.equal(sched.stats().queued, 4);
  open();
  await drained(sched);
  assert.equal(ran, 4);
  assert.equal(sched.submit(entity(1, "t"), job), true, "room again once served");
  await drained(sched);
});

Deno.test("remove(pid) returns the unstarted jobs in order; they never run; running ones settle", async () => {
  const sched = new SyscallScheduler({ inflightMax: 2, quantumCalls: 1 });
  const open = await hold(sched, 1);
  const ran: string[] = [];
  let finishRunning!: () => void;
  const running: SchedJob = () => {
    ran.push("running");
    return new Promise<void>((resolve) => finishRunning = resolve);
  };
  sched.submit(entity(1, "t"), running); // takes the second slot in the next round
  await tick();
  assert.deepEqual(ran, ["running"]);
  const queued = ["a", "b", "c"].map((l): SchedJob => () => {
    ran.push(l);
    return Promise.resolve();
  });
  for (const job of queued) sched.submit(entity(1, "t"), job);
  sched.submit(entity(2, "t"), () => {
    ran.push("other");
    return Promise.resolve();
  });
  assert.equal(sched.stats().queued, 4);
  const removed = sched.remove(1);
  assert.equal(removed.length, 3);
  removed.forEach((job, i) => assert.equal(job, queued[i]));
  assert.deepEqual(sched.remove(1), [], "second remove finds nothing");
  assert.deepEqual(sched.remove(42), [], "unknown pid");
  assert.equal(sched.stats().queued, 1);
  open();
  finishRunning();
  await drained(sched);
  assert.deepEqual(ran, ["running", "other"]);
  assert.deepEqual(sched.stats().tenants, [], "no record left behind");
  // The pid can be reused (recycled) afterwards, even by another tenant.
  sched.submit(entity(1, "u"), () => Promise.resolve());
  await drained(sched);
});

Deno.test("a job that throws or rejects is counted and reported; the scheduler goes on", async () => {
  const errors: unknown[] = [];
  const sched = new SyscallScheduler({ onJobError: (e, pid) => errors.push([pid, (e as Error).message]) });
  sched.submit(entity(1, "t"), () => {
    throw new Error("sync");
  });
  sched.submit(entity(2, "t"), () => Promise.reject(new Error("async")));
  let ok = false;
  sched.submit(entity(3, "t"), () => {
    ok = true;
    return Promise.resolve();
  });
  await drained(sched);
  assert.ok(ok);
  assert.deepEqual(errors, [[1, "sync"], [2, "async"]]);
  const stats = sched.stats();
  assert.equal(stats.failed, 2);
  assert.equal(stats.served, 3);
});

Deno.test("stats: per-tenant served, queued, vruntime and the policy", async () => {
  const sched = new SyscallScheduler({ policy: "round-robin", inflightMax: 1 });
  const open = await hold(sched, 1);
  for (let i = 0; i < 3; i++) sched.submit(entity(1, "a"), () => Promise.resolve());
  sched.submit(entity(2, "b"), () => Promise.resolve());
  const before = sched.stats();
  assert.equal(before.policy, "round-robin");
  assert.deepEqual(before.tenants.map((t) => [t.tenant, t.queued, t.agents]), [["gate", 0, 1], ["a", 3, 1], [
    "b",
    1,
    1,
  ]]);
  assert.ok(before.tenants.every((t) => typeof t.vruntime === "number" && t.served === 0));
  open();
  await drained(sched);
  assert.equal(sched.stats().served, 5);
});

Deno.test("bad arguments are programmer errors", async () => {
  assert.throws(() => new SyscallScheduler({ quantumCalls: 0 }), RangeError);
  assert.throws(() => new SyscallScheduler({ inflightMax: 1.5 }), RangeError);
  // @ts-expect-error: not a policy
  assert.throws(() => new SyscallScheduler({ policy: "lottery" }), TypeError);
  const sched = new SyscallScheduler();
  assert.throws(() => sched.submit(entity(1, "t", 40), () => Promise.resolve()), RangeError);
  // @ts-expect-error: not a policy
  assert.throws(() => sched.setPolicy("lottery"), TypeError);
  const open = await hold(new SyscallScheduler({ inflightMax: 1 }), 1);
  open();
});

Deno.test("a pid cannot change tenant while it has jobs", async () => {
  const sched = new SyscallScheduler({ inflightMax: 1 });
  const open = await hold(sched, 1);
  sched.submit(entity(1, "a"), () => Promise.resolve());
  assert.throws(() => sched.submit(entity(1, "b"), () => Promise.resolve()), /tenant/);
  open();
  await drained(sched);
});
