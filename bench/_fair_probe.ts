// Diagnostic, not a benchmark (the runner skips `_` files): where the calm agent's round trip goes under a flood.
// Patches LineFramer.push and CellHost.send to time the supervisor side of each calm call.
// Run: deno run -A bench/_fair_probe.ts [floodAgents=4] [policy=fair] [spin] [pause=ms] [hops]
import process from "node:process";
import { setImmediate } from "node:timers";
import { type Agent, Runtime } from "../sandbox/runtime.ts";
import { LineFramer } from "../kernel/syscall/mod.ts";
import { CellHost } from "../sandbox/cell/mod.ts";
import { fmt, loadAverage, percentile, waitFor } from "./_stats.ts";

const floodN = Number(Deno.args[0] ?? 4);
const policy = (Deno.args[1] ?? "fair") as "fair";
const arrivals = new Map<number, number>();
const superUs: number[] = [];
const pushUs: number[] = [];
let pushBytes = 0;
const origPush = LineFramer.prototype.push;
LineFramer.prototype.push = function (chunk, onLine) {
  const t0 = performance.now();
  if (chunk.length < 120 && chunk[0] === 123 && chunk[2] === 105) {
    const m = /^\{"id":(\d+),"call":"time.now"/.exec(new TextDecoder().decode(chunk));
    if (m) arrivals.set(Number(m[1]), t0);
  }
  origPush.call(this, chunk, onLine);
  pushUs.push((performance.now() - t0) * 1000);
  pushBytes += chunk.length;
};
const origSend = CellHost.prototype.send;
CellHost.prototype.send = function (line) {
  const p = origSend.call(this, line);
  if (typeof line === "string" && line.startsWith('{"id":')) {
    const id = Number(/^\{"id":(\d+)/.exec(line)?.[1]);
    const t0 = arrivals.get(id);
    if (t0 !== undefined) {
      arrivals.delete(id);
      p.then(() => superUs.push((performance.now() - t0) * 1000));
    }
  }
  return p;
};
// event loop iteration length: a chain of setImmediate hops
const hops: number[] = [];
let hopOn = false;
let last = 0;
function hop() {
  const now = performance.now();
  hops.push((now - last) * 1000);
  last = now;
  if (hopOn) setImmediate(hop);
}

function childCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const s = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === Deno.pid) out.set(Number(e.name), Number(f[11]) + Number(f[12]));
    } catch { /* gone */ }
  }
  return out;
}

const calm = `export default async () => {
  for (let i = 0; i < 200; i++) await sys.time.now();
  const out = [];
  for (let i = 0; i < 2000; i++) { const t0 = performance.now(); await sys.time.now(); out.push((performance.now() - t0) * 1000); }
  return out;
};`;
const pause = Number(Deno.args.find((a) => a.startsWith("pause="))?.slice(6) ?? 0);
const spin = Deno.args[2] === "spin";
const useHops = Deno.args.includes("hops");
const flood = spin ? `export default async () => { await sys.time.now(); for (;;) {} };` : `export default async () => {
  const list = Array.from({ length: 500 }, () => ({ call: "time.now" }));
  for (;;) { await sys.batch(list); if (${pause} > 0) await new Promise((r) => setTimeout(r, ${pause})); }
};`;
const dataDir = await Deno.makeTempDir();
const rt = new Runtime({ dataDir, poolSize: 4 });
await rt.start();
rt.scheduler.setPolicy(policy);
const show = (name: string, xs: number[]) =>
  console.log(
    `${name}: n=${xs.length} p50=${fmt(percentile(xs, 0.5), 0)} p90=${fmt(percentile(xs, 0.9), 0)} p99=${
      fmt(percentile(xs, 0.99), 0)
    } max=${fmt(xs.reduce((a, b) => Math.max(a, b), 0), 0)}`,
  );
async function phase(label: string, n: number) {
  await waitFor(() => rt.pool.stats().warm === 4 && rt.pool.stats().starting === 0, 30_000);
  const fl: Agent[] = [];
  for (let i = 0; i < n; i++) {
    fl.push(
      await rt.spawn({
        code: flood,
        tenant: "flood",
        limits: { syscallsPerSec: 1e6, wallMs: 120_000, cpuMs: 120_000 },
      }),
    );
  }
  await waitFor(() => fl.every((a) => a.proc.usage.syscalls > 0), 30_000);
  await waitFor(() => rt.pool.stats().starting === 0, 30_000);
  superUs.length = 0;
  hops.length = 0;
  pushUs.length = 0;
  pushBytes = 0;
  hopOn = useHops;
  last = performance.now();
  setImmediate(hop);
  const c0 = childCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const fc0 = fl.reduce((s, a) => s + a.proc.usage.syscalls, 0);
  const r = await rt.run({ code: calm, tenant: "calm" });
  const secs = (performance.now() - t0) / 1000;
  hopOn = false;
  const cpu = process.cpuUsage(cpu0);
  const c1 = childCpu();
  const fc = fl.reduce((s, a) => s + a.proc.usage.syscalls, 0) - fc0;
  for (const a of fl) rt.kill(a.pid, "killed", "probe");
  await Promise.all(fl.map((a) => a.done));
  console.log(
    `\n## ${label} (${policy}, ${n} flood agents) ${fmt(secs, 1)} s, flood ${
      fmt(fc / secs, 0)
    } calls/s, supervisor CPU ${fmt((cpu.user + cpu.system) / 1000 / secs, 0)} ms/s`,
  );
  let cells = 0;
  for (const [pid, t] of c1) cells += t - (c0.get(pid) ?? t);
  console.log(`cell processes CPU ${fmt(cells * 10 / secs, 0)} ms/s (jiffies, all children)`);
  show("calm RTT in worker µs", r.result as number[]);
  show("calm supervisor-side (chunk in → answer written) µs", superUs.slice(200));
  show("event loop iteration µs", hops);
  show("framer push per chunk µs", pushUs);
  console.log(`sched holds ${rt.scheduler.stats().holds}`);
  console.log(`stdout bytes/s ${fmt(pushBytes / secs, 0)}, chunks/s ${fmt(pushUs.length / secs, 0)}`);
}
await phase("alone", 0);
await phase("flood", floodN);
await rt.close();
console.log(`load ${await loadAverage()}`);
