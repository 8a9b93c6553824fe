/**
 * What an acknowledged spawn costs the store: the start record (agent row +
 * `agent.spawned`) and the end record (final row + `agent.exited`), written
 * as the API writes them (one transaction each) against the way it wrote
 * them before (a row, then its audit row in a transaction of its own: two
 * commits), with `synchronous = NORMAL` (what the server runs) and `FULL`
 * (an fsync per commit). The database is a real file in a temp dir on the
 * machine's disk.
 *
 * Run: `deno run -A bench/store.ts [--quick]`. Prints a markdown table of
 * per-write latency, µs.
 *
 * @module
 */

import { writeFinal } from "../api/pending_records.ts";
import { type AgentRow, Store } from "../api/store.ts";
import { fmt, median, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
/** Writes per row. */
const samples = quick ? 300 : 2000;

/** The real store with another `synchronous` setting. */
class TunedStore extends Store {
  constructor(path: string, synchronous: "NORMAL" | "FULL") {
    super(path);
    this.db.exec(`PRAGMA synchronous = ${synchronous}`);
  }
}

function agentRow(i: number): AgentRow {
  const at = new Date().toISOString();
  return {
    id: `ag_${i.toString(16).padStart(24, "0")}`,
    tenantId: "tn_bench",
    pid: i,
    state: "Running",
    reason: null,
    exitCode: null,
    message: null,
    result: null,
    usage: null,
    stdout: "",
    stderr: "",
    capabilities: [],
    limits: { heapMb: 128, rssMb: 256, wallMs: 30000, cpuMs: 10000, outputBytes: 1048576 },
    labels: {},
    createdAt: at,
    endedAt: null,
  };
}

function audit(row: AgentRow, action: string, detail: unknown) {
  return { at: new Date().toISOString(), tenantId: row.tenantId, actor: "kernel", action, subject: row.id, detail };
}

function ended(row: AgentRow): AgentRow {
  return {
    ...row,
    state: "Zombie",
    reason: "exit",
    exitCode: 0,
    result: "hello",
    usage: { cpuMs: 8, wallMs: 12, peakRssMb: 57, syscalls: 2 },
    stdout: "hello\n",
    endedAt: new Date().toISOString(),
  };
}

type Way = "one transaction (now)" | "row, then audit row (before)";

function measure(store: Store, way: Way, base: number): { start: number[]; end: number[] } {
  const start: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < samples; i++) {
    const row = agentRow(base + i);
    const spawned = audit(row, "agent.spawned", { pid: row.pid, capabilities: [] });
    let t0 = performance.now();
    if (way === "one transaction (now)") {
      store.transaction(() => {
        store.insertAgent(row);
        store.audit([spawned]);
      });
    } else {
      store.insertAgent(row);
      store.audit([spawned]);
    }
    start.push((performance.now() - t0) * 1000);
    const final = ended(row);
    const exited = audit(row, "agent.exited", { reason: "exit", exitCode: 0 });
    t0 = performance.now();
    if (way === "one transaction (now)") {
      writeFinal(store, { row: final, audit: exited });
    } else {
      store.finishAgent(final);
      store.audit([exited]);
    }
    end.push((performance.now() - t0) * 1000);
  }
  return { start, end };
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agentos-bench-store-" });
  const rows: string[][] = [];
  try {
    let base = 0;
    for (const synchronous of ["NORMAL", "FULL"] as const) {
      const store = new TunedStore(`${dir}/${synchronous}.db`, synchronous);
      try {
        // Warm up the file and the statement caches.
        measure(store, "one transaction (now)", base += samples);
        for (const way of ["row, then audit row (before)", "one transaction (now)"] as const) {
          const { start, end } = measure(store, way, base += samples);
          for (const [what, xs] of [["start record", start], ["end record", end]] as const) {
            rows.push([`${synchronous}, ${what}: ${way}`, fmt(median(xs), 0), fmt(percentile(xs, 0.99), 0)]);
          }
        }
      } finally {
        store.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "n/a")).split(" ")[0];
  table(
    `Store writes of one spawn, µs (${samples} per row, SQLite WAL file on the machine's disk, load average ${load})`,
    ["write", "p50", "p99"],
    rows,
  );
}

if (import.meta.main) await main();
