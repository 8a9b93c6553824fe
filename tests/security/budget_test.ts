/**
 * One agent cannot grow, freeze or silence the supervisor through its
 * syscall channel: bytes in flight are budgeted per agent, tenant and
 * server; batch answers are streamed in bounded lines; frames nested too
 * deep are refused while they arrive; every frame gets an answer.
 *
 * Findings 1, 3 (frames) and 9 of the isolation issue. Bystander ratios
 * are printed, never asserted (see `bystander.ts`).
 */

import assert from "node:assert/strict";
import { agentInflightBytesMax, batchAnswerBytesMax, batchCallsMax, jsonDepthMax } from "../../kernel/limits.ts";
import { withRuntime } from "../helpers.ts";
import { agentRoundTrips, reportRatio } from "./bystander.ts";

/** Reads in the hostile batch (the finding used 1,000 of a 4 MiB file). */
const hostileReads = 1000;

/** Guest helper: post raw frames past the SDK and collect the raw answers by id. */
const rawChannel = `
  const answers = new Map();
  let lines = 0;
  globalThis.addEventListener("message", (e) => {
    if (typeof e.data !== "string" || e.data.startsWith('{"t":')) return;
    lines++;
    const msg = JSON.parse(e.data);
    for (const c of Array.isArray(msg.batch) ? msg.batch : [msg]) if (c.id >= 1_000_000) answers.set(c.id, c);
  });
  const waitFor = async (ids) => {
    for (let i = 0; i < 2000 && !ids.every((id) => answers.has(id)); i++) await new Promise((r) => setTimeout(r, 5));
    return ids.map((id) => answers.get(id)?.error?.code ?? (answers.get(id)?.ok ? "ok" : "none"));
  };
`;

Deno.test("security budget: a batch of 1,000 reads of a 4 MiB file is held to the agent's budget, every call answered", async () => {
  await withRuntime(async (runtime) => {
    const quiet = await agentRoundTrips(runtime, "bystander");
    const attacker = await runtime.spawn({
      tenant: "attacker",
      capabilities: ["fs.read", "fs.write"],
      limits: { wallMs: 60_000 },
      code: `export default async () => {
        await sys.fs.writeBytes("big", new Uint8Array(4 * 1024 * 1024).fill(7));
        const calls = Array.from({ length: ${hostileReads} }, () => ({ call: "fs.readBytes", args: { path: "big" } }));
        const done = await sys.batch(calls);
        const codes = {};
        let bytes = 0;
        for (const r of done) {
          const code = r.ok ? "ok" : r.error.code;
          codes[code] = (codes[code] ?? 0) + 1;
          if (r.ok) bytes += r.value.length;
        }
        return { codes, bytes, answered: done.length };
      }`,
    });
    const during = await agentRoundTrips(runtime, "bystander");
    const r = await attacker.done;
    reportRatio(`batch of ${hostileReads} fs.readBytes of 4 MiB`, quiet, during);
    assert.equal(r.reason, "exit", r.message);
    const result = r.result as { codes: Record<string, number>; bytes: number; answered: number };
    console.log(`attacker: ${JSON.stringify(result.codes)}, peak ${attacker.inflight.peak} bytes in flight`);
    assert.equal(result.answered, hostileReads);
    assert.equal((result.codes.ok ?? 0) + (result.codes.EAGAIN ?? 0), hostileReads, JSON.stringify(result.codes));
    assert.ok((result.codes.ok ?? 0) >= 1, "no read got through");
    assert.ok((result.codes.EAGAIN ?? 0) >= 1, "the budget never refused a read");
    // Exact containment: the agent never held more than its budget, and the server's peak stays below two budgets
    // (the bystander's frames are the only other bytes in flight).
    assert.ok(attacker.inflight.peak <= agentInflightBytesMax, `agent peak ${attacker.inflight.peak}`);
    assert.ok(runtime.tenants.stats().inflightBytesPeak <= 2 * agentInflightBytesMax);
    assert.equal(attacker.inflight.held, 0, "bytes still held after the agent ended");
  });
});

Deno.test("security budget: a batch answer larger than one line is streamed in lines of at most batchAnswerBytesMax", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      capabilities: ["fs.read", "fs.write"],
      code: `${rawChannel}
      export default async () => {
        await sys.fs.writeBytes("m", new Uint8Array(1024 * 1024).fill(1));
        const before = lines;
        const calls = Array.from({ length: 24 }, () => ({ call: "fs.readBytes", args: { path: "m" } }));
        const done = await sys.batch(calls);
        return { ok: done.filter((d) => d.ok).length, codes: done.filter((d) => !d.ok).map((d) => d.error.code), lines: lines - before };
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const result = r.result as { ok: number; codes: string[]; lines: number };
    assert.equal(result.ok + result.codes.length, 24);
    assert.ok(result.codes.every((c) => c === "EAGAIN"), JSON.stringify(result.codes));
    // Each read answers ~1.4 MB of base64: more than one line is needed whatever the budget let through.
    const answerBytes = result.ok * Math.ceil((1024 * 1024) / 3) * 4;
    assert.ok(result.lines >= Math.ceil(answerBytes / batchAnswerBytesMax), `${result.lines} lines for ${answerBytes}`);
  });
});

Deno.test("security budget: every frame gets an answer — oversize calls and batches, batches over the cap, deep args", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      capabilities: ["fs.write"],
      code: `${rawChannel}
      export default async () => {
        const out = {};
        const code = async (p) => { try { await p; return "ok"; } catch (e) { return e.code; } };
        out.oversizeCall = await code(sys.fs.writeText("a", "x".repeat(9 * 1024 * 1024)));
        out.oversizeBatch = (await sys.batch([{ call: "fs.writeText", args: { path: "a", text: "x".repeat(9 * 1024 * 1024) } }]))
          .map((d) => d.ok ? "ok" : d.error.code);
        const many = await sys.batch(Array.from({ length: ${batchCallsMax + 1} }, () => ({ call: "time.now" })));
        out.batchOverCap = [...new Set(many.map((d) => d.ok ? "ok" : d.error.code))];
        let deep = [];
        for (let i = 0; i < 3000; i++) deep = [deep];
        out.deepArgs = await code(sys.call("fs.stat", { path: deep }));
        // Past the SDK: raw frames straight to the channel.
        postMessage(JSON.stringify({ batch: Array.from({ length: ${
        batchCallsMax + 1
      } }, (_, i) => ({ id: 1_000_000 + i, call: "time.now", args: {} })) }));
        out.rawBatchOverCap = [...new Set(await waitFor(Array.from({ length: ${
        batchCallsMax + 1
      } }, (_, i) => 1_000_000 + i)))];
        postMessage('{"id":1100000,"call":"fs.stat","args":{"path":' + "[".repeat(100_000) + "]".repeat(100_000) + "}}");
        out.rawDeep = await waitFor([1_100_000]);
        postMessage('{"id":1100001,"call":"fs.writeText","args":{"path":"a","text":"' + "y".repeat(9 * 1024 * 1024) + '"}}');
        out.rawOversize = await waitFor([1_100_001]);
        out.after = await code(sys.fs.writeText("b", "still works"));
        return out;
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    assert.deepEqual(r.result, {
      oversizeCall: "E2BIG",
      oversizeBatch: ["E2BIG"],
      batchOverCap: ["E2BIG"],
      deepArgs: "EINVAL",
      rawBatchOverCap: ["E2BIG"],
      rawDeep: ["EINVAL"],
      rawOversize: ["E2BIG"],
      after: "ok",
    });
  });
});

Deno.test("security budget: frames of 8 MiB nesting 4M deep are refused unparsed, with their ids, and charged", async () => {
  await withRuntime(async (runtime) => {
    const quiet = await agentRoundTrips(runtime, "bystander");
    const depth = 4 * 1024 * 1024 - 64;
    const attacker = runtime.run({
      tenant: "attacker",
      limits: { wallMs: 60_000, syscallsPerSec: 1000 },
      code: `${rawChannel}
      export default async () => {
        const open = "[".repeat(${depth}), close = "]".repeat(${depth});
        const ids = [];
        for (let i = 0; i < 8; i++) {
          const id = 1_200_000 + i;
          ids.push(id);
          postMessage('{"id":' + id + ',"call":"fs.stat","args":{"path":' + open + close + '}}');
        }
        return await waitFor(ids);
      }`,
    });
    const during = await agentRoundTrips(runtime, "bystander");
    const r = await attacker;
    reportRatio("8 frames of 8 MiB nested 4M deep", quiet, during);
    assert.equal(r.reason, "exit", r.message);
    assert.deepEqual(r.result, Array(8).fill("EINVAL"));
    // Bad frames cost the sender: each one counted as a failed syscall of the attacker.
    assert.ok(r.usage.errors >= 8, `errors ${r.usage.errors}`);
    assert.ok(jsonDepthMax < depth);
  });
});
