import assert from "node:assert/strict";
import { SyscallScheduler, weightOf } from "../../../kernel/sched/mod.ts";
import { drained, entity, FakeClock, hold } from "./helpers.ts";

/** A scheduler serving one unit-cost job at a time, and the log of who ran. */
function setup(quantumCalls = 1) {
  const clock = new FakeClock();
  const sched = new SyscallScheduler({ policy: "fair", nowMs: clock.now, quantumCalls, inflightMax: quantumCalls });
  const log: string[] = [];
  const job = (who: string, costMs = 1) => () => {
    clock.t += costMs;
    log.push(who);
    return Promise.resolve();
  };
  return { clock, sched, log, job };
}

Deno.test("fair: a 1-agent tenant is not starved by a 10-agent flood", async () => {
  // Tenants weigh the same, so while both are backlogged each gets half of the
  // service: with unit-cost jobs B's 100 jobs are done when A has done about 100
  // of its 10,000 (1%), give or take one quantum per tenant.
  for (const quantum of [1, 4]) {
    const { sched, log, job } = setup(quantum);
    const open = await hold(sched, quantum);
    for (let a = 1; a <= 10; a++) for (let i = 0; i < 1_000; i++) assert.ok(sched.submit(entity(a, "A"), job("A")));
    for (let i = 0; i < 100; i++) assert.ok(sched.submit(entity(100, "B"), job("B")));
    open();
    await drained(sched);
    assert.equal(log.length, 10_100);
    const bLast = log.lastIndexOf("B");
    const aDone = log.slice(0, bLast).filter((w) => w === "A").length;
    assert.ok(
      aDone <= 100 + 2 * quantum,
      `quantum ${quantum}: A did ${aDone} jobs (${aDone / 100}%) before B finished`,
    );
    const stats = sched.stats();
    assert.equal(stats.served, 10_100 + quantum);
    assert.equal(stats.policy, "fair");
  }
});

Deno.test("fair: within a tenant, priority 0 and 10 get service in proportion to their weights", async () => {
  const { sched, log, job } = setup();
  const open = await hold(sched, 1);
  for (let i = 0; i < 3_000; i++) {
    sched.submit(entity(1, "T", 0), job("p0"));
    sched.submit(entity(2, "T", 10), job("p10"));
  }
  open();
  await drained(sched);
  const window = log.slice(0, 1_000);
  const share = window.filter((w) => w === "p0").length / window.length;
  const expected = weightOf(0) / (weightOf(0) + weightOf(10)); // 88761 / 98309 ≈ 0.903
  assert.ok(Math.abs(share - expected) < 0.01, `p0 share ${share}, expected ${expected}`);
});

Deno.test("fair: weights hold with unequal job costs (service time, not call count)", async () => {
  const { sched, log, job } = setup();
  const open = await hold(sched, 1);
  for (let i = 0; i < 2_000; i++) {
    sched.submit(entity(1, "T"), job("cheap", 1));
    sched.submit(entity(2, "T"), job("dear", 4));
  }
  open();
  await drained(sched);
  const window = log.slice(0, 1_000);
  const cheap = window.filter((w) => w === "cheap").length;
  const dear = window.length - cheap;
  // Same weight → same service time: cheap calls ≈ 4 × dear calls.
  assert.ok(Math.abs(cheap - 4 * dear) <= 8, `cheap ${cheap}, dear ${dear}`);
});

Deno.test("fair: an agent joining late gets no banked credit", async () => {
  const { sched, log, job } = setup();
  const open = await hold(sched, 1);
  let joinedAt = -1;
  for (let i = 0; i < 600; i++) {
    sched.submit(entity(1, "T"), () => {
      if (i === 300) {
        joinedAt = log.length;
        for (let k = 0; k < 500; k++) sched.submit(entity(2, "T"), job("late"));
      }
      return job("early")();
    });
  }
  open();
  await drained(sched);
  const after = log.slice(joinedAt, joinedAt + 100);
  const late = after.filter((w) => w === "late").length;
  // Placed at the current minimum, the newcomer alternates with the old agent
  // instead of running 300 calls in a row.
  assert.ok(late >= 49 && late <= 51, `late agent ran ${late} of the next 100`);
});

Deno.test("fair: a tenant joining late, or coming back after idling, gets no banked credit", async () => {
  const { sched, log, job } = setup();
  const open = await hold(sched, 1);
  let joinedAt = -1;
  // B runs 50 calls, goes idle while A runs alone, then comes back with 500.
  for (let i = 0; i < 50; i++) sched.submit(entity(2, "B"), job("B"));
  for (let i = 0; i < 600; i++) {
    sched.submit(entity(1, "A"), () => {
      if (i === 300) {
        joinedAt = log.length;
        for (let k = 0; k < 500; k++) sched.submit(entity(3, "B"), job("B"));
      }
      return job("A")();
    });
  }
  open();
  await drained(sched);
  const after = log.slice(joinedAt, joinedAt + 100);
  const b = after.filter((w) => w === "B").length;
  assert.ok(b >= 49 && b <= 51, `returning tenant ran ${b} of the next 100`);
});

Deno.test("fair: switching to fair starts everyone even", async () => {
  const clock = new FakeClock();
  const sched = new SyscallScheduler({ policy: "priority", nowMs: clock.now, quantumCalls: 1, inflightMax: 1 });
  const log: string[] = [];
  const open = await hold(sched, 1);
  for (let i = 0; i < 200; i++) {
    for (const [pid, t] of [[1, "A"], [2, "B"]] as const) {
      sched.submit(entity(pid, t, pid === 1 ? 0 : 30), () => {
        clock.t += 1;
        log.push(t);
        if (log.length === 100) sched.setPolicy("fair");
        return Promise.resolve();
      });
    }
  }
  open();
  await drained(sched);
  assert.deepEqual(log.slice(0, 100), Array(100).fill("A"));
  const next = log.slice(100, 200).filter((t) => t === "B").length;
  assert.ok(next >= 49 && next <= 51, `after the switch B ran ${next} of 100`);
});
