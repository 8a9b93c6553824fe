import assert from "node:assert/strict";
import { KernelError } from "../../../kernel/errno.ts";
import { AdmissionQueue, type Release } from "../../../kernel/sched/mod.ts";
import { tick } from "./helpers.ts";

/** Queue `n` requests of `tenant`, recording admissions in `log`. */
function queue(adm: AdmissionQueue, tenant: string, n: number, log: string[], priority = 20): Promise<Release>[] {
  return Array.from({ length: n }, (_, i) =>
    adm.acquire(tenant, priority).then((release) => {
      log.push(`${tenant}${i}`);
      return release;
    }));
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof KernelError && e.code === code);
}

Deno.test("admission: free slots admit at once", async () => {
  const adm = new AdmissionQueue({ slots: 2, queueMax: 4 });
  const r1 = await adm.acquire("a", 20);
  const r2 = await adm.acquire("b", 20);
  assert.deepEqual([adm.stats().admitted, adm.stats().waiting], [2, 0]);
  r1();
  r2();
  assert.deepEqual(adm.stats(), { policy: "fair", slots: 2, admitted: 0, waiting: 0, tenants: [] });
});

Deno.test("admission fair: a tenant with 2 waiting goes before one with 50 when a slot frees", async () => {
  const adm = new AdmissionQueue({ slots: 4, queueMax: 100 });
  const held = await Promise.all([0, 1, 2, 3].map(() => adm.acquire("big", 20)));
  const log: string[] = [];
  const big = queue(adm, "big", 50, log);
  const small = queue(adm, "small", 2, log);
  held[0]();
  await tick();
  assert.deepEqual(log, ["small0"], "fewest admitted wins, though big waited longer");
  held[1]();
  await tick();
  // big has 2 admitted, small 1: small again.
  assert.deepEqual(log, ["small0", "small1"]);
  held[2]();
  await tick();
  assert.deepEqual(log, ["small0", "small1", "big0"]);
  // Drain: release one admitted request at a time until everyone got in.
  const admitted: Release[] = [held[3], ...await Promise.all(small), await big[0]];
  for (let i = 1; i < big.length; i++) {
    admitted.shift()!();
    admitted.push(await big[i]);
  }
  for (const r of admitted) r();
  assert.deepEqual(adm.stats().admitted, 0);
  assert.equal(log.filter((l) => l.startsWith("big")).length, 50);
});

Deno.test("admission fair: equal admitted → the tenant waiting longest", async () => {
  const adm = new AdmissionQueue({ slots: 1, queueMax: 10 });
  const r = await adm.acquire("x", 20);
  const log: string[] = [];
  const b = queue(adm, "b", 1, log);
  const a = queue(adm, "a", 1, log);
  r();
  await tick();
  assert.deepEqual(log, ["b0"]);
  (await b[0])();
  (await a[0])();
});

Deno.test("admission round-robin rotates tenants; priority takes the lowest number first", async () => {
  const cases = [
    ["round-robin", ["a0", "b0", "c0", "a1", "b1", "a2"]],
    ["priority", ["c0", "b0", "b1", "a0", "a1", "a2"]],
  ] as const;
  for (const [policy, expected] of cases) {
    const adm = new AdmissionQueue({ slots: 1, queueMax: 10, policy });
    const first = await adm.acquire("z", 0);
    const log: string[] = [];
    const all = [...queue(adm, "a", 3, log, 30), ...queue(adm, "b", 2, log, 10), ...queue(adm, "c", 1, log, 0)];
    first();
    for (let i = 0; i < 6; i++) {
      await tick();
      const next = await Promise.race(all.map((p, k) => p.then((r) => ({ r, k }))));
      next.r();
      all.splice(next.k, 1);
    }
    assert.deepEqual(log, expected, policy);
    assert.equal(adm.stats().admitted, 0);
  }
});

Deno.test("admission: a full queue rejects EAGAIN", async () => {
  const adm = new AdmissionQueue({ slots: 1, queueMax: 2 });
  const r = await adm.acquire("a", 20);
  const waiting = [adm.acquire("a", 20), adm.acquire("b", 20)];
  await rejectsWith(adm.acquire("c", 20), "EAGAIN");
  assert.deepEqual(adm.stats().tenants.map((t) => t.tenant), ["a", "b"], "the refused tenant left no record");
  r();
  (await waiting[0])();
  (await waiting[1])();
});

Deno.test("admission: abort while waiting → ECANCELED, no slot leak, no ghost waiter", async () => {
  const adm = new AdmissionQueue({ slots: 1, queueMax: 4 });
  const r = await adm.acquire("a", 20);
  const ac = new AbortController();
  const canceled = adm.acquire("b", 20, ac.signal);
  const next = adm.acquire("c", 20);
  ac.abort();
  await rejectsWith(canceled, "ECANCELED");
  assert.equal(adm.stats().waiting, 1);
  r();
  const rc = await next;
  assert.deepEqual([adm.stats().admitted, adm.stats().waiting], [1, 0]);
  rc();
  assert.equal(adm.stats().admitted, 0);
  await rejectsWith(adm.acquire("d", 20, AbortSignal.abort()), "ECANCELED");
  // Abort after admission changes nothing.
  const late = new AbortController();
  const rl = await adm.acquire("e", 20, late.signal);
  late.abort();
  assert.equal(adm.stats().admitted, 1);
  rl();
  assert.deepEqual(adm.stats().tenants, []);
});

Deno.test("admission: release is idempotent", async () => {
  const adm = new AdmissionQueue({ slots: 1, queueMax: 4 });
  const r = await adm.acquire("a", 20);
  const log: string[] = [];
  const w = queue(adm, "b", 2, log);
  r();
  r();
  r();
  await tick();
  assert.deepEqual(log, ["b0"], "a double release does not admit a second waiter");
  assert.equal(adm.stats().admitted, 1);
  (await w[0])();
  (await w[1])();
  assert.equal(adm.stats().admitted, 0);
});

Deno.test("admission: setSlots up admits waiters; down lets admitted ones finish", async () => {
  const adm = new AdmissionQueue({ slots: 1, queueMax: 10 });
  const r0 = await adm.acquire("a", 20);
  const log: string[] = [];
  const w = queue(adm, "b", 4, log);
  adm.setSlots(3);
  await tick();
  assert.deepEqual(log, ["b0", "b1"]);
  adm.setSlots(1);
  assert.equal(adm.stats().admitted, 3, "admitted requests keep their slots");
  r0();
  (await w[0])();
  await tick();
  assert.deepEqual(log, ["b0", "b1"], "still over the new limit");
  (await w[1])();
  await tick();
  assert.deepEqual(log, ["b0", "b1", "b2"]);
  adm.setSlots(0);
  (await w[2])();
  await tick();
  assert.equal(adm.stats().waiting, 1, "zero slots: everyone waits");
  adm.setPolicy("round-robin");
  adm.setSlots(1);
  (await w[3])();
  assert.deepEqual(adm.stats(), { policy: "round-robin", slots: 1, admitted: 0, waiting: 0, tenants: [] });
});

Deno.test("admission: bad arguments are programmer errors", () => {
  assert.throws(() => new AdmissionQueue({ slots: -1, queueMax: 1 }), RangeError);
  const adm = new AdmissionQueue({ slots: 1, queueMax: 1 });
  assert.throws(() => adm.acquire("a", 40), RangeError);
  assert.throws(() => adm.setSlots(1.5), RangeError);
  // @ts-expect-error: not a policy
  assert.throws(() => adm.setPolicy("lottery"), TypeError);
});
