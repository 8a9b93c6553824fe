/**
 * IPC benchmark: pipe throughput, message queue rates (FIFO and priority)
 * and pub/sub fan-out, every operation a real syscall served by the
 * `Dispatcher` (validation, capability, handler, accounting) in-process —
 * no cell, no JSON line framing, no Worker hop.
 *
 * Run: `deno run -A bench/ipc.ts [--quick]`. Prints a markdown table of
 * medians over several repetitions.
 *
 * @module
 */

import { KernelError } from "../kernel/errno.ts";
import { Ipc, pipeBufferBytesMax, queueMessagesMax } from "../kernel/ipc/mod.ts";
import { agentLimitsDefault } from "../kernel/limits.ts";
import { Arena } from "../kernel/memory/mod.ts";
import { type Process, ProcessTable } from "../kernel/process/table.ts";
import { Dispatcher } from "../kernel/syscall/dispatch.ts";
import { SyscallTable } from "../kernel/syscall/table.ts";

const quick = Deno.args.includes("--quick");
const runs = quick ? 3 : 7;
const pipeRounds = quick ? 500 : 2_000;
const queueMessages = quick ? 20_000 : 100_000;
const topicMessages = quick ? 2_000 : 10_000;
const subscribers = 10;
const messageBytes = 64;

const arena = new Arena({ capacityBytes: 64 * 1024 * 1024 });
const ipc = new Ipc({ arena });
const dispatcher = new Dispatcher({
  table: new SyscallTable(ipc.syscalls()),
  confinement: {
    checkPath: () => {
      throw new KernelError("EACCES", "no paths");
    },
  },
});
const procs = new ProcessTable();
let callId = 1;

function spawn(): Process {
  const limits = { ...agentLimitsDefault, syscallsPerSec: Number.MAX_SAFE_INTEGER };
  const proc = procs.create({ tenant: "bench", capabilities: ["ipc"], limits, nowMs: 0 });
  proc.state = "Running";
  return proc;
}

async function call<T>(proc: Process, name: string, args: unknown): Promise<T> {
  const done = await dispatcher.dispatch(proc, { id: callId++, call: name, args });
  if (!done.ok) throw new Error(`${name}: ${done.error.code} ${done.error.message}`);
  return done.value as T;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median of `units / second` over `runs` runs of `body` (after one warm-up run). */
async function rate(body: () => Promise<number>): Promise<number> {
  await body();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const units = await body();
    samples.push(units / ((performance.now() - t0) / 1000));
  }
  return median(samples);
}

async function pipeThroughput(): Promise<number> {
  const proc = spawn();
  const { readFd, writeFd } = await call<{ readFd: number; writeFd: number }>(proc, "ipc.pipe", {});
  const data = crypto.getRandomValues(new Uint8Array(pipeBufferBytesMax)).toBase64();
  const bytesPerSec = await rate(async () => {
    for (let i = 0; i < pipeRounds; i++) {
      await call(proc, "ipc.write", { fd: writeFd, data });
      await call(proc, "ipc.read", { fd: readFd, max: pipeBufferBytesMax });
    }
    return pipeRounds * pipeBufferBytesMax;
  });
  ipc.releaseAll(proc.pid);
  return bytesPerSec / (1024 * 1024);
}

async function queueRate(kind: "fifo" | "priority"): Promise<number> {
  const proc = spawn();
  const { id } = await call<{ id: string }>(proc, "ipc.mq.open", { name: `bench-${kind}`, kind });
  const data = "m".repeat(messageBytes);
  const batch = Math.min(queueMessagesMax, 512);
  const perSec = await rate(async () => {
    for (let sent = 0; sent < queueMessages; sent += batch) {
      for (let i = 0; i < batch; i++) await call(proc, "ipc.mq.send", { id, data, priority: (i * 7919) % 32 });
      for (let i = 0; i < batch; i++) await call(proc, "ipc.mq.recv", { id });
    }
    return Math.ceil(queueMessages / batch) * batch;
  });
  ipc.releaseAll(proc.pid);
  return perSec;
}

async function fanOut(): Promise<number> {
  const publisher = spawn();
  const subs: { proc: Process; sub: string }[] = [];
  for (let i = 0; i < subscribers; i++) {
    const proc = spawn();
    subs.push({ proc, sub: (await call<{ sub: string }>(proc, "ipc.topic.subscribe", { name: "bench" })).sub });
  }
  const data = "p".repeat(messageBytes);
  const batch = 128;
  const perSec = await rate(async () => {
    for (let sent = 0; sent < topicMessages; sent += batch) {
      for (let i = 0; i < batch; i++) await call(publisher, "ipc.topic.publish", { name: "bench", data });
      for (const { proc, sub } of subs) {
        for (let i = 0; i < batch; i++) await call(proc, "ipc.topic.recv", { sub });
      }
    }
    return Math.ceil(topicMessages / batch) * batch;
  });
  for (const { proc } of subs) ipc.releaseAll(proc.pid);
  ipc.releaseAll(publisher.pid);
  return perSec;
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

const pipeMBs = await pipeThroughput();
const fifo = await queueRate("fifo");
const priority = await queueRate("priority");
const published = await fanOut();
if (arena.stats().usedBytes !== 0) throw new Error("bench leaked arena bytes");

console.log(
  `IPC through the Dispatcher, in-process (no cell, no framing, no Worker hop); medians of ${runs} runs` +
    (quick ? " (--quick)" : "") + `, Deno ${Deno.version.deno}.\n`,
);
console.log("| workload | result |");
console.log("| --- | ---: |");
console.log(`| pipe, 64 KiB write then 64 KiB read, alternating | ${fmt(pipeMBs, 1)} MiB/s |`);
console.log(`| message queue fifo, ${messageBytes} B messages (send + recv) | ${fmt(fifo)} msgs/s |`);
console.log(`| message queue priority, ${messageBytes} B, 32 priorities (send + recv) | ${fmt(priority)} msgs/s |`);
console.log(
  `| pub/sub fan-out to ${subscribers} subscribers, ${messageBytes} B (published) | ${fmt(published)} msgs/s |`,
);
console.log(
  `| pub/sub fan-out to ${subscribers} subscribers (delivered = published x ${subscribers}) | ${
    fmt(published * subscribers)
  } msgs/s |`,
);
