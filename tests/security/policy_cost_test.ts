/**
 * Red-team finding: a complex agent policy starves others. 20 rules × 64
 * backtracking globs made a bystander 19–42× slower: the engine's
 * per-evaluation step budget bounded one evaluation, not how many an agent
 * triggers. Containment:
 * - such a document is refused at parse time (`policyMatchCostMax`), at
 *   spawn and in `proc.spawn`, with an error naming the budget;
 * - a document under the cap that is still expensive per request has its
 *   matcher steps charged to the agent that causes them: that agent gets
 *   `EAGAIN` once its step budget is spent; a bystander tenant never does.
 * The bystander's p99 before and during is printed, never asserted.
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";
import { agentRoundTrips, reportRatio } from "./bystander.ts";
import { KernelError } from "../../kernel/errno.ts";

const hostileSegment = Array(12).fill("*a").join("") + "*b";

/** The red team's document: 20 rules × 64 backtracking globs. */
const starving = {
  version: 1,
  rules: [
    ...Array.from({ length: 20 }, (_, i) => ({
      effect: "deny",
      calls: ["fs.*"],
      paths: Array.from({ length: 64 }, (_, j) => `**/${hostileSegment}${i}x${j}/**`),
    })),
    { effect: "allow", calls: ["*"] },
  ],
};

/** Under the cap (100 × 18 = 1,800), but each request can still cost the engine's per-call ceiling. */
const expensive = {
  version: 1,
  rules: [
    ...Array.from({ length: 100 }, (_, i) => ({
      effect: "deny",
      calls: ["fs.*"],
      paths: [`**/${hostileSegment}${i}/**`],
    })),
    { effect: "allow", calls: ["*"] },
  ],
};

/** A bystander that makes cache-missing policy evaluations of its own: distinct paths. */
const fsBystander = `export default async () => {
  const codes = {};
  for (let i = 0; i < 150; i++) {
    for (const op of [() => sys.fs.writeText("f" + i + ".txt", "x"), () => sys.fs.stat("f" + i + ".txt")]) {
      try { await op(); codes.ok = (codes.ok ?? 0) + 1; } catch (e) { codes[e.code] = (codes[e.code] ?? 0) + 1; }
    }
  }
  return codes;
}`;

Deno.test("security policy cost: a document over policyMatchCostMax is refused at spawn and in proc.spawn", async () => {
  await withRuntime(async (runtime) => {
    const quiet = await agentRoundTrips(runtime, "bystander");
    await assert.rejects(
      runtime.spawn({ tenant: "red", code: "export default () => 1", policy: starving }),
      (err: unknown) => err instanceof KernelError && err.code === "EINVAL" && /policyMatchCostMax/.test(err.message),
    );
    const attack = await runtime.spawn({
      tenant: "red",
      capabilities: ["proc.spawn", "fs.read"],
      code: `export default async () => {
        const out = [];
        for (let i = 0; i < 200; i++) {
          try { await sys.proc.spawn({ code: "export default () => 1", capabilities: ["fs.read"],
            policy: ${JSON.stringify(starving)} }); out.push("spawned"); }
          catch (e) { out.push(e.code + ": " + e.message); }
        }
        return out;
      }`,
    });
    const during = await agentRoundTrips(runtime, "bystander");
    const r = await attack.done;
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as string[];
    assert.equal(out.length, 200);
    for (const line of out) assert.match(line, /^EINVAL: .*policyMatchCostMax/);
    reportRatio("spawning children with a 20×64-glob policy", quiet, during);
  });
});

Deno.test("security policy cost: matcher steps are charged to the agent that causes them", async () => {
  await withRuntime(async (runtime) => {
    const quiet = await agentRoundTrips(runtime, "bystander");
    const path = Array(12).fill("a".repeat(200)).join("/");
    const attack = await runtime.spawn({
      tenant: "red",
      capabilities: ["fs.read"],
      policy: expensive,
      // The deep directory exists (seeded, no policy check): each stat below costs the path layer little.
      files: { [`${path}/seed.txt`]: "x" },
      code: `export default async () => {
        const codes = {};
        let message = "";
        for (let round = 0; round < 10; round++) {
          const calls = Array.from({ length: 64 }, (_, i) =>
            ({ call: "fs.stat", args: { path: ${JSON.stringify(path)} + "/" + round + "-" + i } }));
          for (const r of await sys.batch(calls)) {
            const code = r.ok ? "OK" : r.error.code;
            codes[code] = (codes[code] ?? 0) + 1;
            if (code === "EAGAIN") message = r.error.message;
          }
        }
        return { codes, message };
      }`,
    });
    const during = await agentRoundTrips(runtime, "bystander");
    const bystanderFs = await runtime.run({
      tenant: "bystander",
      capabilities: ["fs.read", "fs.write"],
      code: fsBystander,
    });
    const r = await attack.done;
    assert.equal(r.reason, "exit", r.message);
    const { codes, message } = r.result as { codes: Record<string, number>; message: string };
    console.log(`attacker: ${JSON.stringify(codes)}`);
    assert.ok((codes.EAGAIN ?? 0) > 0, `the attacker was never charged: ${JSON.stringify(codes)}`);
    assert.match(message, /policyStepsPerAgentPerSecMax/);
    assert.equal(codes.OK ?? 0, 0, "past the per-call ceiling a request is never allowed");
    assert.equal(bystanderFs.reason, "exit", bystanderFs.message);
    assert.deepEqual(bystanderFs.result, { ok: 300 }, "the bystander never gets EAGAIN");
    reportRatio("an agent with an expensive policy floods cache-missing fs calls", quiet, during);
  });
});
