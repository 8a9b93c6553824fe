/**
 * Observability cost on the kernel's hot path, in-process and deterministic
 * enough to compare in one run: the same dispatcher serving `time.now` with
 * the observability hub recording every call (as the runtime does) vs no
 * observer at all. No cells, no transport: this is the kernel-side share.
 *
 *   deno run -A bench/obs_dispatch.ts [--quick] [--against <dir of another checkout>]
 *
 * @module
 */

import { KernelEnforcer, TenantTable } from "../kernel/tenants/mod.ts";
import { ProcessTable } from "../kernel/process/table.ts";
import { builtinSyscalls } from "../kernel/syscall/builtin.ts";
import { Dispatcher } from "../kernel/syscall/dispatch.ts";
import { SyscallTable } from "../kernel/syscall/table.ts";
import { ObservabilityHub } from "../observability/hub.ts";

/** A rate no benchmark reaches: the enforcer's checks run, and never refuse. */
const unlimitedRate = 1e12;
const unlimited = () => {
  const tenants = new TenantTable();
  tenants.setQuotas("t", { syscallsPerSec: unlimitedRate });
  return new KernelEnforcer(tenants);
};

const quick = Deno.args.includes("--quick");
const calls = quick ? 100_000 : 400_000;
const reps = quick ? 5 : 9;

/** "on" lets the sampler run; the loop below never yields to timers, so in practice every event is kept. */
function setup(mode: "off" | "on") {
  const hub = new ObservabilityHub({ enabled: mode !== "off" });
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
  const subject = { pid: proc.pid, uid: 1, tenant: "t", causality: 1 };
  const table = new SyscallTable(builtinSyscalls({ write: () => {}, nowMs: () => 0 }));
  hub.knownCalls(table.names()); // as the runtime does
  const dispatcher = new Dispatcher({
    limits: unlimited(),
    table,
    confinement: {
      checkPath: () => {
        throw new Error("unused");
      },
    },
    observer: mode === "off" ? undefined : {
      syscall: (_p, call, args, errno, latencyUs, bytes) => hub.syscall(subject, call, errno, latencyUs, bytes, args),
      denial: () => {},
    },
  });
  return { hub, proc, dispatcher };
}

async function measure(mode: "off" | "on"): Promise<{ rate: number; emitted: number }> {
  const { hub, proc, dispatcher } = setup(mode);
  const frame = { id: 1, call: "time.now", args: {} };
  for (let i = 0; i < 5_000; i++) await dispatcher.dispatch(proc, frame);
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    await dispatcher.dispatch(proc, frame);
  }
  const rate = calls / ((performance.now() - started) / 1000);
  hub.close();
  return { rate, emitted: hub.ring.emitted };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Record<string, { rate: number[]; emitted: number[] }> = {
  off: { rate: [], emitted: [] },
  on: { rate: [], emitted: [] },
};
for (let r = 0; r < reps; r++) {
  for (const mode of ["off", "on"] as const) {
    const m = await measure(mode);
    rows[mode].rate.push(m.rate);
    rows[mode].emitted.push(m.emitted);
  }
}
const off = median(rows.off.rate);
console.log(`\n## Observability on the dispatch hot path (in-process, ${reps} reps × ${calls} \`time.now\`)\n`);
console.log("| mode | calls/s (median) | cost vs off | ring events per run (median) |");
console.log("|---|---:|---:|---:|");
for (
  const [mode, label] of [["off", "observability off"], ["on", "observability on (every syscall recorded)"]] as const
) {
  const rate = median(rows[mode].rate);
  const cost = ((off - rate) / off * 100).toFixed(1);
  console.log(
    `| ${label} | ${Math.round(rate).toLocaleString("en")} | ${mode === "off" ? "—" : `${cost} %`} | ${
      median(rows[mode].emitted).toLocaleString("en")
    } |`,
  );
}

/**
 * The hub alone, per recorded syscall: a name from the syscall table vs a
 * never-seen name every call (what an agent sending raw `sys.call(name)` frames
 * costs). Both are `ENOSYS`-style errors so every event is kept; only the name differs.
 */
function hubNsPerCall(kind: "known" | "unknown", n: number, names: readonly string[]): number {
  const hub = new ObservabilityHub();
  hub.knownCalls(new SyscallTable(builtinSyscalls({ write: () => {}, nowMs: () => 0 })).names());
  const subject = { pid: 1, uid: 1, tenant: "t", causality: 1 };
  for (let i = 0; i < 5_000; i++) hub.syscall(subject, "time.now", "ENOSYS", 5, 0, undefined);
  const started = performance.now();
  for (let i = 0; i < n; i++) hub.syscall(subject, kind === "known" ? "time.now" : names[i], "ENOSYS", 5, 0, undefined);
  const ns = (performance.now() - started) * 1e6 / n;
  hub.close();
  return ns;
}

const hubCalls = quick ? 50_000 : 200_000;
const freshNames = Array.from({ length: hubCalls }, (_, i) => `agent.made.up.${i.toString(36)}`);
const hubRows: Record<"known" | "unknown", number[]> = { known: [], unknown: [] };
for (let r = 0; r < reps; r++) {
  for (const kind of ["known", "unknown"] as const) hubRows[kind].push(hubNsPerCall(kind, hubCalls, freshNames));
}
console.log(`\n## The hub alone, per recorded syscall (${reps} reps × ${hubCalls} calls)\n`);
console.log("| call name | ns per call (median) |");
console.log("|---|---:|");
console.log(`| from the syscall table (\`time.now\`) | ${Math.round(median(hubRows.known))} |`);
console.log(`| never seen before, each call | ${Math.round(median(hubRows.unknown))} |`);

/**
 * `--against <dir>`: the same hub calls made by this tree's hub and by the
 * hub of another checkout of agentos at `<dir>` (e.g. `git archive <commit>`
 * unpacked), in one process and round-robin (rep r runs each row of both
 * trees back to back, order alternating), so that load from other processes
 * hits both alike. Reports medians, best reps and the median of the paired
 * after/before ratios.
 */
type HubLike = Pick<ObservabilityHub, "syscall" | "lifecycle" | "denial" | "knownCalls" | "close">;
const againstAt = Deno.args.indexOf("--against");
if (againstAt >= 0) {
  const dir = new URL(`${Deno.args[againstAt + 1]}/`, `file://${Deno.cwd()}/`);
  const other = await import(new URL("observability/hub.ts", dir).href) as {
    ObservabilityHub: new () => HubLike;
  };
  const subject = { pid: 7, uid: 70, tenant: "t", causality: 7 };
  const args = {};
  const rowsOf = (hub: HubLike): [string, (n: number) => void][] => {
    hub.knownCalls(["time.now", "fs.readText"]);
    return [
      ["`hub.syscall`, ok, args `{}` (kept)", (n) => {
        for (let i = 0; i < n; i++) hub.syscall(subject, "time.now", null, 12.5, 0, args);
      }],
      ["`hub.syscall`, error, no args", (n) => {
        for (let i = 0; i < n; i++) hub.syscall(subject, "time.now", "ENOSYS", 12.5, 0, undefined);
      }],
      ["`hub.lifecycle`", (n) => {
        for (let i = 0; i < n; i++) hub.lifecycle(subject, "Ready", "Running");
      }],
      ["`hub.denial`", (n) => {
        for (let i = 0; i < n; i++) hub.denial(subject, "fs.readText", "path", "EACCES", "escape");
      }],
    ];
  };
  const hubs = { before: new other.ObservabilityHub(), after: new ObservabilityHub() };
  const rows = { before: rowsOf(hubs.before), after: rowsOf(hubs.after) };
  const n = quick ? 50_000 : 100_000;
  const abReps = quick ? 11 : 31;
  const ns = rows.after.map(() => ({ before: [] as number[], after: [] as number[] }));
  for (const tree of ["before", "after"] as const) for (const [, body] of rows[tree]) body(n); // warm-up
  for (let r = 0; r < abReps; r++) {
    rows.after.forEach((_, i) => {
      for (const tree of r % 2 === 0 ? ["before", "after"] as const : ["after", "before"] as const) {
        const started = performance.now();
        rows[tree][i][1](n);
        ns[i][tree].push((performance.now() - started) * 1e6 / n);
      }
    });
  }
  hubs.before.close();
  hubs.after.close();
  console.log(`\n## This tree's hub vs \`${Deno.args[againstAt + 1]}\`'s, round-robin (${abReps} reps × ${n} calls)\n`);
  console.log(
    "| call | before: ns/call median (best) | after: ns/call median (best) | after/before (median of paired reps) |",
  );
  console.log("|---|---:|---:|---:|");
  rows.after.forEach(([name], i) => {
    const { before, after } = ns[i];
    const paired = after.map((x, r) => x / before[r]);
    console.log(
      `| ${name} | ${median(before).toFixed(0)} (${Math.min(...before).toFixed(0)}) | ${median(after).toFixed(0)} (${
        Math.min(...after).toFixed(0)
      }) | ${median(paired).toFixed(2)} |`,
    );
  });
}
