/**
 * The fast path never allows what the slow path denies: the compiled
 * validator accepts only what zod accepts, and a dispatcher with the fast
 * path answers exactly like one without it over random calls and random
 * policy changes.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { agentLimitsDefault } from "../../../kernel/limits.ts";
import { ProcessTable } from "../../../kernel/process/table.ts";
import { builtinSyscalls } from "../../../kernel/syscall/builtin.ts";
import { Dispatcher } from "../../../kernel/syscall/dispatch.ts";
import { compileValidator, fastPathHitsMin } from "../../../kernel/syscall/fast_path.ts";
import { SyscallTable } from "../../../kernel/syscall/table.ts";
import { fsSyscalls } from "../../../sandbox/fs/syscalls.ts";
import { Workspaces } from "../../../sandbox/fs/workspace.ts";
import { PolicyLayer } from "../../../sandbox/policy_layer.ts";

const rows = [...builtinSyscalls({ write: () => {}, nowMs: () => 0 }), ...fsSyscalls(new Workspaces("/nonexistent"))];

const value = fc.oneof(
  fc.integer({ min: -3, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.base64String({ maxLength: 16 }),
  fc.constantFrom(1, 2, 0, -1, 1.5, Infinity, NaN, "1", "", "a.txt", "AAAA", "=="),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const keys = fc.constantFrom("path", "text", "data", "fd", "n", "recursive", "from", "to", "x", "__proto__");
const argsArb = fc.oneof(
  fc.dictionary(keys, value, { maxKeys: 4 }),
  fc.constant({}),
  fc.constant(null),
  fc.constant([]),
  fc.string(),
);

Deno.test("fast path: a compiled validator accepts only what zod accepts", () => {
  let compiled = 0;
  for (const row of rows) {
    const check = compileValidator(row.args);
    if (check === null) continue;
    compiled++;
    fc.assert(
      fc.property(argsArb, (args) => {
        if (check(args)) assert.ok(row.args.safeParse(args).success, `${row.name} ${JSON.stringify(args)}`);
      }),
      { numRuns: 400 },
    );
  }
  assert.ok(compiled >= 8, `compiled ${compiled} of ${rows.length}`);
  // And it is not vacuous: valid args pass it.
  assert.equal(compileValidator(z.strictObject({ n: z.int().min(0) }))!({ n: 3 }), true);
  assert.equal(compileValidator(z.strictObject({ n: z.int().min(0) }))!({ n: -1 }), false);
  assert.equal(compileValidator(z.strictObject({ n: z.int() }))!({ n: 1, extra: 1 }), false);
  assert.equal(compileValidator(z.object({ n: z.int() })), null);
});

const policies = [
  null,
  { version: 1, rules: [{ effect: "allow", calls: ["*"] }] },
  { version: 1, rules: [{ effect: "allow", calls: ["*"] }, { effect: "deny", calls: ["random.*"] }] },
  { version: 1, rules: [{ effect: "allow", calls: ["time.now", "io.write"] }] },
  { version: 1, rules: [{ effect: "allow", calls: ["*"], rate: { perSec: 5, burst: 5 } }] },
  { version: 1, rules: [{ effect: "deny", calls: ["*"] }] },
];
const callArb = fc.record({
  call: fc.constantFrom("time.now", "random.bytes", "io.write", "proc.info", "nope"),
  args: fc.oneof(
    fc.constant({}),
    fc.record({ n: fc.integer({ min: -2, max: 70_000 }) }),
    fc.record({ fd: fc.constantFrom(1, 2, 3), data: fc.string({ maxLength: 8 }) }),
    argsArb,
  ),
});
const stepArb = fc.oneof(
  { weight: 12, arbitrary: callArb.map((c) => ({ kind: "call" as const, ...c })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: policies.length - 1 }).map((i) => ({ kind: "policy" as const, i })),
  },
);

Deno.test("fast path: differential against the slow path over random calls and policy changes", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 50, maxLength: 200 }), async (steps) => {
      let now = 0;
      const make = (fastPath: boolean) => {
        const policy = new PolicyLayer(() => "/nonexistent");
        const table = new SyscallTable(builtinSyscalls({ write: () => {}, nowMs: () => 0 }));
        const dispatcher = new Dispatcher({
          table,
          fastPath,
          nowMs: () => now,
          confinement: {
            checkPath: () => {
              throw new Error("no paths here");
            },
            checkPolicy: (p, call, args, paths) => policy.check(p, call, args, paths),
            stableAllow: (p, call) => policy.stableAllow(p, call),
            policyEpoch: () => policy.epoch,
          },
        });
        const proc = new ProcessTable().create({
          tenant: "t",
          capabilities: [],
          limits: { ...agentLimitsDefault },
          nowMs: 0,
        });
        proc.state = "Running";
        return { policy, dispatcher, proc };
      };
      const fast = make(true);
      const slow = make(false);
      // Warm every call past the threshold so plans exist.
      for (let i = 0; i < fastPathHitsMin + 1; i++) {
        for (const call of ["time.now", "random.bytes", "io.write", "proc.info"]) {
          for (const side of [fast, slow]) await side.dispatcher.dispatch(side.proc, { id: i, call, args: {} });
        }
      }
      let id = 1000;
      for (const step of steps) {
        now += 1;
        if (step.kind === "policy") {
          fast.policy.setTenant("t", policies[step.i]);
          slow.policy.setTenant("t", policies[step.i]);
          continue;
        }
        const frame = { id: id++, call: step.call, args: step.args };
        const a = await fast.dispatcher.dispatch(fast.proc, frame);
        const b = await slow.dispatcher.dispatch(slow.proc, frame);
        const outcome = (c: typeof a) =>
          c.ok
            ? (step.call === "random.bytes" || step.call === "time.now" ? "ok" : JSON.stringify(c.value))
            : c.error.code;
        assert.equal(outcome(a), outcome(b), `${step.call} ${JSON.stringify(step.args)}`);
      }
      assert.ok(fast.dispatcher.fastHits > 0);
      assert.equal(slow.dispatcher.fastHits, 0);
    }),
    { numRuns: 60 },
  );
});
