/**
 * Every limit of the kernel, named with its unit last, in one place.
 *
 * Relations between limits are asserted at load so that a bad edit fails at
 * start-up rather than at the first agent that hits it.
 *
 * @module
 */

/** Largest syscall frame (one line on the cell channel), checked before parsing. */
export const frameBytesMax = 8 * 1024 * 1024;
/**
 * Deepest nesting of any JSON the kernel parses from a guest or a client
 * (syscall frames, agent results, HTTP bodies), checked by a byte scan
 * before parsing. A policy document needs 5; generous for data.
 */
export const jsonDepthMax = 64;
/** Most calls in one batched frame. */
export const batchCallsMax = 4096;
/**
 * Rate tokens a syscall of an agent spawned with `trace: "full"` costs on
 * top of its own cost: the agent's syscalls/s quota (and its tenant's) pays
 * for recording every call, so a full trace halves what it may call per
 * second at the default. The hub's own budget (the sampler) never sees
 * these calls.
 *
 * @default 1
 */
export const traceFullCallCost = 1;
/** Most syscalls of one agent in flight at once (more answer `EAGAIN`). */
export const inflightCallsMax = 8192;
/** Longest workspace-relative path, in bytes of UTF-8. */
export const pathBytesMax = 4096;
/** Most path segments after normalisation. */
export const pathSegmentsMax = 64;
/** Largest single file read or write through `fs.*`. */
export const fileBytesMax = 4 * 1024 * 1024;
/** Most entries `fs.readDir` returns. */
export const readDirEntriesMax = 10_000;
/** Largest agent source accepted for spawn. */
export const codeBytesMax = 1024 * 1024;
/** Largest JSON result an agent may return from its default export. */
export const resultBytesMax = 1024 * 1024;
/** Highest pid before recycling starts from the lowest free one. */
export const pidMax = 65_535;
/** Most live (not yet reaped) processes in the table. */
export const processesMax = 4096;

/**
 * Bytes of syscall requests and results the supervisor holds for one agent
 * at once (frames being served, results not yet written to its cell). Over
 * it a call is `EAGAIN`; a single call needing more is `E2BIG`. Sized for
 * two of the largest reads in flight (see the assertion below).
 */
export const agentInflightBytesMax = 64 * 1024 * 1024;
/**
 * Bytes in flight for all agents of the server together (the tenant quota
 * `inflightBytesMax` sits below): the supervisor's budget for syscall data,
 * whatever the number of calls in flight (`inflightCallsMax` per agent,
 * each charged its own result bytes).
 */
export const serverInflightBytesMax = 1024 * 1024 * 1024;
/** Agents that may hold their whole in-flight budget at once within the server's. */
export const agentsAtFullInflightMin = 16;
/** Largest line of completions sent back for a batch; bigger answers are split into several lines. */
export const batchAnswerBytesMax = 8 * 1024 * 1024;
/**
 * Syscall scheduler jobs (a single call, or a slice of a batch) one tenant
 * may have queued or running while another tenant is active, before the
 * supervisor stops reading that tenant's cells (flow control at the pipe,
 * `kernel/sched/share.ts`). A chunk of a cell's output is decoded only while
 * its tenant is under it; past it the chunk waits undecoded and the pipe
 * fills, so the flood waits in its own cell and Worker.
 * @default 16
 */
export const tenantBacklogJobsShare = 16;
/**
 * Share of the supervisor's thread one tenant may use while another tenant
 * is active: its jobs' service time and the decoding of its cells' output,
 * per `sharePeriodMs`. Past it the tenant is held (its cells are not read)
 * until the period ends. Measured (docs/benchmarks.md, "Fairness under a
 * flooding tenant"): a flood that keeps the thread busier than this raises
 * a calm tenant's latency through the OS scheduler of a loaded machine, not
 * through the queue.
 * @default 0.3
 */
export const tenantThreadShare = 0.3;
/**
 * Period over which `tenantThreadShare` is counted, ms: short, so that a
 * held tenant waits little and a calm one never finds a long run of it.
 * @default 20
 */
export const sharePeriodMs = 20;
/**
 * How long after its last syscall a tenant still counts as active for the
 * share above, ms: a tenant alone on the server is never held.
 * @default 200
 */
export const shareActiveWindowMs = 200;
/** Tenants the kernel tracks at once (idle ones are forgotten first). */
export const tenantsTrackedMax = 65_536;

/**
 * What the supervisor holds while it answers a call whose result carries
 * `payloadBytes` of data: the data, its text or base64 form, the
 * completion's JSON and its UTF-8 copy on the way to the cell.
 */
export function resultHoldBytes(payloadBytes: number): number {
  return payloadBytes + 3 * Math.ceil(payloadBytes / 3) * 4;
}

/** Defaults of the per-agent limits (see `AgentLimits`). */
export const agentLimitsDefault = {
  /** V8 old-space cap of the agent's cell, MB. */
  heapMb: 128,
  /** Resident set cap of the agent's whole cell (heap + off-heap + runtime), MB. */
  rssMb: 256,
  /** Wall clock from start to forced kill, ms. */
  wallMs: 30_000,
  /** CPU time of the cell process, ms. */
  cpuMs: 10_000,
  /** stdout + stderr bytes before the agent is killed with reason `output`. */
  outputBytes: 1024 * 1024,
  /** Workspace disk quota, bytes (file contents plus `directoryBytes` per directory). */
  diskBytes: 64 * 1024 * 1024,
  /** Files and directories the agent may have in its workspace at once (inodes). */
  filesMax: 4096,
  /** Syscalls per second (token bucket, burst = one second's worth). */
  syscallsPerSec: 100_000,
} as const;

/** Ceilings no agent limit may exceed, whatever the caller asks. */
export const agentLimitsMax = {
  heapMb: 4096,
  rssMb: 8192,
  wallMs: 24 * 3600 * 1000,
  cpuMs: 24 * 3600 * 1000,
  outputBytes: 64 * 1024 * 1024,
  diskBytes: 4 * 1024 * 1024 * 1024,
  filesMax: 1_000_000,
  syscallsPerSec: 1_000_000,
} as const;

/** Floors below which an agent cannot even start. */
export const agentLimitsMin = {
  heapMb: 16,
  rssMb: 64,
  wallMs: 10,
  cpuMs: 10,
  outputBytes: 0,
  diskBytes: 0,
  filesMax: 0,
  syscallsPerSec: 1,
} as const;

/** Disk bytes a directory is charged (one block), whatever it holds. */
export const directoryBytes = 4096;

/** Memory the cell runtime itself needs on top of the agent's heap, MB. */
export const cellOverheadMb = 96;
/** How often a cell samples its own CPU time and RSS while its agent is busy, ms. */
export const watchdogIntervalMs = 10;
/**
 * Longest gap between samples of an idle cell (the interval doubles up to
 * it), ms. A wake of a cell's event loop costs ~0.4 ms of CPU here, so this
 * is what an idle agent costs: ~0.5 ms/s at 1 s. Whatever the agent's
 * Worker does that the cell sees (a frame, a completion, a timer callback)
 * snaps the watchdog back to `watchdogIntervalMs` at once; only work the
 * cell cannot see (an async Web Crypto or WebAssembly op settling) can run
 * this long before the next sample, which bounds how far past its CPU or
 * RSS limit an agent that was idle gets.
 */
export const watchdogIdleMsMax = 1_000;
/** Shortest gap between two usage reports a cell sends the supervisor, ms. */
export const usageReportMs = 250;
/**
 * CPU a cell's count must have moved by before it reports usage again, ms
 * (or RSS by 1 MB): an idle cell's own samples do not wake the supervisor.
 */
export const usageReportCpuStepMs = 10;
/** Grace between SIGTERM delivery and SIGKILL, ms. */
export const termGraceMs = 2_000;
/**
 * How long a cell may take to report ready, ms, counted from when its start
 * was admitted (not from when the spawn began waiting for a start slot).
 */
export const cellStartMsMax = 10_000;
/**
 * How long a warm cell may take to answer the liveness ping it gets before
 * it is handed out, ms (a round trip is ~0.4 ms; a stopped or wedged cell
 * never answers and is replaced, not charged to the agent).
 */
export const cellPingMsMax = 1_000;
/**
 * Characters of agent frames (console output and syscalls) a cell holds
 * between its agent's Worker and the supervisor: posted by the Worker and
 * not yet written to the cell's stdout. Past it the agent's next frame waits
 * (its Worker blocks, like a write to a full pipe) until the supervisor has
 * read what came before; a single larger frame waits until the cell holds
 * none. Bounds the cell's own memory under an output flood.
 */
export const cellRelayCharsMax = 1024 * 1024;
/**
 * Characters of console output one `io.write` frame carries; longer output
 * is sent as several frames, so no console call is refused for its size.
 */
export const outputFrameCharsMax = 256 * 1024;
/** Default size of the warm pool of pre-started cells. */
export const warmPoolSizeDefault = 2;
/** Largest warm pool. */
export const warmPoolSizeMax = 256;

function assertLimits(): void {
  for (const key of Object.keys(agentLimitsDefault) as (keyof typeof agentLimitsDefault)[]) {
    const value = agentLimitsDefault[key];
    if (!(agentLimitsMin[key] <= value && value <= agentLimitsMax[key])) {
      throw new Error(`limits: default ${key} outside [min, max]`);
    }
  }
  if (agentLimitsDefault.rssMb < agentLimitsDefault.heapMb) {
    throw new Error("limits: rssMb default below heapMb default");
  }
  if (fileBytesMax >= frameBytesMax) throw new Error("limits: a file must fit a frame");
  if (6 * outputFrameCharsMax + 1024 >= frameBytesMax) {
    throw new Error("limits: a console frame (every character escaped) must fit a frame");
  }
  if (cellRelayCharsMax < 2 * outputFrameCharsMax) {
    throw new Error("limits: a cell's relay must hold two console frames before the agent waits");
  }
  if (resultBytesMax >= frameBytesMax) throw new Error("limits: a result must fit a frame");
  if (agentInflightBytesMax < 2 * resultHoldBytes(fileBytesMax) + 2 * frameBytesMax) {
    throw new Error("limits: an agent's in-flight budget must hold two of the largest reads");
  }
  if (!(watchdogIntervalMs < watchdogIdleMsMax && watchdogIntervalMs < usageReportMs)) {
    throw new Error("limits: a busy cell's watchdog samples more often than it backs off to or reports usage");
  }
  if (serverInflightBytesMax < agentsAtFullInflightMin * agentInflightBytesMax) {
    throw new Error(
      `limits: the server in-flight budget must hold ${agentsAtFullInflightMin} agents at their full budget`,
    );
  }
  if (batchAnswerBytesMax < Math.ceil(fileBytesMax / 3) * 4 + 1024) {
    throw new Error("limits: one completion of the largest read must fit a batch answer line");
  }
}
assertLimits();

/**
 * Largest module source `mod.load` reads (past it: `E2BIG` naming this limit).
 * @default 2 MiB
 */
export const moduleBytesMax = 2 * 1024 * 1024;
/**
 * Most modules one agent's graph holds, its main module included (past it:
 * the import fails with `E2BIG` naming this limit).
 * @default 256
 */
export const moduleCountMax = 256;
/**
 * Most source bytes of one agent's module graph (past it: the import fails
 * with `E2BIG` naming this limit).
 * @default 16 MiB
 */
export const moduleGraphBytesMax = 16 * 1024 * 1024;
/**
 * Most import specifiers one module may name (static and dynamic), so a
 * module of a million `import("./x")` costs the lexer's time once.
 * @default 1024
 */
export const moduleImportsMax = 1024;

/**
 * Characters of output (stdout and stderr together) one session cell's
 * answer carries; past it the answer says `outputTruncated` (the agent's
 * output stream and record still have what its limits keep).
 * @default 1 Mi characters
 */
export const sessionCellOutputCharsMax = 1024 * 1024;
/**
 * How long an interrupted (or timed-out) cell's Worker has to answer
 * before the session's agent is killed: a cell that awaits answers at once
 * and keeps the session's state; a busy one cannot be stopped otherwise.
 * @default 1000 ms
 */
export const sessionInterruptGraceMs = 1000;

/**
 * After an agent's Worker ends, the cell waits this long for `terminate()`
 * to land before it measures whether the thread went quiet.
 * @default 5 ms
 */
export const cellRecycleSettleMs = 5;
/** The window over which a retired cell's CPU must stay quiet to be recycled, ms. @default 20 ms */
export const cellRecycleQuietMs = 20;
/**
 * Share of that window the cell may burn and still count as quiet (its own
 * main thread's timers); more means the old Worker still runs: the cell is
 * not reused.
 * @default 0.25
 */
export const cellRecycleBusyShare = 0.25;
