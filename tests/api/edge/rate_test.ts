/**
 * Token buckets with a fake clock: burst, refill, Retry-After, debt from
 * after-the-fact charges, costs capped at the burst, bounded LRU map.
 */
import assert from "node:assert/strict";
import { RateLimiter, StreamSlots } from "../../../api/edge/mod.ts";
import { edgeLimits } from "../../../api/limits.ts";

Deno.test("rate: burst, refill at the rate, Retry-After in whole seconds", () => {
  let now = 0;
  const rl = new RateLimiter({ ratePerSec: 2, burst: 4, bucketsMax: 8, nowMs: () => now });
  for (let i = 0; i < 4; i++) assert.ok(rl.take("k").ok);
  const refused = rl.take("k");
  assert.deepEqual(refused, { ok: false, retryAfterSec: 1 });
  now += 500;
  assert.ok(rl.take("k").ok, "one token after half a second at 2/s");
  assert.equal(rl.take("k").ok, false);
  assert.ok(rl.take("other").ok, "buckets are per key");
  assert.equal(rl.refused, 2);
});

Deno.test("rate: charges after the fact put a bucket into debt (down to minus one burst); a cost is capped at the burst", () => {
  let now = 0;
  const rl = new RateLimiter({ ratePerSec: 10, burst: 10, bucketsMax: 8, nowMs: () => now });
  assert.ok(rl.take("k", 100).ok, "a cost above the burst passes on a full bucket");
  rl.charge("k", 1000);
  const r = rl.take("k");
  assert.equal(r.ok, false);
  assert.equal(r.ok ? 0 : r.retryAfterSec, 2, "debt of one burst + one token at 10/s");
  now += 2000;
  assert.ok(rl.take("k").ok);
});

Deno.test("rate: the map is bounded; the least recently used bucket goes (and comes back full)", () => {
  const rl = new RateLimiter({ ratePerSec: 1, burst: 1, bucketsMax: 2, nowMs: () => 0 });
  rl.take("a");
  rl.take("b");
  rl.take("a");
  rl.take("c");
  assert.equal(rl.size, 2);
  assert.equal(rl.evicted, 1);
  assert.equal(rl.take("a").ok, false, "a was used recently and kept");
  assert.equal(rl.take("b").ok, true, "b was evicted and came back full");
});

Deno.test("streams: caps in order server, tenant, key; releases are idempotent", () => {
  const slots = new StreamSlots({ sseStreamsMax: 3, sseStreamsPerTenantMax: 2, sseStreamsPerKeyMax: 1 });
  const a = slots.acquire("t1", "k1");
  assert.equal(typeof a, "function");
  assert.deepEqual(slots.acquire("t1", "k1"), { cap: "sseStreamsPerKeyMax", max: 1 });
  assert.equal(typeof slots.acquire("t1", "k2"), "function");
  assert.deepEqual(slots.acquire("t1", "k3"), { cap: "sseStreamsPerTenantMax", max: 2 });
  assert.equal(typeof slots.acquire("t2", "k4"), "function");
  assert.deepEqual(slots.acquire("t3", "k5"), { cap: "sseStreamsMax", max: 3 });
  (a as () => void)();
  (a as () => void)();
  assert.equal(slots.open, 2);
  assert.equal(typeof slots.acquire("t1", "k1"), "function");
});

Deno.test("limits: overrides are checked, relations hold", () => {
  assert.equal(edgeLimits({ connectionsMax: 64 }).connectionsMax, 64);
  assert.throws(() => edgeLimits({ connectionsMax: 0 }), RangeError);
  assert.throws(() => edgeLimits({ connectionsMax: Number.NaN }), RangeError);
  assert.throws(() => edgeLimits({ connectionsMax: 8, connectionsPerAddressMax: 16 }), /connectionsPerAddressMax/);
  assert.throws(() => edgeLimits({ idleMsMax: 1000 }), /sseHeartbeatMs/);
});
