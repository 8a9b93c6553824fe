import assert from "node:assert/strict";
import { type SchedJob, type SchedPolicy, SyscallScheduler } from "../../../kernel/sched/mod.ts";
import { drained, entity, FakeClock, hold, tick } from "./helpers.ts";

/** A scheduler whose `inflightMax` equals the quantum, held by a gate until `open()`. */
async function setup(policy: SchedPolicy, quantumCalls = 1) {
  const clock = new FakeClock();
  const sched = new SyscallScheduler({ policy, nowMs: clock.now, quantumCalls, inflightMax: quantumCalls });
  const log: string[] = [];
  const job = (label: string): SchedJob => () => {
    clock.t += 1;
    log.push(label);
    return Promise.resolve();
  };
  const open = await hold(sched, quantumCalls);
  return { sched, log, job, open };
}

Deno.test("round-robin: rotates tenants, then agents within a tenant, one quantum each", async () => {
  for (
    const [quantum, expected] of [
      [1, ["1a", "3a", "2a", "3b", "1b", "3c", "2b", "1c", "2c"]],
      [2, ["1a", "1b", "3a", "3b", "2a", "2b", "3c", "1c", "2c"]],
    ] as const
  ) {
    const { sched, log, job, open } = await setup("round-robin", quantum);
    for (const [pid, tenant] of [[1, "T1"], [2, "T1"], [3, "T2"]] as const) {
      for (const k of ["a", "b", "c"]) sched.submit(entity(pid, tenant), job(`${pid}${k}`));
    }
    open();
    await drained(sched);
    assert.deepEqual(log, expected, `quantum ${quantum}`);
  }
});

Deno.test("priority: lowest number first, FIFO among equals", async () => {
  const { sched, log, job, open } = await setup("priority");
  const submits: [number, number, string][] = [
    [1, 5, "1a"],
    [3, 5, "3a"],
    [2, 0, "2a"],
    [1, 5, "1b"],
    [4, 0, "4a"],
    [3, 5, "3b"],
    [2, 0, "2b"],
  ];
  for (const [pid, prio, label] of submits) sched.submit(entity(pid, `t${pid}`, prio), job(label));
  open();
  await drained(sched);
  assert.deepEqual(log, ["2a", "4a", "2b", "1a", "3a", "1b", "3b"]);
});

Deno.test("priority: a low-priority agent starves while a higher one keeps calls queued (documented)", async () => {
  const { sched, log, job, open } = await setup("priority");
  const rounds = 500;
  let left = rounds;
  const busy = (): Promise<void> => {
    log.push("high");
    if (--left > 0) sched.submit(entity(1, "hot", 0), busy);
    return Promise.resolve();
  };
  sched.submit(entity(2, "cold", 39), job("low"));
  sched.submit(entity(1, "hot", 0), busy);
  open();
  await drained(sched);
  // Strict priority: the lone low-priority call waits for all 500 high-priority calls.
  assert.equal(log.indexOf("low"), rounds);
});

Deno.test("fair: the same workload does not starve the low-priority agent", async () => {
  const { sched, log, job, open } = await setup("fair");
  let left = 500;
  const busy = (): Promise<void> => {
    log.push("high");
    if (--left > 0) sched.submit(entity(1, "hot", 0), busy);
    return Promise.resolve();
  };
  sched.submit(entity(2, "cold", 39), job("low"));
  sched.submit(entity(1, "hot", 0), busy);
  open();
  await drained(sched);
  assert.ok(log.indexOf("low") <= 1, `low ran at ${log.indexOf("low")}`);
});

Deno.test("setPolicy mid-run: every job runs once, in per-pid order", async () => {
  const { sched, log, job, open } = await setup("fair", 2);
  const policies: SchedPolicy[] = ["round-robin", "priority", "fair"];
  for (let i = 0; i < 50; i++) {
    for (let pid = 1; pid <= 6; pid++) sched.submit(entity(pid, `t${pid % 2}`, pid * 5), job(`${pid}:${i}`));
  }
  open();
  for (let round = 0; sched.stats().queued > 0; round++) {
    sched.setPolicy(policies[round % 3]);
    await tick();
  }
  await drained(sched);
  assert.equal(log.length, 300);
  assert.equal(new Set(log).size, 300);
  for (let pid = 1; pid <= 6; pid++) {
    const mine = log.filter((l) => l.startsWith(`${pid}:`)).map((l) => Number(l.split(":")[1]));
    assert.deepEqual(mine, [...mine].sort((a, b) => a - b));
  }
});

Deno.test("idle scheduler starts a call at once; jobs of one pid start in submission order", async () => {
  const sched = new SyscallScheduler({ inflightMax: 4 });
  const log: number[] = [];
  for (let i = 0; i < 10; i++) {
    sched.submit(entity(1, "t"), async () => {
      log.push(i);
      await tick();
    });
  }
  assert.deepEqual(log, [0], "on an idle scheduler the first call starts inside submit");
  await drained(sched);
  assert.deepEqual(log, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(sched.stats().tenants, [], "idle records are dropped");
});

Deno.test("inflightMax bounds jobs started and not settled", async () => {
  const sched = new SyscallScheduler({ inflightMax: 3, quantumCalls: 8 });
  let running = 0;
  let peak = 0;
  for (let i = 0; i < 40; i++) {
    sched.submit(entity(i % 5, "t"), async () => {
      peak = Math.max(peak, ++running);
      await tick();
      await tick();
      running--;
    });
  }
  await drained(sched);
  assert.equal(peak, 3);
  assert.equal(sched.stats().served, 40);
});
