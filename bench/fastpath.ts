/**
 * Hot-syscall fast path on vs off, in one run: the kernel's dispatch path
 * in-process (validation, capability, quota, policy with a 100-rule tenant
 * policy and its decision cache, handler), no cell transport.
 *
 *   deno run -A bench/fastpath.ts [--quick]
 *
 * @module
 */

import { KernelEnforcer, TenantTable } from "../kernel/tenants/mod.ts";
import { ProcessTable } from "../kernel/process/table.ts";
import { builtinSyscalls } from "../kernel/syscall/builtin.ts";
import { Dispatcher } from "../kernel/syscall/dispatch.ts";
import { SyscallTable } from "../kernel/syscall/table.ts";
import { PolicyLayer } from "../sandbox/policy_layer.ts";

/** A rate no benchmark reaches: the enforcer's checks run, and never refuse. */
const unlimitedRate = 1e12;
const unlimited = () => {
  const tenants = new TenantTable();
  tenants.setQuotas("t", { syscallsPerSec: unlimitedRate });
  return new KernelEnforcer(tenants);
};

const quick = Deno.args.includes("--quick");
const callsPerRep = quick ? 50_000 : 200_000;
const reps = quick ? 5 : 9;

const rules = Array.from({ length: 99 }, (_, i) => ({
  effect: i % 3 === 0 ? "deny" : "allow",
  calls: [`fs.${["readText", "writeText", "stat"][i % 3]}`],
  paths: [`dir${i}/**`],
}));
const policyDoc = { version: 1, rules: [...rules, { id: "sdk", effect: "allow", calls: ["time.now", "io.write"] }] };

function setup(fastPath: boolean) {
  const policy = new PolicyLayer(() => "/nonexistent");
  policy.setTenant("t", policyDoc);
  const dispatcher = new Dispatcher({
    limits: unlimited(),
    table: new SyscallTable(builtinSyscalls({ write: () => {}, nowMs: () => 0 })),
    fastPath,
    confinement: {
      checkPath: () => {
        throw new Error("unused");
      },
      checkPolicy: (p, call, args, paths) => policy.check(p, call, args, paths),
      stableAllow: (p, call) => policy.stableAllow(p, call),
      policyEpoch: () => policy.epoch,
    },
  });
  const proc = new ProcessTable().create({
    tenant: "t",
    capabilities: [],
    limits: {
      heapMb: 128,
      rssMb: 256,
      wallMs: 1,
      cpuMs: 1,
      outputBytes: 1,
      diskBytes: 1,
      filesMax: 1,
      syscallsPerSec: unlimitedRate, // the rate check still runs; it never refuses
    },
    nowMs: 0,
  });
  proc.state = "Running";
  return { dispatcher, proc };
}

async function measure(fastPath: boolean, call: string, args: unknown): Promise<number> {
  const { dispatcher, proc } = setup(fastPath);
  const frame = { id: 1, call, args };
  for (let i = 0; i < 2_000; i++) await dispatcher.dispatch(proc, frame);
  const started = performance.now();
  for (let i = 0; i < callsPerRep; i++) {
    const done = await dispatcher.dispatch(proc, frame);
    if (!done.ok) throw new Error(`${call}: ${done.error.code}`);
  }
  const elapsed = performance.now() - started;
  if (fastPath && dispatcher.fastHits === 0) throw new Error("fast path never engaged");
  return callsPerRep / (elapsed / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => `${(n / 1000).toFixed(0)}k`;

console.log(`\n## Fast path (dispatch in-process, 100-rule tenant policy, ${reps} reps × ${callsPerRep} calls)\n`);
console.log("| call | fast path off (calls/s) | fast path on (calls/s) | ratio |");
console.log("|---|---:|---:|---:|");
for (const [call, args] of [["time.now", {}], ["io.write", { fd: 1, data: "hello world\n" }]] as const) {
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < reps; r++) {
    off.push(await measure(false, call, args));
    on.push(await measure(true, call, args));
  }
  console.log(`| ${call} | ${fmt(median(off))} | ${fmt(median(on))} | ${(median(on) / median(off)).toFixed(2)}× |`);
}
