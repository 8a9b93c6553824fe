/**
 * The cell's relay under an output flood, through real cells: the agent's
 * console waits for the supervisor once the cell holds `cellRelayCharsMax`
 * characters (backpressure), so a flood cannot grow the cell's memory and
 * always ends with `output`; console output too long for one frame is sent
 * in several and arrives whole (nothing is refused for its size).
 */
import assert from "node:assert/strict";
import { guest, withRuntime } from "../../helpers.ts";

Deno.test("relay: a 16 MiB output flood in a cell with 32 MB heaps ends with output, never memory", async () => {
  await withRuntime(async (runtime) => {
    for (let i = 0; i < 2; i++) {
      const r = await runtime.run({
        code: guest("output_flood.js"),
        limits: { outputBytes: 16 * 1024 * 1024, heapMb: 32, rssMb: 512, wallMs: 120_000, cpuMs: 120_000 },
      });
      assert.equal(r.reason, "output", `${r.reason}: ${r.message}`);
      assert.ok(r.usage.outputBytes > 16 * 1024 * 1024);
    }
  });
});

Deno.test("relay: a raw postMessage flood (past the SDK) waits the same way and ends with output", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default () => {
        const frame = JSON.stringify({ id: 0, call: "io.write", args: { fd: 1, data: "y".repeat(4096) + "\\n" } });
        for (;;) postMessage(frame);
      }`,
      limits: { outputBytes: 16 * 1024 * 1024, heapMb: 32, rssMb: 512, wallMs: 120_000, cpuMs: 120_000 },
    });
    assert.equal(r.reason, "output", `${r.reason}: ${r.message}`);
  });
});

Deno.test("relay: the agent's postMessage takes only string frames and cannot be replaced", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default () => {
        const attempt = (f) => { try { f(); return "ok"; } catch (e) { return e.name; } };
        return [
          attempt(() => postMessage({ t: "exit", code: 0 })),
          attempt(() => { globalThis.postMessage = () => {}; }),
          attempt(() => Object.defineProperty(globalThis, "postMessage", { value: () => {} })),
        ];
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    assert.deepEqual(r.result, ["TypeError", "TypeError", "TypeError"]);
  });
});

Deno.test("relay: one console.log of 3 MiB arrives whole, in several frames", async () => {
  await withRuntime(async (runtime) => {
    const chars = 3 * 1024 * 1024;
    const r = await runtime.run({
      code: `export default () => { console.log("a" + "x".repeat(${chars - 2}) + "z"); return 1; }`,
      limits: { outputBytes: 8 * 1024 * 1024 },
    });
    assert.equal(r.reason, "exit", r.message);
    assert.equal(r.usage.outputBytes, chars + 1);
    assert.ok(r.stdout.startsWith("axxx"));
    assert.ok(r.stdout.endsWith("xxz\n"));
  });
});

Deno.test("relay: output split across frames keeps a surrogate pair whole", async () => {
  await withRuntime(async (runtime) => {
    // 256 Ki characters per frame: put a pair across the first boundary.
    const r = await runtime.run({
      code: `export default () => { console.log("x".repeat(256 * 1024 - 1) + "\\u{1F600}" + "y"); return 1; }`,
    });
    assert.equal(r.reason, "exit", r.message);
    assert.equal(r.usage.outputBytes, 256 * 1024 + 3);
    assert.ok(r.stdout.endsWith("x\u{1F600}y\n"), "the pair was split or lost");
  });
});
