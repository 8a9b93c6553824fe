import assert from "node:assert/strict";
import { SyscallScheduler } from "../../../kernel/sched/mod.ts";
import { drained, entity, FakeClock } from "./helpers.ts";

/** Bound a wait so a bug fails with a message instead of hanging. */
function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(what)), ms));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function setup(options: { backlogShare?: number; threadShare?: number; sharePeriodMs?: number } = {}) {
  const clock = new FakeClock();
  const sched = new SyscallScheduler({ nowMs: clock.now, shareWindowMs: 100, ...options });
  const gates: (() => void)[] = [];
  /** A job that runs until its gate is opened. */
  const parked = () => () => new Promise<void>((resolve) => gates.push(resolve));
  return { clock, sched, gates, parked };
}

Deno.test("share: a tenant alone is never held, whatever its backlog or its use of the thread", async () => {
  const { sched, gates, parked } = setup({ backlogShare: 4 });
  const flood = entity(1, "flood");
  for (let i = 0; i < 20; i++) assert.ok(sched.submit(flood, parked()));
  sched.charge(flood, 1_000);
  assert.equal(sched.hold(flood), undefined);
  while (gates.length > 0 || sched.stats().queued > 0) {
    for (const open of gates.splice(0)) open();
    await new Promise((r) => setTimeout(r, 0));
  }
  await drained(sched);
  assert.equal(sched.stats().holds, 0);
});

Deno.test("share: with another tenant active, a backlog at the share is held until it falls under it", async () => {
  const { sched, gates, parked } = setup({ backlogShare: 4 });
  const flood = entity(1, "flood");
  const calm = entity(2, "calm");
  assert.ok(sched.submit(calm, () => Promise.resolve()));
  for (let i = 0; i < 3; i++) assert.ok(sched.submit(flood, parked()));
  assert.equal(sched.hold(flood), undefined, "under the share: go on");
  assert.ok(sched.submit(flood, parked()));
  const held = sched.hold(flood);
  assert.ok(held instanceof Promise, "at the share: held");
  assert.equal(sched.hold(calm), undefined, "the calm tenant is never held");
  assert.equal(sched.stats().heldTenants, 1);
  let released = false;
  void held.then(() => released = true);
  // Serve the flood's jobs one by one: the hold ends with the first that settles.
  for (let hops = 0; !released; hops++) {
    assert.ok(hops < 10_000, "the hold never ended");
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.equal(sched.hold(flood), undefined, "under the share again");
  for (const open of gates.splice(0)) open();
  await drained(sched);
  assert.equal(sched.stats().heldTenants, 0);
});

Deno.test("share: past its share of the thread a contended tenant is held until the period ends", async () => {
  const { clock, sched } = setup({ threadShare: 0.25, sharePeriodMs: 20 });
  const flood = entity(1, "flood");
  const calm = entity(2, "calm");
  assert.ok(sched.submit(calm, () => Promise.resolve()));
  sched.charge(flood, 4);
  assert.equal(sched.hold(flood), undefined, "4 ms of a 5 ms quota");
  sched.charge(flood, 1);
  const held = sched.hold(flood);
  assert.ok(held instanceof Promise, "quota used up: held");
  clock.t += 20; // the period ends (the gate's timer wakes the reader)
  await within(held, "the hold did not end with the period");
  assert.equal(sched.hold(flood), undefined, "a new period: go on");
  await drained(sched);
});

Deno.test("share: a tenant that went quiet longer than the window no longer holds the others", async () => {
  const { clock, sched } = setup({ threadShare: 0.25, sharePeriodMs: 1_000 });
  const flood = entity(1, "flood");
  assert.ok(sched.submit(entity(2, "calm"), () => Promise.resolve()));
  sched.charge(flood, 500);
  assert.ok(sched.hold(flood) instanceof Promise);
  clock.t += 101;
  assert.equal(sched.hold(flood), undefined, "calm is not active any more");
  clock.t += 1_000;
  await drained(sched);
});
