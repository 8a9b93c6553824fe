/**
 * The cell series on `/metrics`: stale directories removed at start (by
 * kind), spawns waiting for a start slot, and cells handed out or refused
 * by kind — read from a real runtime through the server's registry.
 */
import assert from "node:assert/strict";
import { serverMetrics } from "../../api/metrics.ts";
import { parsePrometheusText, sampleValue } from "../../observability/prom_parse.ts";
import { Runtime } from "../../sandbox/runtime.ts";

Deno.test("metrics: stale directories removed at start, start waits and refusals are series", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-test-" });
  try {
    for (const dir of ["cells/a-stale", "cells/b-stale", "workspaces/3-deadbeef"]) {
      await Deno.mkdir(`${dataDir}/${dir}`, { recursive: true });
    }
    // No recycled cell: after the warm one, every spawn needs a cold start (the gate is what is measured).
    const runtime = new Runtime({ dataDir, poolSize: 1, cellStartsMax: 1, cellStartWaitMsMax: 100, cellReuse: false });
    await runtime.start();
    try {
      const metrics = serverMetrics(runtime, () => undefined, new Set(runtime.dispatcher.calls()));
      const release = await runtime.pool.gate.admit({ tenant: "test" });
      await runtime.run({ code: "export default () => 1" }); // the warm cell
      await assert.rejects(runtime.spawn({ code: "export default () => 1" }), /cells busy/);
      release();
      const families = parsePrometheusText(metrics.expose());
      assert.equal(sampleValue(families, "agentos_stale_dirs_removed_total", { kind: "cells" }), 2);
      assert.equal(sampleValue(families, "agentos_stale_dirs_removed_total", { kind: "workspaces" }), 1);
      assert.equal(sampleValue(families, "agentos_cell_starts_total", { kind: "warm_hit" }), 1);
      assert.equal(sampleValue(families, "agentos_cell_starts_total", { kind: "refused" }), 1);
      assert.equal(sampleValue(families, "agentos_cell_starts_waiting", {}), 0);
    } finally {
      await runtime.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
