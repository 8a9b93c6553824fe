/**
 * IPC between two agents in real cells: a pipe from a child (writer) to its
 * parent (reader), and a FIFO queue between them — the whole path, including
 * both cells' frames and the kernel arena.
 *
 *   deno run -A bench/ipc_agents.ts [--quick]
 *
 * @module
 */

import { Runtime } from "../sandbox/runtime.ts";

const quick = Deno.args.includes("--quick");
const mb = quick ? 16 : 64;
const messages = quick ? 5_000 : 20_000;
const reps = quick ? 3 : 5;

const writer = (fdVar: string) =>
  `export default async () => {
    const chunk = new Uint8Array(65536).fill(7);
    for (let i = 0; i < ${mb * 16}; i++) await sys.ipc.write(${fdVar}, chunk);
    await sys.ipc.close(${fdVar});
  }`;

const pipeParent = `export default async () => {
  const { readFd, writeFd } = await sys.ipc.pipe();
  const code = ${JSON.stringify(writer("FD"))}.replaceAll("FD", String(writeFd));
  const started = performance.now();
  const { pid } = await sys.proc.spawn({ code, capabilities: ["ipc"], fds: [writeFd], limits: { syscallsPerSec: 1000000 } });
  await sys.ipc.close(writeFd);
  let bytes = 0;
  for (;;) {
    const r = await sys.call("ipc.read", { fd: readFd, max: 65536, timeoutMs: 10000 });
    bytes += Math.floor(r.data.length * 3 / 4) - (r.data.endsWith("==") ? 2 : r.data.endsWith("=") ? 1 : 0);
    if (r.eof) break;
  }
  const ms = performance.now() - started;
  await sys.proc.wait(pid);
  return { bytes, ms };
}`;

const queueParent = `export default async () => {
  const { id } = await sys.ipc.mq.open("bench", "fifo");
  const child = \`export default async () => {
    const { id } = await sys.ipc.mq.open("bench", "fifo");
    const body = "m".repeat(64);
    const send = async () => {
      for (;;) {
        try { return await sys.ipc.mq.send(id, body); }
        catch (e) { if (e.code !== "EAGAIN") throw e; await new Promise((r) => setTimeout(r, 1)); }
      }
    };
    for (let i = 0; i < ${messages}; i += 100) await Promise.all(Array.from({ length: 100 }, send));
  }\`;
  const started = performance.now();
  const { pid } = await sys.proc.spawn({ code: child, capabilities: ["ipc"], limits: { syscallsPerSec: 1000000 } });
  let got = 0;
  while (got < ${messages}) {
    await Promise.all(Array.from({ length: 100 }, () => sys.ipc.mq.recv(id, 10000)));
    got += 100;
  }
  const ms = performance.now() - started;
  await sys.proc.wait(pid);
  return { got, ms };
}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-ipc-" });
const runtime = new Runtime({ dataDir, poolSize: 2 });
await runtime.start();
const pipeRates: number[] = [];
const queueRates: number[] = [];
try {
  for (let r = 0; r < reps; r++) {
    const p = await runtime.run({
      code: pipeParent,
      capabilities: ["ipc", "proc.spawn"],
      limits: { syscallsPerSec: 1_000_000, wallMs: 120_000, cpuMs: 120_000 },
    });
    if (p.reason !== "exit") throw new Error(`pipe run: ${p.reason} ${p.message}`);
    const v = p.result as { bytes: number; ms: number };
    pipeRates.push(v.bytes / (1024 * 1024) / (v.ms / 1000));
    const q = await runtime.run({
      code: queueParent,
      capabilities: ["ipc", "proc.spawn"],
      limits: { syscallsPerSec: 1_000_000, wallMs: 120_000, cpuMs: 120_000 },
    });
    if (q.reason !== "exit") throw new Error(`queue run: ${q.reason} ${q.message}`);
    const w = q.result as { got: number; ms: number };
    queueRates.push(w.got / (w.ms / 1000));
  }
} finally {
  await runtime.close();
  await Deno.remove(dataDir, { recursive: true });
}

console.log(`\n## IPC between two agents in real cells (${reps} reps, medians; child spawn included in the time)\n`);
console.log("| path | median | min–max |");
console.log("|---|---:|---:|");
const range = (xs: number[], f: (n: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
console.log(
  `| pipe, child → parent, 64 KiB writes, ${mb} MiB | ${median(pipeRates).toFixed(1)} MiB/s | ${
    range(pipeRates, (n) => n.toFixed(1))
  } |`,
);
console.log(
  `| FIFO queue, child → parent, 64 B messages, ${messages} | ${Math.round(median(queueRates))} msgs/s | ${
    range(queueRates, (n) => String(Math.round(n)))
  } |`,
);
