/**
 * The isolated-vm column of `bench/peers.ts`: `isolated-vm` installed with
 * npm into a temporary prefix (kept between runs, reinstalled only if it does
 * not load), driven through a Node script written next to it. The script
 * reads one JSON command per stdin line and answers one JSON line per
 * command, so the bench can interleave it with the other peers. Not a
 * benchmark itself (the runner skips `_` files).
 *
 * @module
 */

/** Split a text stream into lines (without the newline). */
function lines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) out.enqueue(p);
    },
    flush(out) {
      if (rest !== "") out.enqueue(rest);
    },
  });
}

/** The exact version the issue names (it builds on this machine's Node 20). */
export const ivmVersion = "5.0.4";

/** The Node side: every workload of the bench, against isolated-vm's public API. */
const nodeScript = String.raw`
"use strict";
const ivm = require(process.argv[2]);
const fs = require("node:fs");
const readline = require("node:readline");
const memoryLimitMb = Number(process.argv[3]);
const helloCode = 'log("hello"); "hello"';
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const pss = () => Number(fs.readFileSync("/proc/self/smaps_rollup", "utf8").match(/^Pss:\s+(\d+) kB/m)[1]) * 1024;

async function sandbox() {
  const isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb });
  const context = await isolate.createContext();
  const logged = [];
  await context.global.set("log", new ivm.Callback((s) => { logged.push(String(s)); }));
  return { isolate, context, logged };
}

async function hello() {
  const s = await sandbox();
  try {
    const result = await s.context.eval(helloCode);
    if (result !== "hello" || s.logged[0] !== "hello") throw new Error("hello: wrong answer " + result);
  } finally {
    s.isolate.dispose();
  }
}

const hostCallCode = (warmup, n) => "(async () => {" +
  "for (let i = 0; i < " + warmup + "; i++) await ping.apply(undefined, []);" +
  "const lat = new Array(" + n + "); const t0 = now();" +
  "for (let i = 0; i < " + n + "; i++) { const a = now(); await ping.apply(undefined, []); lat[i] = now() - a; }" +
  "return JSON.stringify({ lat, totalMs: now() - t0 }); })()";

const commands = {
  async hello({ n, warmup }) {
    for (let i = 0; i < warmup; i++) await hello();
    const lat = [];
    const c0 = cpuMs();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await hello();
      lat.push(performance.now() - t0);
    }
    return { lat, cpuMs: cpuMs() - c0 };
  },
  async sustain({ clients, ms }) {
    let runs = 0, failed = 0;
    const lat = [];
    const c0 = cpuMs();
    const t0 = performance.now();
    const client = async () => {
      while (performance.now() - t0 < ms) {
        const a = performance.now();
        try { await hello(); runs++; lat.push(performance.now() - a); } catch { failed++; }
      }
    };
    await Promise.all(Array.from({ length: clients }, client));
    return { runs, failed, lat, elapsedMs: performance.now() - t0, cpuMs: cpuMs() - c0 };
  },
  async hostcall({ n, warmup }) {
    const s = await sandbox();
    try {
      await s.context.global.set("ping", new ivm.Reference(() => 1));
      await s.context.global.set("now", new ivm.Callback(() => performance.now()));
      return JSON.parse(await s.context.eval(hostCallCode(warmup, n), { promise: true }));
    } finally {
      s.isolate.dispose();
    }
  },
  async memory({ n }) {
    global.gc?.();
    const before = { rss: process.memoryUsage().rss, pss: pss() };
    const live = [];
    for (let i = 0; i < n; i++) {
      const s = await sandbox();
      await s.context.eval(helloCode);
      live.push(s);
    }
    const after = { rss: process.memoryUsage().rss, pss: pss() };
    for (const s of live) s.isolate.dispose();
    return { before, after };
  },
  async contain({ kind, budgetMs }) {
    const s = await sandbox();
    const code = kind === "heap"
      ? "const a = []; while (true) a.push(new Array(100000).fill(1.5));"
      : "while (true) {}";
    const t0 = performance.now();
    let message = "";
    try {
      await s.context.eval(code, kind === "heap" ? {} : { timeout: budgetMs });
      message = "returned";
    } catch (err) {
      message = String(err && err.message || err);
    }
    const stopMs = performance.now() - t0;
    if (!s.isolate.isDisposed) s.isolate.dispose();
    await hello();
    return { stopMs, message, survived: true };
  },
};

readline.createInterface({ input: process.stdin }).on("line", async (line) => {
  const { id, cmd, args } = JSON.parse(line);
  try {
    process.stdout.write(JSON.stringify({ id, ok: true, value: await commands[cmd](args) }) + "\n");
  } catch (err) {
    process.stdout.write(JSON.stringify({ id, ok: false, error: String(err && err.stack || err) }) + "\n");
  }
});
process.stdout.write(JSON.stringify({ ready: true, node: process.version }) + "\n");
`;

/** A running Node peer, or why there is none. */
export type IvmPeer = { ok: true; peer: NodePeer } | { ok: false; why: string };

/** Memory limit of every isolate, MB (the same as the other peers' heap caps). */
export interface IvmOptions {
  memoryLimitMb: number;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: r.code, out: (dec.decode(r.stdout) + dec.decode(r.stderr)).trim() };
  } catch (err) {
    return { code: 127, out: String(err) };
  }
}

/**
 * Install isolated-vm (if the prefix does not load it yet) and start the Node
 * script. Never throws: a missing node/npm or a failed install is the reason.
 */
export async function startIvm(options: IvmOptions): Promise<IvmPeer & { installMs?: number }> {
  const node = await run("node", ["--version"]);
  if (node.code !== 0) return { ok: false, why: `node is missing (${node.out.slice(0, 120)})` };
  const prefix = `${Deno.env.get("TMPDIR") ?? "/tmp"}/agentos-bench-isolated-vm-${ivmVersion}-node-${node.out}`;
  const modulePath = `${prefix}/node_modules/isolated-vm`;
  let installMs: number | undefined;
  const loads = async () => (await run("node", ["-e", `require(${JSON.stringify(modulePath)})`])).code === 0;
  if (!(await loads())) {
    const npm = await run("npm", ["--version"]);
    if (npm.code !== 0) return { ok: false, why: `npm is missing (${npm.out.slice(0, 120)})` };
    await Deno.mkdir(prefix, { recursive: true });
    const t0 = performance.now();
    const r = await run("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", `isolated-vm@${ivmVersion}`]);
    installMs = performance.now() - t0;
    if (r.code !== 0 || !(await loads())) {
      return { ok: false, why: `npm install isolated-vm@${ivmVersion} failed: ${r.out.slice(-300)}` };
    }
  }
  const script = `${prefix}/peer.cjs`;
  await Deno.writeTextFile(script, nodeScript);
  const peer = await NodePeer.start(script, [modulePath, String(options.memoryLimitMb)]);
  return { ok: true, peer, installMs };
}

/** The Node process: one command at a time, JSON lines both ways. */
export class NodePeer {
  readonly child: Deno.ChildProcess;
  readonly version: string;
  readonly #lines: AsyncIterator<string>;
  #id = 0;

  private constructor(child: Deno.ChildProcess, lines: AsyncIterator<string>, version: string) {
    this.child = child;
    this.#lines = lines;
    this.version = version;
  }

  static async start(script: string, args: string[]): Promise<NodePeer> {
    const child = new Deno.Command("node", {
      args: ["--expose-gc", script, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lineIt = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())[Symbol.asyncIterator]();
    const first = await lineIt.next();
    if (first.done) throw new Error("the isolated-vm peer exited before it was ready");
    return new NodePeer(child, lineIt, JSON.parse(first.value).node);
  }

  /** The OS pid of the Node process. */
  get pid(): number {
    return this.child.pid;
  }

  /** Run one command; rejects with the Node side's error. */
  async call<T>(cmd: string, args: Record<string, unknown>): Promise<T> {
    const id = ++this.#id;
    const writer = this.child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(JSON.stringify({ id, cmd, args }) + "\n"));
    } finally {
      writer.releaseLock();
    }
    const next = await this.#lines.next();
    if (next.done) throw new Error(`the isolated-vm peer exited during ${cmd}`);
    const answer = JSON.parse(next.value);
    if (answer.id !== id) throw new Error(`isolated-vm peer: answer ${answer.id} to command ${id}`);
    if (!answer.ok) throw new Error(`isolated-vm peer, ${cmd}: ${answer.error}`);
    return answer.value as T;
  }

  /** Whether the Node process is still running (it survived the containment tests). */
  async alive(): Promise<boolean> {
    try {
      await this.call("hello", { n: 1, warmup: 0 });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.child.stdin.close().catch(() => {});
    await this.child.status;
  }
}
