/**
 * Observability core benchmark: ring emit cost, allocation per event, reader
 * drain rate, hot-path costs of the other primitives, and the anomaly
 * detector's precision/recall on the seeded synthetic workload.
 *
 * Run: `deno run -A bench/observability.ts [--quick]`. Prints markdown.
 * The allocation table needs `--v8-flags=--expose-gc`; without it the script
 * re-runs itself with that flag for that table only.
 *
 * @module
 */

import {
  AdaptiveSampler,
  AnomalyDetector,
  anomalyProfiles,
  EventKind,
  EventRing,
  EventView,
  Interner,
  Registry,
} from "../observability/mod.ts";
import { ObservabilityHub } from "../observability/hub.ts";
import { evaluate, workloadDefault } from "../tests/observability/anomaly_workload.ts";

const quick = Deno.args.includes("--quick");
const allocOnly = Deno.args.includes("--alloc-json");
const runs = quick ? 3 : 7;
const emitsPerRun = quick ? 200_000 : 1_000_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type Body = (n: number) => void;

/**
 * ns per operation of each body, measured round-robin (run r of every body
 * before run r+1 of any) so that load from other processes hits all rows
 * alike. Returns [name, median, min] per row.
 */
function compare(
  rows: [string, Body][],
  n = emitsPerRun,
): [string, number, number][] {
  for (const [, body] of rows) body(n); // warm-up (JIT)
  const samples = rows.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    rows.forEach(([, body], i) => {
      const t0 = performance.now();
      body(n);
      samples[i].push(((performance.now() - t0) * 1e6) / n);
    });
  }
  return rows.map(([name], i) => [
    name,
    median(samples[i]),
    Math.min(...samples[i]),
  ]);
}

function nsTable(title: string, rows: [string, number, number][]): string {
  return [
    `| ${title} | ns/op (median) | ns/op (best run) |`,
    "|---|---:|---:|",
    ...rows.map(([name, med, min]) => `| ${name} | ${med.toFixed(1)} | ${min.toFixed(1)} |`),
  ].join("\n");
}

const detailRef = "fs.read /workspace/data.csv";
/** Results fold into this once per loop (a module variable boxes doubles). */
let sink = 0;

function emitLoop(ring: EventRing): (n: number) => void {
  return (n) => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += ring.emit(
        EventKind.syscall,
        i & 255,
        3,
        17,
        9,
        0,
        12.5,
        4096,
        detailRef,
      );
    }
    sink += acc;
  };
}

function emitAtLoop(ring: EventRing): (n: number) => void {
  return (n) => {
    const t = Date.now();
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += ring.emitAt(
        t + i,
        EventKind.syscall,
        i & 255,
        3,
        17,
        9,
        0,
        12.5,
        4096,
        detailRef,
      );
    }
    sink += acc;
  };
}

/** One event as an object: the design we did not pick. */
interface EventObject {
  seq: number;
  timestampMs: number;
  kind: number;
  pid: number;
  tenantId: number;
  causality: number;
  nameId: number;
  errnoId: number;
  latencyUs: number;
  bytes: number;
  detail: string | undefined;
}

/** Same fields as `EventRing`, one object per event in a circular array. */
class ObjectRing {
  readonly slots: EventObject[];
  next = 0;
  constructor(readonly size: number) {
    this.slots = new Array(size);
  }
  emitAt(
    timestampMs: number,
    kind: number,
    pid: number,
    tenantId: number,
    causality: number,
    nameId: number,
    errnoId: number,
    latencyUs: number,
    bytes: number,
    detail?: string,
  ): number {
    const seq = this.next++;
    this.slots[seq & (this.size - 1)] = {
      seq,
      timestampMs,
      kind,
      pid,
      tenantId,
      causality,
      nameId,
      errnoId,
      latencyUs,
      bytes,
      detail,
    };
    return seq;
  }
}

function objectLoop(ring: ObjectRing): (n: number) => void {
  return (n) => {
    const t = Date.now();
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += ring.emitAt(t + i, 1, i & 255, 3, 17, 9, 0, 12.5, 4096, detailRef);
    }
    sink += acc;
  };
}

/** A hub as the runtime wires it (table names known); its sampler timer is unref'd. */
function benchHub(): ObservabilityHub {
  const hub = new ObservabilityHub();
  hub.knownCalls(["time.now", "fs.readText"]);
  return hub;
}

const hubSubject = { pid: 7, uid: 70, tenant: "t", causality: 7 };

/** `hub.syscall` of an error (always kept) with no arguments: name lookup, trackers, encode through the kind table, ring. */
function hubSyscallLoop(hub: ObservabilityHub): (n: number) => void {
  return (n) => {
    for (let i = 0; i < n; i++) hub.syscall(hubSubject, "time.now", "ENOSYS", 12.5, 0, undefined);
    sink += hub.ring.nextSeq;
  };
}

/** `hub.lifecycle`: encode through the kind table (a transition name id), ring. */
function hubLifecycleLoop(hub: ObservabilityHub): (n: number) => void {
  return (n) => {
    for (let i = 0; i < n; i++) hub.lifecycle(hubSubject, "Ready", "Running");
    sink += hub.ring.nextSeq;
  };
}

function emitTable(): string {
  const origin = performance.timeOrigin;
  const rows = compare([
    ["`emit` (reads the default clock)", emitLoop(new EventRing())],
    ["`emitAt` (caller passes the timestamp)", emitAtLoop(new EventRing())],
    ["clock alone: `performance.now() + timeOrigin`", (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += performance.now() + origin;
      sink += acc;
    }],
    ["object-per-event ring (rejected design)", objectLoop(new ObjectRing(65_536))],
    ["`hub.syscall` (kept error, no args; through the kind table)", hubSyscallLoop(benchHub())],
    ["`hub.lifecycle` (through the kind table)", hubLifecycleLoop(benchHub())],
  ]);
  return nsTable(
    `operation (65,536-slot ring, ${emitsPerRun.toLocaleString("en")} ops x ${runs} runs)`,
    rows,
  );
}

interface AllocRow {
  name: string;
  chunkMedian: number;
  chunksAllocating: number;
  retained: number;
}

/** Heap bytes per event: median over 10k-event chunks, and retained after GC. */
function measureAlloc(): AllocRow[] {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("needs --v8-flags=--expose-gc");
  const chunk = 10_000;
  const chunks = 100;
  const measure = (name: string, body: (n: number) => void): AllocRow => {
    body(chunk * 100); // warm-up: JIT (1M events) and lazily grown storage
    gc();
    const start = Deno.memoryUsage().heapUsed;
    const deltas: number[] = [];
    for (let c = 0; c < chunks; c++) {
      const h0 = Deno.memoryUsage().heapUsed;
      body(chunk);
      deltas.push((Deno.memoryUsage().heapUsed - h0) / chunk);
    }
    gc();
    const retained = (Deno.memoryUsage().heapUsed - start) / (chunk * chunks);
    return {
      name,
      chunkMedian: median(deltas),
      chunksAllocating: deltas.filter((d) => d > 1).length,
      retained,
    };
  };
  return [
    measure("`EventRing.emit`", emitLoop(new EventRing())),
    measure("`EventRing.emitAt`", emitAtLoop(new EventRing())),
    measure(
      "object-per-event ring (control)",
      objectLoop(new ObjectRing(65_536)),
    ),
    measure("`hub.syscall` (kept error, no args)", hubSyscallLoop(benchHub())),
    measure("`hub.lifecycle`", hubLifecycleLoop(benchHub())),
  ];
}

async function allocTable(): Promise<string> {
  let rows: AllocRow[];
  let how: string;
  if ((globalThis as { gc?: unknown }).gc !== undefined) {
    rows = measureAlloc();
    how = "in-process, `--v8-flags=--expose-gc`";
  } else {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        "--alloc-json",
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) return "(allocation measurement failed to run)";
    rows = JSON.parse(new TextDecoder().decode(out.stdout));
    how = "child process re-run with `--v8-flags=--expose-gc`";
  }
  return [
    `Method (${how}): \`gc()\`, then 100 chunks of 10,000 events, each chunk`,
    "measured as the `Deno.memoryUsage().heapUsed` delta (median chunk reported, so",
    "a scavenge inside one chunk cannot hide allocation); then `gc()` again for what",
    "stays retained. The object-per-event control shows the method does see",
    "allocation when there is some. About 0.02 B/event is the `Deno.memoryUsage()`",
    "call's own result object. Chunks right after `gc()` run unoptimised code",
    "until V8 re-optimises the loop; there, double arguments are boxed (~13 B/event),",
    'which is what the "chunks > 1 B/event" column counts.',
    "",
    "| emitter | heap bytes/event (median 10k chunk) | chunks > 1 B/event (of 100) | retained bytes/event after GC |",
    "|---|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.name} | ${r.chunkMedian.toFixed(2)} | ${r.chunksAllocating} | ${r.retained.toFixed(2)} |`
    ),
  ].join("\n");
}

/**
 * One writer and one reader interleaved on one thread (the kernel's case):
 * emit a batch, then drain everything new. Returns events/s and drops.
 */
function interleaved(useClock: boolean, total: number): [number, number] {
  const ring = new EventRing();
  const reader = ring.reader();
  const view = new EventView();
  const batch = 1_024;
  let read = 0;
  const t0 = performance.now();
  const ts = Date.now() + 0.5;
  for (let emitted = 0; emitted < total; emitted += batch) {
    if (useClock) {
      for (let i = 0; i < batch; i++) {
        ring.emit(EventKind.syscall, i, 1, 0, 9, 0, 10, 64);
      }
    } else {
      for (let i = 0; i < batch; i++) {
        ring.emitAt(ts, EventKind.syscall, i, 1, 0, 9, 0, 10, 64);
      }
    }
    while (reader.next(view)) read += view.bytes > 0 ? 1 : 0;
  }
  const seconds = (performance.now() - t0) / 1000;
  return [read / seconds, reader.dropped];
}

function drainTable(): string {
  const total = quick ? 2_000_000 : 10_000_000;
  const scenario = (useClock: boolean): [number, number] => {
    const results = Array.from({ length: runs }, () => interleaved(useClock, total));
    return [
      median(results.map((r) => r[0])),
      Math.max(...results.map((r) => r[1])),
    ];
  };
  const [withClock, dropsClock] = scenario(true);
  const [withoutClock, dropsAt] = scenario(false);
  const ring = new EventRing();
  for (let i = 0; i < ring.slots; i++) {
    ring.emitAt(i, EventKind.syscall, i, 1, 0, 9, 0, 10, 64);
  }
  const view = new EventView();
  const [[, drainOnly]] = compare([["drain", (n) => {
    const r = ring.reader(ring.oldestSeq);
    let got = 0;
    while (got < n && r.next(view)) got++;
    sink += got;
  }]], ring.slots);
  const m = (x: number) => `${(x / 1e6).toFixed(1)} M`;
  return [
    `| scenario (${runs} runs) | events per run | reader dropped (max) | events/s (median) |`,
    "|---|---:|---:|---:|",
    `| \`emit\` 1,024 (default clock), then drain with \`next\`; interleaved on one thread | ${
      total.toLocaleString("en")
    } | ${dropsClock} | ${m(withClock)} |`,
    `| \`emitAt\` 1,024, then drain with \`next\`; interleaved on one thread | ${
      total.toLocaleString("en")
    } | ${dropsAt} | ${m(withoutClock)} |`,
    `| drain only (\`next\` over a full ring) | ${ring.slots.toLocaleString("en")} | 0 | ${m(1e9 / drainOnly)} |`,
  ].join("\n");
}

function hotPathTable(): string {
  const n = quick ? 200_000 : 1_000_000;
  const sampler = new AdaptiveSampler({ seed: 1 });
  sampler.setRate("syscall", 0.25);
  const detector = new AnomalyDetector();
  const registry = new Registry();
  const counter = registry.counter("bench_total", "bench", ["call"]);
  const bound = counter.labels({ call: "fs.read" });
  const names = new Interner();
  names.intern("fs.read");
  const labels = { call: "fs.read" };
  const rows = compare([
    [
      "`sampler.shouldSample` (always-kept category)",
      (k) => {
        let acc = 0;
        for (let i = 0; i < k; i++) {
          acc += sampler.shouldSample("denial") ? 1 : 0;
        }
        sink += acc;
      },
    ],
    [
      "`sampler.shouldSample` (rate 0.25)",
      (k) => {
        let acc = 0;
        for (let i = 0; i < k; i++) {
          acc += sampler.shouldSample("syscall") ? 1 : 0;
        }
        sink += acc;
      },
    ],
    [
      "`detector.observe` (one series)",
      (k) => {
        let acc = 0;
        for (let i = 0; i < k; i++) {
          acc += detector.observe("lat:fs.read", 100 + (i & 7)) ? 1 : 0;
        }
        sink += acc;
      },
    ],
    [
      "`interner.intern` (known string)",
      (k) => {
        let acc = 0;
        for (let i = 0; i < k; i++) acc += names.intern("fs.read");
        sink += acc;
      },
    ],
    [
      "`counter.labels(...).inc()` (bound handle)",
      (k) => {
        for (let i = 0; i < k; i++) bound.inc();
      },
    ],
    [
      "`counter.inc(labels)` (key built per call)",
      (k) => {
        for (let i = 0; i < k; i++) counter.inc(labels);
      },
    ],
  ], n);
  return nsTable(`operation (${n.toLocaleString("en")} ops x ${runs} runs)`, rows);
}

function anomalyTable(): string {
  const trials = quick ? 20 : 100;
  const seedBase = 10_001; // held out: profiles were chosen on seeds 1-50
  const floorsOnly = {
    rate: {
      ...anomalyProfiles.rate,
      consecutiveMin: 1,
      direction: "both" as const,
    },
    latency: {
      ...anomalyProfiles.latency,
      consecutiveMin: 1,
      direction: "both" as const,
    },
  };
  const cases: [string, Parameters<typeof evaluate>[1], number, number][] = [
    ["defaults (z>3, 5% floor, 1 in a row)", { rate: {}, latency: {} }, 50, 20],
    ["floors of `anomalyProfiles`, 1 in a row", floorsOnly, 50, 20],
    ["`anomalyProfiles` (kernel wiring)", anomalyProfiles, 50, 20],
    ["`anomalyProfiles`, smaller faults", anomalyProfiles, 5, 3],
    ["`anomalyProfiles`, small faults", anomalyProfiles, 2, 2],
  ];
  const lines = [
    "| detector settings | rate fault | latency fault | faults | detected | false episodes | precision | recall | mean delay ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [name, profile, rateFactor, latencyFactor] of cases) {
    const r = evaluate(trials, profile, seedBase, {
      ...workloadDefault,
      rateFaultFactor: rateFactor,
      latencyFaultFactor: latencyFactor,
    });
    lines.push(
      `| ${name} | ${rateFactor}x | ${latencyFactor}x | ${r.faults} | ${r.detected} | ${r.falseEpisodes} | ${
        r.precision.toFixed(3)
      } | ${r.recall.toFixed(3)} | ${r.delayMsMean.toFixed(0)} |`,
    );
  }
  return [
    `${trials} seeded trials (seeds ${seedBase}..${seedBase + trials - 1}), each ${
      workloadDefault.durationMs / 1000
    } s simulated with ${workloadDefault.agents} agents and ${workloadDefault.kinds} syscall kinds,`,
    "one rate fault and one latency fault per trial lasting 5 s; 100 ms windows.",
    "",
    ...lines,
  ].join("\n");
}

if (allocOnly) {
  console.log(JSON.stringify(measureAlloc()));
} else {
  console.log(`# Observability benchmark${quick ? " (--quick)" : ""}\n`);
  const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs; load average at start: ${load()}\n`,
  );
  console.log("## Ring emit\n");
  console.log(emitTable() + "\n");
  console.log("## Allocation per event\n");
  console.log((await allocTable()) + "\n");
  console.log("## Reader drain\n");
  console.log(drainTable() + "\n");
  console.log("## Other hot paths\n");
  console.log(hotPathTable() + "\n");
  console.log("## Anomaly detection precision/recall\n");
  console.log(anomalyTable());
  console.log(`\nLoad average at end: ${load()}`);
  if (sink === 0.5) console.log(""); // keep `sink` observable
}
