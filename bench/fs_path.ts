/**
 * The path check's cost: `fs.readText`, `fs.stat` and `fs.writeText` of an
 * existing 1 KiB file through the Dispatcher in-process (validation,
 * capability, path confinement, a tenant policy with a path glob and its
 * decision cache, the handler with its open-handle verification), wired as
 * `sandbox/runtime.ts` wires them, with no cell transport. Counts the host
 * metadata calls each call makes (`Deno.realPath`, `Deno.lstat`,
 * `Deno.stat`, `Deno.FsFile#stat`) and the opens, then measures calls per
 * second with the counters removed: one call at a time, and 16 in flight,
 * and the process CPU (all threads, user + system) per call one at a time,
 * which a busy machine distorts less than the rates.
 *
 *   deno run -A bench/fs_path.ts [--quick]
 *
 * @module
 */

import { agentLimitsMax } from "../kernel/limits.ts";
import { type Process, ProcessTable } from "../kernel/process/table.ts";
import { Dispatcher } from "../kernel/syscall/dispatch.ts";
import { KernelEnforcer, TenantTable } from "../kernel/tenants/mod.ts";
import { SyscallTable } from "../kernel/syscall/table.ts";
import { fsSyscalls } from "../sandbox/fs/syscalls.ts";
import { Workspaces } from "../sandbox/fs/workspace.ts";
import { confinePath } from "../sandbox/path/confine.ts";
import { PolicyLayer } from "../sandbox/policy_layer.ts";
import { cpuUsage } from "node:process";
import { fmt, loadAverage, median, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const callsPerRep = quick ? 2_000 : 4_000;
const reps = quick ? 3 : 5;
const inflight = 16;
const text = "x".repeat(1024);

/** The host calls that ask about a path or a handle, wrapped to count; `restore` unwraps them. */
function countMetadata(): { counts: Record<string, number>; reset(): void; restore(): void } {
  const counts: Record<string, number> = {};
  const fsFile = Deno.FsFile.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const deno = Deno as unknown as Record<string, (...args: unknown[]) => unknown>;
  const saved: [Record<string, (...args: unknown[]) => unknown>, string, (...args: unknown[]) => unknown][] = [];
  const wrap = (owner: Record<string, (...args: unknown[]) => unknown>, key: string, label: string) => {
    const original = owner[key];
    saved.push([owner, key, original]);
    owner[key] = function (this: unknown, ...args: unknown[]) {
      counts[label] = (counts[label] ?? 0) + 1;
      return original.apply(this, args);
    };
  };
  for (const key of ["realPath", "lstat", "stat"]) wrap(deno, key, key);
  wrap(fsFile, "stat", "fstat");
  wrap(deno, "open", "open");
  return {
    counts,
    reset: () => {
      for (const key of Object.keys(counts)) delete counts[key];
    },
    restore: () => {
      for (const [owner, key, original] of saved) owner[key] = original;
    },
  };
}

async function setup(dataDir: string) {
  const workspaces = new Workspaces(dataDir);
  const policy = new PolicyLayer((pid) => workspaces.root(pid));
  policy.setTenant("t", {
    version: 1,
    rules: [
      { id: "secrets", effect: "deny", calls: ["fs.*"], paths: ["**/*.key"] },
      { id: "data", effect: "allow", calls: ["fs.*"], paths: ["data/**"] },
    ],
  });
  // Rates out of the way: the enforcer still runs its checks, none refuses.
  const tenants = new TenantTable();
  tenants.setQuotas("t", { syscallsPerSec: 1e12 });
  const dispatcher = new Dispatcher({
    limits: new KernelEnforcer(tenants),
    table: new SyscallTable(fsSyscalls(workspaces)),
    confinement: {
      checkPath: (proc, raw, access) => confinePath(workspaces.root(proc.pid), raw, access),
      checkPolicy: (proc, call, args, paths) => policy.check(proc, call, args, paths),
      stableAllow: (proc, call) => policy.stableAllow(proc, call),
      policyEpoch: () => policy.epoch,
    },
  });
  const proc = new ProcessTable().create({
    tenant: "t",
    capabilities: ["fs.read", "fs.write"],
    limits: { ...agentLimitsMax, syscallsPerSec: 1e12 },
    nowMs: 0,
  });
  proc.state = "Running";
  const root = await workspaces.create(proc.pid);
  await Deno.mkdir(`${root}/data`);
  await Deno.writeTextFile(`${root}/data/f.txt`, text);
  proc.usage.diskBytes = text.length;
  proc.usage.files = 2;
  return { dispatcher, proc };
}

async function call(dispatcher: Dispatcher, proc: Process, frame: { id: number; call: string; args: unknown }) {
  const done = await dispatcher.dispatch(proc, frame);
  if (!done.ok) throw new Error(`${frame.call}: ${done.error.code} ${done.error.message}`);
}

/** Calls/s, and process CPU µs per call, of `callsPerRep` calls with `n` in flight. */
async function rate(
  dispatcher: Dispatcher,
  proc: Process,
  frame: { id: number; call: string; args: unknown },
  n: number,
): Promise<{ perSec: number; cpuUs: number }> {
  const cpu = cpuUsage();
  const started = performance.now();
  if (n === 1) {
    for (let i = 0; i < callsPerRep; i++) await call(dispatcher, proc, frame);
  } else {
    const lane = async () => {
      for (let i = 0; i < callsPerRep / n; i++) await call(dispatcher, proc, frame);
    };
    await Promise.all(Array.from({ length: n }, lane));
  }
  const elapsedMs = performance.now() - started;
  const used = cpuUsage(cpu);
  return { perSec: callsPerRep / (elapsedMs / 1000), cpuUs: (used.user + used.system) / callsPerRep };
}

const frames = [
  { id: 1, call: "fs.readText", args: { path: "data/f.txt" } },
  { id: 2, call: "fs.stat", args: { path: "data/f.txt" } },
  { id: 3, call: "fs.writeText", args: { path: "data/f.txt", text } },
];

const dataDir = await Deno.realPath(await Deno.makeTempDir({ prefix: "agentos-bench-fs-" }));
try {
  const { dispatcher, proc } = await setup(dataDir);
  const counter = countMetadata();
  const costs = new Map<string, { metadata: number; detail: string; opens: number }>();
  for (const frame of frames) {
    await call(dispatcher, proc, frame); // warm the decision cache
    counter.reset();
    await call(dispatcher, proc, frame);
    const { open = 0, ...rest } = counter.counts;
    const metadata = Object.values(rest).reduce((a, b) => a + b, 0);
    const detail = Object.entries(rest).map(([k, v]) => `${k} ${v}`).join(", ");
    costs.set(frame.call, { metadata, detail, opens: open });
  }
  counter.restore();
  const rows: string[][] = [];
  for (const frame of frames) {
    for (let i = 0; i < 500; i++) await call(dispatcher, proc, frame);
    const serial: number[] = [];
    const cpu: number[] = [];
    const parallel: number[] = [];
    for (let r = 0; r < reps; r++) {
      const one = await rate(dispatcher, proc, frame, 1);
      serial.push(one.perSec);
      cpu.push(one.cpuUs);
      parallel.push((await rate(dispatcher, proc, frame, inflight)).perSec);
    }
    const cost = costs.get(frame.call)!;
    rows.push([
      frame.call,
      String(cost.metadata),
      cost.detail,
      String(cost.opens),
      fmt(median(serial), 0),
      fmt(median(parallel), 0),
      fmt(median(cpu), 0),
    ]);
  }
  table(
    `fs path cost (Dispatcher in-process, 1 KiB file, ${reps} reps × ${callsPerRep} calls, median; load ${await loadAverage()})`,
    [
      "call",
      "metadata calls",
      "which",
      "opens",
      "calls/s (1 at a time)",
      `calls/s (${inflight} in flight)`,
      "CPU µs/call (1 at a time)",
    ],
    rows,
  );
} finally {
  await Deno.remove(dataDir, { recursive: true });
}
