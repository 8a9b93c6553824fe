import assert from "node:assert/strict";
import fc from "fast-check";
import { compilePolicy, type Decision, DecisionCache, evaluate, resourceKey } from "../../../sandbox/policy/mod.ts";

const allow: Decision = Object.freeze({
  effect: "allow",
  ruleId: "r",
  layer: "policy",
  cacheable: true,
});
const deny: Decision = Object.freeze({
  effect: "deny",
  ruleId: "d",
  layer: "policy",
  reason: "rule",
  cacheable: true,
});

function fakeClock(start = 0) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

Deno.test("cache: hit, miss and counters", () => {
  const cache = new DecisionCache({
    ttlMs: 1000,
    entriesMax: 10,
    clock: fakeClock().read,
  });
  assert.equal(cache.get(1, "fs.read", "a", 0), undefined);
  assert.equal(cache.set(1, "fs.read", "a", 0, allow), true);
  assert.equal(cache.get(1, "fs.read", "a", 0), allow);
  assert.equal(cache.get(2, "fs.read", "a", 0), undefined, "another pid");
  assert.equal(cache.get(1, "fs.write", "a", 0), undefined, "another call");
  assert.equal(cache.get(1, "fs.read", "b", 0), undefined, "another resource");
  assert.deepEqual(cache.stats(), {
    hits: 1,
    misses: 4,
    evictions: 0,
    expirations: 0,
    invalidations: 0,
    size: 1,
  });
});

Deno.test("cache: the epoch is part of the key; a newer epoch drops older entries", () => {
  const cache = new DecisionCache({ ttlMs: 1000, entriesMax: 10, clock: fakeClock().read });
  cache.set(1, "fs.read", "a", 3, allow);
  assert.equal(cache.get(1, "fs.read", "a", 2), undefined, "a stale caller misses");
  assert.equal(cache.get(1, "fs.read", "a", 3), allow, "…without dropping the newer entry");
  assert.equal(cache.get(1, "fs.read", "a", 4), undefined, "a policy update misses");
  assert.equal(cache.stats().size, 0, "the outdated entry is gone");
  assert.equal(cache.get(1, "fs.read", "a", 3), undefined);
  cache.set(1, "fs.read", "a", 4, deny);
  assert.equal(cache.get(1, "fs.read", "a", 4), deny);
});

Deno.test("cache: a caller-supplied now is used instead of the clock", () => {
  const cache = new DecisionCache({
    ttlMs: 10,
    entriesMax: 10,
    clock: () => {
      throw new Error("clock must not be read");
    },
  });
  cache.set(1, "c", "r", 0, allow, 100);
  assert.equal(cache.get(1, "c", "r", 0, 109), allow);
  assert.equal(cache.get(1, "c", "r", 0, 110), undefined);
});

Deno.test("cache: keys cannot be confused by crafted call/resource splits", () => {
  const cache = new DecisionCache({
    ttlMs: 1000,
    entriesMax: 10,
    clock: fakeClock().read,
  });
  cache.set(1, "fs.read", "|x", 0, allow);
  assert.equal(cache.get(1, "fs.read|", "x", 0), undefined);
  assert.equal(cache.get(1, "fs.rea", "d|x", 0), undefined);
  cache.set(12, "a", "b", 3, allow);
  assert.equal(cache.get(1, "a", "b", 23), undefined);
  assert.equal(cache.get(123, "a", "b", 0), undefined);
});

Deno.test("cache: TTL expiry with a fake clock", () => {
  const clock = fakeClock(100);
  const cache = new DecisionCache({
    ttlMs: 50,
    entriesMax: 10,
    clock: clock.read,
  });
  cache.set(1, "c", "r", 0, allow);
  clock.now = 149;
  assert.equal(cache.get(1, "c", "r", 0), allow);
  clock.now = 150;
  assert.equal(cache.get(1, "c", "r", 0), undefined);
  assert.equal(cache.stats().expirations, 1);
  assert.equal(cache.stats().size, 0);
  // A hit does not extend the TTL.
  cache.set(1, "c", "r", 0, allow);
  clock.now = 190;
  assert.equal(cache.get(1, "c", "r", 0), allow);
  clock.now = 200;
  assert.equal(cache.get(1, "c", "r", 0), undefined);
  // A NaN clock expires rather than keeps.
  cache.set(1, "c", "r", 0, allow);
  clock.now = NaN;
  assert.equal(cache.get(1, "c", "r", 0), undefined);
});

Deno.test("cache: LRU bound evicts the least recently used", () => {
  const cache = new DecisionCache({
    ttlMs: 1000,
    entriesMax: 3,
    clock: fakeClock().read,
  });
  cache.set(1, "c", "a", 0, allow);
  cache.set(1, "c", "b", 0, allow);
  cache.set(1, "c", "c", 0, allow);
  assert.equal(cache.get(1, "c", "a", 0), allow); // a is now most recent
  cache.set(1, "c", "d", 0, allow); // evicts b
  assert.equal(cache.get(1, "c", "b", 0), undefined);
  assert.equal(cache.get(1, "c", "a", 0), allow);
  assert.equal(cache.get(1, "c", "c", 0), allow);
  assert.equal(cache.get(1, "c", "d", 0), allow);
  assert.equal(cache.stats().evictions, 1);
  assert.equal(cache.stats().size, 3);
  // Overwriting an entry does not grow the cache.
  cache.set(1, "c", "d", 0, deny);
  assert.equal(cache.stats().size, 3);
  assert.equal(cache.get(1, "c", "d", 0), deny);
});

Deno.test("cache: invalidatePid and clear", () => {
  const cache = new DecisionCache({
    ttlMs: 1000,
    entriesMax: 100,
    clock: fakeClock().read,
  });
  for (const r of ["a", "b", "c"]) cache.set(7, "c", r, 0, allow);
  cache.set(8, "c", "a", 0, allow);
  assert.equal(cache.invalidatePid(7), 3);
  assert.equal(cache.invalidatePid(7), 0);
  assert.equal(
    cache.get(7, "c", "a", 0),
    undefined,
    "a recycled pid inherits nothing",
  );
  assert.equal(cache.get(8, "c", "a", 0), allow);
  cache.clear();
  assert.equal(cache.get(8, "c", "a", 0), undefined);
  assert.equal(cache.stats().invalidations, 4);
  assert.equal(cache.stats().size, 0);
  // Evicted entries leave the per-pid index too.
  const small = new DecisionCache({
    ttlMs: 1000,
    entriesMax: 1,
    clock: fakeClock().read,
  });
  small.set(1, "c", "a", 0, allow);
  small.set(2, "c", "a", 0, allow);
  assert.equal(small.invalidatePid(1), 0);
  assert.equal(small.invalidatePid(2), 1);
});

Deno.test("cache: non-cacheable decisions are refused", () => {
  let now = 0;
  const policy = compilePolicy({
    version: 1,
    rules: [{ effect: "allow", calls: ["x"], rate: { perSec: 1, burst: 1 } }],
  }, { clock: () => now });
  const cache = new DecisionCache({
    ttlMs: 1000,
    entriesMax: 10,
    clock: () => now,
  });
  const req = { call: "x" };
  const first = evaluate(policy, req);
  assert.equal(first.effect, "allow");
  assert.equal(
    cache.set(1, req.call, resourceKey(req), 0, first),
    false,
    "would bypass the rate",
  );
  const limited = evaluate(policy, req);
  assert.equal(cache.set(1, req.call, resourceKey(req), 0, limited), false);
  const invalid = evaluate(policy, { call: "" });
  assert.equal(cache.set(1, "", resourceKey(req), 0, invalid), false);
  assert.equal(cache.stats().size, 0);
  now += 1;
});

Deno.test("cache: bad options and ids are programmer errors", () => {
  const clock = fakeClock().read;
  assert.throws(
    () => new DecisionCache({ ttlMs: 0, entriesMax: 1 }),
    RangeError,
  );
  assert.throws(
    () => new DecisionCache({ ttlMs: NaN, entriesMax: 1 }),
    RangeError,
  );
  assert.throws(
    () => new DecisionCache({ ttlMs: 1e9, entriesMax: 1 }),
    RangeError,
  );
  assert.throws(
    () => new DecisionCache({ ttlMs: 1, entriesMax: 0 }),
    RangeError,
  );
  assert.throws(
    () => new DecisionCache({ ttlMs: 1, entriesMax: 1.5 }),
    RangeError,
  );
  assert.throws(
    () => new DecisionCache({ ttlMs: 1, entriesMax: 1e9 }),
    RangeError,
  );
  const cache = new DecisionCache({ ttlMs: 1, entriesMax: 1, clock });
  assert.throws(() => cache.get(-1, "c", "r", 0), RangeError);
  assert.throws(() => cache.get(1.5, "c", "r", 0), RangeError);
  assert.throws(() => cache.set(1, "c", "r", NaN, allow), RangeError);
});

Deno.test("cache property: behaves like a reference TTL + LRU map", () => {
  type Op =
    | { kind: "get" | "set"; pid: number; res: string; epoch: number }
    | { kind: "tick"; ms: number }
    | { kind: "inv"; pid: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom("get" as const, "set" as const),
      pid: fc.integer({ min: 0, max: 3 }),
      res: fc.constantFrom("a", "b", "c", "d"),
      epoch: fc.integer({ min: 0, max: 1 }),
    }),
    fc.record({
      kind: fc.constant("tick" as const),
      ms: fc.integer({ min: 0, max: 40 }),
    }),
    fc.record({
      kind: fc.constant("inv" as const),
      pid: fc.integer({ min: 0, max: 3 }),
    }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(opArb, { maxLength: 60 }),
      (max, ops) => {
        const clock = fakeClock();
        const cache = new DecisionCache({
          ttlMs: 50,
          entriesMax: max,
          clock: clock.read,
        });
        // Reference: an array in recency order (oldest first), one entry
        // per (pid, resource), remembering its epoch.
        let ref: Array<{ key: string; pid: number; epoch: number; exp: number }> = [];
        for (const op of ops) {
          if (op.kind === "tick") {
            clock.now += op.ms;
          } else if (op.kind === "inv") {
            cache.invalidatePid(op.pid);
            ref = ref.filter((e) => e.pid !== op.pid);
          } else {
            const key = `${op.pid}/${op.res}`;
            const at = ref.findIndex((e) => e.key === key);
            if (op.kind === "set") {
              cache.set(op.pid, "c", op.res, op.epoch, allow);
              if (at >= 0) ref.splice(at, 1);
              ref.push({ key, pid: op.pid, epoch: op.epoch, exp: clock.now + 50 });
              if (ref.length > max) ref.shift();
            } else {
              const got = cache.get(op.pid, "c", op.res, op.epoch);
              let want: Decision | undefined;
              const e = ref[at];
              if (at < 0) {
                // absent
              } else if (e.epoch !== op.epoch) {
                if (e.epoch < op.epoch) ref.splice(at, 1);
              } else if (clock.now < e.exp) {
                want = allow;
                ref.push(...ref.splice(at, 1));
              } else ref.splice(at, 1);
              assert.equal(got, want);
            }
          }
          assert.equal(cache.stats().size, ref.length);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
