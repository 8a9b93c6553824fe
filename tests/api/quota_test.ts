/**
 * The spawn memory quota counts what the agent gets: limits are resolved
 * once (with the tenant's ceilings) and the resolved `rssMb` is reserved.
 * Regression test of the kernel-redesign issue: `memoryMb: 2048` reserved
 * 256 MB against `rssMbTotal` while the agent got 2144 MB.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "./helpers.ts";

Deno.test("quota: memoryMb reserves the resolved rssMb (heap + cell overhead) against rssMbTotal", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "big", { rssMbTotal: 1000 });
    const spawn = (memoryMb: number) =>
      s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code: "export default () => 1", limits: { memoryMb }, wait: true },
      });
    // 2048 + 96 MB would pass 1000: refused before anything starts.
    const big = await spawn(2048);
    const body = await big.json();
    assert.equal(big.status, 429, JSON.stringify(body));
    assert.equal(body.error.code, "quota_memory");
    // 800 + 96 fits.
    const fits = await spawn(800);
    assert.equal(fits.status, 200, await fits.text());
  });
});
