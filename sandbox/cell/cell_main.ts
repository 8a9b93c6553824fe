/**
 * Entry point of a cell: a `deno run` subprocess with no `--allow-*` flag at
 * all. It hosts exactly one agent Worker (`permissions: "none"`), relays
 * frames between that Worker and the supervisor over stdio, and is the
 * agent's watchdog: it samples its own CPU time and RSS and exits itself when
 * a limit is hit (the supervisor's wall-clock SIGKILL is the backstop).
 *
 * This file is trusted but unprivileged: it runs in the same process as the
 * agent's Worker, so it holds nothing worth stealing.
 *
 * @module
 */

import {
  batchCallsMax,
  cellRecycleBusyShare,
  cellRecycleQuietMs,
  cellRecycleSettleMs,
  cellRelayCharsMax,
  frameBytesMax,
  moduleCountMax,
  moduleGraphBytesMax,
  outputFrameCharsMax,
  usageReportCpuStepMs,
  usageReportMs,
  watchdogIdleMsMax,
  watchdogIntervalMs,
} from "../../kernel/mod.ts";
import { type PreludeConfig, preludeScript } from "./prelude/mod.ts";
import {
  cellExitBusy,
  cellExitCpu,
  cellExitOrphan,
  cellExitRss,
  controlMarker,
  controlMarkerCode,
  type StartMessage,
} from "./protocol.ts";

const encoder = new TextEncoder();
const stdout = Deno.stdout;
let queue: string[] = [];
let writing = false;
/**
 * The relay's credit, shared with the agent's Worker: characters of its
 * frames this thread holds (posted, not yet written to stdout). The Worker
 * adds before it posts and blocks while the sum is over
 * `cellRelayCharsMax`; this thread subtracts once a write is done, so
 * a flood waits for the supervisor instead of growing this process.
 */
let relayHeld = new Int32Array(new SharedArrayBuffer(4));
/** Characters of agent messages taken since the last write began: paid back once it is done. */
let relayOwed = 0;

/** Queue a line for the supervisor; lines are coalesced into few writes. */
function send(line: string): void {
  queue.push(line);
  if (!writing) void flush();
}

let flushed: Promise<void> = Promise.resolve();

function flush(): Promise<void> {
  writing = true;
  flushed = (async () => {
    while (queue.length > 0 || relayOwed > 0) {
      const paid = relayOwed;
      const held = relayHeld;
      relayOwed = 0;
      if (queue.length > 0) {
        const bytes = encoder.encode(queue.join("\n") + "\n");
        queue = [];
        let offset = 0;
        while (offset < bytes.length) offset += await stdout.write(bytes.subarray(offset));
      }
      if (paid > 0) {
        Atomics.sub(held, 0, paid);
        Atomics.notify(held, 0);
      }
    }
    writing = false;
  })();
  return flushed;
}

/** Deliver every queued line, then `line`, then exit: nothing is reordered. */
async function sendLastAndExit(line: string, status: number): Promise<never> {
  send(line);
  await flushed;
  Deno.exit(status);
}

function sendSync(line: string): void {
  const bytes = encoder.encode((queue.length ? queue.join("\n") + "\n" : "") + line + "\n");
  queue = [];
  let offset = 0;
  while (offset < bytes.length) offset += stdout.writeSync(bytes.subarray(offset));
}

const preludeConfig: PreludeConfig = {
  frameBytesMax,
  batchCallsMax,
  relayCharsMax: cellRelayCharsMax,
  outputFrameCharsMax,
  moduleCountMax,
  moduleGraphBytesMax,
};
const preludeSource = preludeScript(preludeConfig);
const preludeUrl = `data:text/javascript;base64,${encoder.encode(preludeSource).toBase64()}`;
let worker = startWorker();
/**
 * Set once the agent's Worker has ended (its exit was sent): whether it went
 * quiet after `terminate()` — the cell may then host the next agent of the
 * same tenant in a fresh Worker, when the supervisor says `recycle`.
 */
let retired: Promise<boolean> | undefined;
/** The Worker made ahead for the next agent, until it is warm. */
let prewarming: PromiseWithResolvers<void> | undefined;
let limits = { cpuMs: Infinity, rssMb: Infinity };
/** The agent's whole CPU budget; a session cell may lower `limits.cpuMs` below it for its own run. */
let cpuTotalMs = Infinity;
let exiting = false;

/** How the SDK's console output starts: counted here so the relay never buffers unbounded output. */
const outputPrefix = '{"id":0,"call":"io.write",';
/**
 * Output frame characters relayed before the cell ends itself with an
 * output limit: past any text the supervisor would still accept (a JSON
 * escape is at most 6 characters), so the supervisor's exact count always
 * decides first unless it cannot keep up.
 */
const outputRelayCharsMax = (outputBytes: number) => 6 * outputBytes + 64 * 1024;
let outputRelayLeft = Infinity;

/**
 * A control line: the marker byte first. Only this thread writes it; every
 * line the agent sends is relayed without it, so the supervisor can tell
 * the cell's own frames from anything the agent forges.
 */
function controlLine(frame: Record<string, unknown>): string {
  return controlMarker + JSON.stringify(frame);
}

/** Relay the agent's frames: one per line, none that could pass for a control line. */
function relay(data: string): void {
  // The credit the Worker took for this message comes back once what it carried is written.
  relayOwed += data.length;
  let start = 0;
  while (start <= data.length) {
    let end = data.indexOf("\n", start);
    if (end < 0) end = data.length;
    const line = end === data.length && start === 0 ? data : data.slice(start, end);
    start = end + 1;
    if (line.length === 0 || line.charCodeAt(0) === controlMarkerCode) continue;
    if (line.startsWith(outputPrefix) && (outputRelayLeft -= line.length) < 0) {
      exiting = true;
      void sendLastAndExit(controlLine({ ctl: "limit", reason: "output", ...usageNow() }), 0);
      return;
    }
    queue.push(line);
  }
  if (!writing) void flush();
}

/** A fresh agent Worker (the prelude, then `ready`): at boot and for each recycled agent. */
function startWorker(): Worker {
  const w = new Worker(preludeUrl, { type: "module", deno: { permissions: "none" } });
  w.onmessage = onWorkerMessage;
  w.onerror = onWorkerError;
  return w;
}

function onWorkerMessage(event: MessageEvent): void {
  const data = event.data;
  dog.wake();
  if (typeof data === "string") {
    if (!exiting) relay(data);
    return;
  }
  if (data?.t === "awake") return;
  if (data?.t === "ready") {
    // One round trip so the Worker's first message is not paid by the agent; it carries the relay's credit.
    worker.postMessage({ t: "warm", credit: relayHeld.buffer });
  } else if (data?.t === "warmed") {
    // A Worker made ahead for a recycle says `ready` only when the supervisor asks (`recycle`).
    if (prewarming !== undefined) prewarming.resolve();
    else send(controlLine({ ctl: "ready", rssMb: usageNow().rssMb }));
  } else if (data?.t === "exit" && !exiting) {
    exiting = true;
    const code = Number.isInteger(data.code) ? data.code : 1;
    const body: Record<string, unknown> = { ctl: "exit", code, ...usageNow() };
    if (typeof data.result === "string") body.result = data.result;
    if (typeof data.error === "string") body.error = data.error.slice(0, 64 * 1024);
    if (data.signal === "TERM") body.signal = "TERM";
    sendLastAndRetire(controlLine(body));
  }
}

function onWorkerError(event: ErrorEvent): void {
  event.preventDefault();
  if (exiting) return;
  exiting = true;
  sendLastAndRetire(controlLine({ ctl: "exit", code: 1, error: String(event.message).slice(0, 64 * 1024) }));
}

/**
 * The agent ended by itself: deliver its exit, then end its Worker and
 * watch whether the thread went quiet (`terminate()` cannot stop a busy
 * loop the agent left behind). The cell stays until the supervisor recycles
 * it or kills it; a cell whose old Worker still burns CPU exits at `recycle`.
 */
function sendLastAndRetire(line: string): void {
  // Set before any await: a `recycle` that arrives while the exit is still being written waits for it.
  retired = retire(line);
}

async function retire(line: string): Promise<boolean> {
  send(line);
  await flushed;
  worker.onmessage = null;
  worker.onerror = null;
  worker.terminate();
  limits = { cpuMs: Infinity, rssMb: Infinity };
  cpuTotalMs = Infinity;
  if (!await quietAfterTerminate()) return false;
  // Quiet: make the next Worker now (its boot would have spoilt the measurement), so a recycle finds it warm.
  await flushed;
  relayHeld = new Int32Array(new SharedArrayBuffer(4));
  relayOwed = 0;
  prewarming = Promise.withResolvers<void>();
  worker = startWorker();
  return true;
}

async function quietAfterTerminate(): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, cellRecycleSettleMs));
  const before = cpuNowMs();
  await new Promise((resolve) => setTimeout(resolve, cellRecycleQuietMs));
  return cpuNowMs() - before <= cellRecycleQuietMs * cellRecycleBusyShare;
}

/** Host the next agent in a fresh Worker: nothing of the last one (globals, timers, messages, credit) is reachable. */
async function recycle(): Promise<void> {
  const quiet = await retired;
  if (!quiet) Deno.exit(cellExitBusy);
  await prewarming?.promise;
  retired = undefined;
  prewarming = undefined;
  outputRelayLeft = Infinity;
  exiting = false;
  send(controlLine({ ctl: "ready", rssMb: usageNow().rssMb }));
}

/** CPU time of the cell when the agent's code arrived: the agent is charged from there, not from the cell's boot. */
let cpuAtStartMs = 0;

function cpuNowMs(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1000 - cpuAtStartMs;
}

function usageNow(): { cpuMs: number; rssMb: number } {
  return {
    cpuMs: Math.round(cpuNowMs()),
    rssMb: Math.round(Deno.memoryUsage().rss / (1024 * 1024)),
  };
}

/**
 * Samples CPU and RSS every `watchdogIntervalMs` while the agent is busy, and
 * backs off (doubling, up to `watchdogIdleMsMax`) while it is idle, so that
 * a thousand sleeping agents do not burn the cores waking up. Growth seen
 * at a sample, and anything of the Worker this thread sees (`wake()`),
 * snap it back to the fast interval. Usage goes to the supervisor when it
 * moved, at most every `usageReportMs`.
 */
function watchdog(): { wake(): void } {
  let interval = watchdogIntervalMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = { cpuMs: 0, rssMb: 0 };
  let reported = { cpuMs: 0, rssMb: 0 };
  let reportedAt = 0;
  const tick = () => {
    const cpuMs = cpuNowMs();
    const rssMb = Deno.memoryUsage().rss / (1024 * 1024);
    if (cpuMs > limits.cpuMs) die("cpu", cellExitCpu, cpuMs, rssMb);
    if (rssMb > limits.rssMb) die("memory", cellExitRss, cpuMs, rssMb);
    const busy = cpuMs - last.cpuMs > interval * 0.05 || rssMb - last.rssMb > 1;
    const wasFast = interval === watchdogIntervalMs;
    interval = busy ? watchdogIntervalMs : Math.min(interval * 2, watchdogIdleMsMax);
    // Leaving the fast interval: the Worker is told once, and its next timer callback wakes this thread.
    if (wasFast && interval !== watchdogIntervalMs && !exiting) worker.postMessage({ t: "idle" });
    last = { cpuMs, rssMb };
    const now = performance.now();
    const moved = Math.abs(cpuMs - reported.cpuMs) >= usageReportCpuStepMs ||
      Math.abs(rssMb - reported.rssMb) >= 1;
    if (moved && now - reportedAt >= usageReportMs) {
      reported = { cpuMs, rssMb };
      reportedAt = now;
      send(controlLine({ ctl: "usage", cpuMs: Math.round(cpuMs), rssMb: Math.round(rssMb) }));
    }
    timer = setTimeout(tick, interval);
  };
  timer = setTimeout(tick, interval);
  return {
    wake() {
      if (interval === watchdogIntervalMs) return;
      clearTimeout(timer);
      interval = watchdogIntervalMs;
      timer = setTimeout(tick, interval);
    },
  };
}

function die(reason: string, status: number, cpuMs: number, rssMb: number): never {
  exiting = true;
  try {
    sendSync(controlLine({ ctl: "limit", reason, cpuMs: Math.round(cpuMs), rssMb: Math.round(rssMb) }));
  } finally {
    Deno.exit(status);
  }
}

async function readSupervisor(): Promise<void> {
  const decoder = new TextDecoder();
  // A line may span many chunks (a 4 MiB read is ~90): keep the pieces and
  // look for the newline in each new chunk only.
  let pieces: string[] = [];
  for await (const chunk of Deno.stdin.readable) {
    let text = decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = text.indexOf("\n")) >= 0) {
      pieces.push(text.slice(0, newline));
      text = text.slice(newline + 1);
      const line = pieces.length === 1 ? pieces[0] : pieces.join("");
      pieces = [];
      if (line.startsWith('{"t":')) control(JSON.parse(line));
      // Completions for an agent that has ended are nobody's: a recycled cell's next Worker never sees them.
      else if (line.length > 0 && !exiting) {
        dog.wake();
        worker.postMessage(line);
      }
    }
    if (text.length > 0) pieces.push(text);
  }
  // The supervisor is gone: nobody will ever answer or reap us.
  Deno.exit(cellExitOrphan);
}

type ExecMessage = { t: "exec"; id: number; script: string; name: string; cpuMs: number };

function control(
  msg:
    | StartMessage
    | ExecMessage
    | { t: "signal"; sig: string }
    | { t: "interrupt"; id: number }
    | { t: "ping" }
    | { t: "recycle" },
): void {
  if (msg.t === "recycle") {
    if (retired !== undefined) void recycle();
    return;
  }
  if (exiting) return;
  dog.wake();
  if (msg.t === "ping") {
    // Liveness before a warm cell is handed out: the Worker answers `warmed`, and this thread `ready`.
    worker.postMessage({ t: "warm" });
  } else if (msg.t === "start") {
    cpuAtStartMs += cpuNowMs();
    limits = { cpuMs: msg.cpuMs, rssMb: msg.rssMb };
    cpuTotalMs = msg.cpuMs;
    outputRelayLeft = outputRelayCharsMax(msg.outputBytes);
    worker.postMessage(msg);
  } else if (msg.t === "exec") {
    // A session cell: its own CPU budget from now, within the session's.
    limits.cpuMs = Math.min(cpuTotalMs, cpuNowMs() + msg.cpuMs);
    worker.postMessage(msg);
  } else if (msg.t === "signal" || msg.t === "interrupt") {
    worker.postMessage(msg);
  }
}

const dog = watchdog();
void readSupervisor();
