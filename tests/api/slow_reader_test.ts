/**
 * A stalled SSE reader: the kernel keeps going, nothing is buffered for the
 * reader (it is a cursor into the ring), and a reader that falls behind is
 * told how many events it lost.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "./helpers.ts";

// Failing calls are never sampled out, so every one of them is an event.
const flood = `export default async () => {
  let failed = 0;
  for (let i = 0; i < 200; i++) {
    const out = await sys.batch(Array.from({ length: 1000 }, () => ({ call: "no.such.call" })));
    failed += out.filter((o) => !o.ok).length;
  }
  return failed;
}`;

Deno.test("sse: a reader that never reads never slows the kernel; its losses are reported", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "flood", { syscallsPerSec: 10_000_000 });
    const run = async () => {
      const started = performance.now();
      const res = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        // Generous wall and CPU limits: under a loaded machine 200k calls may take minutes, and that is not what is tested.
        json: { code: flood, limits: { syscallsPerSec: 1_000_000, wallMs: 600_000, cpuMs: 600_000 }, wait: true },
      });
      const done = await res.json();
      assert.equal(done.result, 200_000, done.message);
      return performance.now() - started;
    };
    const alone = await run();
    const stalled = await s.req("/v1/events?errors=true", { key: t.apiKey });
    assert.equal(stalled.status, 200);
    const rss = Deno.memoryUsage().rss;
    const withStalled = await run();
    const rssGrowthMb = (Deno.memoryUsage().rss - rss) / (1024 * 1024);
    console.log(
      `200k failing calls: ${alone.toFixed(0)} ms alone, ${withStalled.toFixed(0)} ms with a stalled reader, ` +
        `rss +${rssGrowthMb.toFixed(1)} MB`,
    );
    assert.ok(rssGrowthMb < 256, `rss grew ${rssGrowthMb.toFixed(1)} MB`);
    assert.ok(s.runtime.obs.ring.overwritten > 0, "the ring wrapped");
    await stalled.body?.cancel();
    // The same subscription object the SSE loop drives, read after the flood:
    // it lost what the ring overwrote and says so.
    const sub = s.service.feed.subscribe({ tenant: t.id, errors: true }, 0);
    const first = sub.take();
    sub.close();
    console.log(`a reader resuming from the start: ${first.dropped} events reported dropped`);
    assert.ok(first.dropped > 0);
    assert.equal(first.dropped + s.runtime.obs.ring.slots, s.runtime.obs.ring.nextSeq);
  });
});
