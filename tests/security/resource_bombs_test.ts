/**
 * Resource exhaustion through real cells: heap and off-heap bombs, busy
 * loops, microtask/interval floods, output floods, giant strings,
 * WebAssembly.Memory and SharedArrayBuffer growth, Worker-in-Worker
 * spawning, deep recursion, and syscall floods against the per-agent rate.
 * Each ends with a kill reason (never `exit` with a success), leaves nothing
 * held, and a bystander agent running alongside completes normally.
 */
import assert from "node:assert/strict";
import { assertNothingHeld, guest, withRuntime } from "../helpers.ts";
import { assertBystanderOk, assertRuntimeServes, startBystander } from "./helpers.ts";

interface Bomb {
  name: string;
  code: string;
  limits: Record<string, number>;
  reasons: string[];
}

const bombs: Bomb[] = [
  { name: "heap bomb", code: guest("heap_bomb.js"), limits: { memoryMb: 64 }, reasons: ["memory"] },
  { name: "off-heap bomb", code: guest("arraybuffer_bomb.js"), limits: { memoryMb: 64 }, reasons: ["memory"] },
  { name: "busy loop", code: guest("busy_loop.js"), limits: { cpuMs: 300 }, reasons: ["cpu"] },
  { name: "microtask flood", code: guest("microtask_flood.js"), limits: { cpuMs: 300 }, reasons: ["cpu"] },
  { name: "output flood", code: guest("output_flood.js"), limits: { outputBytes: 32 * 1024 }, reasons: ["output"] },
  {
    name: "setInterval flood",
    code:
      `export default () => { for (let i = 0; i < 20000; i++) setInterval(() => { let x = 0; for (let j = 0; j < 1000; j++) x += j; }, 0); return new Promise(() => {}); }`,
    limits: { cpuMs: 400, memoryMb: 64 },
    reasons: ["cpu", "memory"],
  },
  {
    name: "giant string",
    code: `export default () => { let s = "x"; const keep = []; for (;;) { s = s + s; keep.push(s + "y"); } }`,
    limits: { memoryMb: 64 },
    reasons: ["error", "memory"],
  },
  {
    name: "WebAssembly.Memory growth",
    code: `export default () => {
      const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      for (;;) { const old = mem.buffer.byteLength; mem.grow(512); new Uint8Array(mem.buffer).fill(1, old); }
    }`,
    limits: { memoryMb: 64 },
    reasons: ["memory", "error"],
  },
  {
    name: "SharedArrayBuffer bomb",
    code:
      `export default () => { const keep = []; for (;;) { const b = new SharedArrayBuffer(32 * 1024 * 1024); new Uint8Array(b).fill(1); keep.push(b); } }`,
    limits: { memoryMb: 64 },
    reasons: ["memory"],
  },
  {
    name: "Worker-in-Worker spawning",
    code: `export default () => {
      const src = "const k=[]; for (let i=0;i<8;i++) { try { new Worker(self.location?.href ?? import.meta.url, { type: 'module' }); } catch {} } for(;;){ k.push(new Uint8Array(8<<20).fill(1)); }";
      const url = "data:text/javascript," + encodeURIComponent(src);
      for (let i = 0; i < 64; i++) new Worker(url, { type: "module" });
      return new Promise(() => {});
    }`,
    limits: { memoryMb: 64, cpuMs: 3000, wallMs: 8000 },
    // "error" only when the sandbox refuses `new Worker` outright (checked below).
    reasons: ["memory", "cpu", "timeout", "error"],
  },
  {
    name: "deep recursion",
    code: `export default () => { const f = (n) => f(n + 1) + 1; return f(0); }`,
    limits: {},
    reasons: ["error"],
  },
];

for (const bomb of bombs) {
  Deno.test(`security bombs: ${bomb.name} ends with ${bomb.reasons.join("/")}, bystander unaffected, nothing held`, async () => {
    await withRuntime(async (runtime, dataDir) => {
      const bystander = startBystander(runtime);
      const r = await runtime.run({ code: bomb.code, limits: { wallMs: 15_000, ...bomb.limits } });
      assert.ok(bomb.reasons.includes(r.reason), `${bomb.name}: ${r.reason} (${r.message})`);
      assert.notEqual(r.exitCode, 0);
      if (bomb.name === "deep recursion") assert.match(r.message ?? "", /call stack/);
      if (bomb.name.startsWith("Worker") && r.reason === "error") {
        assert.match(r.message ?? "", /Worker is not available/);
      }
      await assertNothingHeld(runtime, dataDir, r.pid);
      await assertBystanderOk(bystander);
      await assertRuntimeServes(runtime);
    });
  });
}

Deno.test("security bombs: a syscall flood over limits.syscallsPerSec gets EAGAIN; the bystander completes", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const quietMedian = await assertBystanderOk(startBystander(runtime));
    const flooder = runtime.run({
      code: `export default async () => {
        const counts = {};
        const t0 = Date.now();
        while (Date.now() - t0 < 1500) {
          const calls = Array.from({ length: 200 }, () => sys.time.now().then(() => "ok", (e) => e.code));
          for (const c of await Promise.all(calls)) counts[c] = (counts[c] ?? 0) + 1;
          const batch = await sys.batch(Array.from({ length: 200 }, () => ({ call: "time.now" })));
          for (const b of batch) { const c = b.ok ? "ok" : b.error.code; counts[c] = (counts[c] ?? 0) + 1; }
        }
        return counts;
      }`,
      limits: { syscallsPerSec: 50 },
    });
    await new Promise((r) => setTimeout(r, 200));
    const busyMedian = await assertBystanderOk(startBystander(runtime));
    const r = await flooder;
    assert.equal(r.reason, "exit", r.message);
    const counts = r.result as Record<string, number>;
    console.log(
      `syscall flood: flooder ${JSON.stringify(counts)}; bystander median ${quietMedian.toFixed(3)} ms quiet, ` +
        `${busyMedian.toFixed(3)} ms during the flood`,
    );
    assert.ok((counts.EAGAIN ?? 0) > 0, "the rate limit answered EAGAIN");
    assert.ok((counts.ok ?? 0) <= 50 * 3, `far more calls than the rate allows: ${counts.ok}`);
    assert.deepEqual(Object.keys(counts).filter((k) => k !== "ok" && k !== "EAGAIN"), []);
    await assertNothingHeld(runtime, dataDir, r.pid);
  });
});
