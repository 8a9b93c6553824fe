import assert from "node:assert/strict";
import {
  AdaptiveSampler,
  alwaysKeptCategories,
  categoriesMax,
  overheadRatioMax,
  sampleRateMin,
} from "../../observability/mod.ts";

Deno.test("sampler: always-kept categories survive any pressure", () => {
  const sampler = new AdaptiveSampler({ seed: 1 });
  for (let i = 0; i < 50; i++) sampler.adjust(50, 100); // 50% overhead
  assert.equal(sampler.rate("syscall"), sampleRateMin);
  for (const category of alwaysKeptCategories) {
    assert.equal(sampler.rate(category), 1);
    for (let i = 0; i < 10_000; i++) {
      assert.equal(sampler.shouldSample(category), true);
    }
  }
  assert.deepEqual(
    [...alwaysKeptCategories].sort(),
    ["anomaly", "denial", "error", "limit", "lifecycle"].sort(),
  );
  sampler.setRate("denial", 0.01); // ignored: never sampled out
  assert.equal(sampler.rate("denial"), 1);
});

Deno.test("sampler: rates decrease over budget and recover below half of it", () => {
  const sampler = new AdaptiveSampler({ seed: 2 });
  assert.equal(sampler.rate("syscall"), 1);
  assert.equal(sampler.adjust(5, 100), 0.05);
  assert.equal(sampler.rate("syscall"), 0.5);
  sampler.adjust(5, 100);
  assert.equal(sampler.rate("syscall"), 0.25);
  // Inside [max/2, max]: hold.
  sampler.adjust(1.5, 100);
  assert.equal(sampler.rate("syscall"), 0.25);
  // Floors at 1/1024.
  for (let i = 0; i < 30; i++) sampler.adjust(5, 100);
  assert.equal(sampler.rate("syscall"), sampleRateMin);
  // Recovers multiplicatively once well under budget, capped at 1.
  let steps = 0;
  while (sampler.rate("syscall") < 1) {
    sampler.adjust(overheadRatioMax * 100 * 0.25, 100);
    steps++;
    assert.ok(steps < 100);
  }
  assert.equal(sampler.rate("syscall"), 1);
  assert.ok(steps > 10, `recovered in ${steps} steps`); // gentle, not a jump
  assert.ok(Math.abs(sampler.lastShare - 0.005) < 1e-12);
});

Deno.test("sampler: no kernel time means no change", () => {
  const sampler = new AdaptiveSampler();
  assert.ok(Number.isNaN(sampler.adjust(5, 0)));
  assert.ok(Number.isNaN(sampler.adjust(NaN, 10)));
  assert.equal(sampler.rate("syscall"), 1);
});

Deno.test("sampler: keep fraction follows the rate (seeded xorshift32)", () => {
  const sampler = new AdaptiveSampler({ seed: 12345 });
  sampler.setRate("syscall", 0.25);
  sampler.setRate("output", sampleRateMin);
  let kept = 0;
  let keptOutput = 0;
  const n = 1_048_576;
  for (let i = 0; i < n; i++) {
    if (sampler.shouldSample("syscall")) kept++;
    if (sampler.shouldSample("output")) keptOutput++;
  }
  assert.ok(Math.abs(kept / n - 0.25) < 0.005, `kept ${kept / n}`);
  assert.ok(Math.abs(keptOutput - 1_024) < 200, `kept ${keptOutput}`);
  const stats = sampler.stats().find((s) => s.category === "syscall")!;
  assert.equal(stats.kept + stats.dropped, n);
  assert.equal(stats.rate, 0.25);
  // Same seed, same decisions.
  const a = new AdaptiveSampler({ seed: 9 });
  const b = new AdaptiveSampler({ seed: 9 });
  a.setRate("x", 0.5);
  b.setRate("x", 0.5);
  for (let i = 0; i < 1_000; i++) {
    assert.equal(a.shouldSample("x"), b.shouldSample("x"));
  }
});

Deno.test("sampler: categories are bounded and share 'other' past the bound", () => {
  const sampler = new AdaptiveSampler();
  for (let i = 0; i < categoriesMax + 10; i++) sampler.shouldSample(`c${i}`);
  assert.equal(sampler.stats().length, categoriesMax);
  const other = sampler.stats().find((s) => s.category === "other")!;
  assert.ok(other.kept >= 10);
  assert.throws(() => new AdaptiveSampler({ decreaseFactor: 1 }));
  assert.throws(() => new AdaptiveSampler({ increaseFactor: 1 }));
});
