/**
 * Helpers of the reliability suite: real server processes (the supervisor
 * as `deno task start` runs it, in a process group of its own so a test can
 * `kill -9` all of it), a real tmpfs to fill, and bounded waits.
 *
 * @module
 */

import { supervisorFlags } from "../../cli/launch.ts";

/** The admin key every server of the suite is started with (via `AGENTOS_ADMIN_KEY`). */
export const adminKey = "admin_reliability_key_0123456789";

const codeDir = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const decoder = new TextDecoder();

/**
 * Wait until `fn` is true, polling every `everyMs`; fails with `what` after
 * `timeoutMs`. A bound on a wait for a state, never a timing assertion.
 */
export async function until(
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Run a command; resolves to its exit code and output. */
async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return { code: r.code, out: (decoder.decode(r.stdout) + decoder.decode(r.stderr)).trim() };
  } catch (err) {
    return { code: 127, out: String(err) };
  }
}

/**
 * Mount a fresh tmpfs of `sizeMb` MiB on a temporary directory, run `fn`
 * on it, unmount and remove it. A test that needs this fails (it is not
 * skipped) where mounting is not permitted.
 */
export async function withTmpfs<T>(sizeMb: number, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "agentos-tmpfs-" });
  const mounted = await run("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0755`, "tmpfs", dir]);
  if (mounted.code !== 0) {
    await Deno.remove(dir);
    throw new Error(
      `this test needs root or CAP_SYS_ADMIN to mount a tmpfs (mount -t tmpfs -o size=${sizeMb}m tmpfs ${dir}): ` +
        mounted.out,
    );
  }
  try {
    return await fn(dir);
  } finally {
    const u = await run("umount", [dir]);
    if (u.code !== 0) await run("umount", ["-l", dir]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Fill the file system of `dir` to 100 %: write `<dir>/<name>` until the
 * disk answers ENOSPC. Returns the filler's path (remove it to free the space).
 */
export async function fillDisk(dir: string, name = "filler.bin"): Promise<string> {
  const path = `${dir}/${name}`;
  using file = await Deno.open(path, { write: true, create: true, append: true });
  for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
    const chunk = new Uint8Array(size).fill(0x5a);
    try {
      while (true) await file.write(chunk);
    } catch (err) {
      if (!String(err).includes("os error 28")) throw err;
    }
  }
  return path;
}

/*
 * Deno reads /proc only with --allow-all (which the test task does not grant), so /proc is read by `ls` and
 * `cat` subprocesses (--allow-run).
 */

/** Open descriptors of process `pid` (entries of /proc/<pid>/fd). */
export async function fdCount(pid: number): Promise<number> {
  const r = await run("ls", ["-1", `/proc/${pid}/fd`]);
  if (r.code !== 0) throw new Error(`cannot list /proc/${pid}/fd: ${r.out}`);
  return r.out.split("\n").filter((l) => l !== "").length;
}

/** Resident set of process `pid`, bytes (VmRSS of /proc/<pid>/status). */
export async function rssBytes(pid: number): Promise<number> {
  const r = await run("cat", [`/proc/${pid}/status`]);
  const line = r.out.split("\n").find((l) => l.startsWith("VmRSS:"));
  if (line === undefined) throw new Error(`no VmRSS for pid ${pid}: ${r.out.slice(0, 200)}`);
  return Number(line.split(/\s+/)[1]) * 1024;
}

/** Live (non-zombie) processes of process group `pgid`. */
export async function groupMembers(pgid: number): Promise<number[]> {
  const r = await run("sh", ["-c", "cat /proc/[0-9]*/stat 2>/dev/null; true"]);
  const out: number[] = [];
  for (const stat of r.out.split("\n")) {
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses: split after the last ")".
    const close = stat.lastIndexOf(")");
    if (close === -1) continue;
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") out.push(Number.parseInt(stat, 10));
  }
  return out;
}

/** Entries of `dir` (empty when it does not exist). */
export function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** Options of a server process. */
export interface ServerProcessOptions {
  dataDir: string;
  /** Warm cells (`AGENTOS_POOL_SIZE`, default 2). */
  poolSize?: number;
  /** More environment for the supervisor (only the names `cli/launch.ts` allows are readable). */
  env?: Record<string, string>;
  /** Extra `deno run` flags before main.ts (e.g. `--inspect=127.0.0.1:9229` to take heap snapshots). */
  denoFlags?: string[];
}

/**
 * The supervisor in a real process: `deno run` of main.ts with exactly the
 * flags `deno task start` gives it (`supervisorFlags`), listening on a free
 * port of 127.0.0.1 (`PORT=0`), in a process group of its own (its cells
 * are in it too, so `killGroup` is a `kill -9` of the whole server).
 */
export class ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly dataDir: string;
  url = "";
  #stdout = "";
  #stderr = "";
  #exited: { code: number; signal: Deno.Signal | null } | null = null;
  readonly status: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess, dataDir: string) {
    this.child = child;
    this.dataDir = dataDir;
    this.status = child.status.then((s) => {
      this.#exited = { code: s.code, signal: s.signal };
      return s;
    });
    this.#drain(child.stdout, (t) => this.#stdout += t);
    this.#drain(child.stderr, (t) => this.#stderr += t);
  }

  /** Start a server on `dataDir` and wait until it is ready (`/readyz`: listening, pool warm). */
  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    await Deno.mkdir(options.dataDir, { recursive: true });
    const dataDir = await Deno.realPath(options.dataDir);
    const execPath = Deno.execPath();
    const flags = supervisorFlags({ dataDir, codeDir, execPath, host: "127.0.0.1", port: 0, egressHosts: [] });
    const child = new Deno.Command(execPath, {
      args: [...flags, ...(options.denoFlags ?? []), `${codeDir}/main.ts`],
      cwd: codeDir,
      env: {
        HOST: "127.0.0.1",
        PORT: "0",
        AGENTOS_DATA_DIR: dataDir,
        AGENTOS_ADMIN_KEY: adminKey,
        AGENTOS_POOL_SIZE: String(options.poolSize ?? 2),
        ...options.env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // its own session and process group (setsid): the group is the server and its cells
    }).spawn();
    const server = new ServerProcess(child, dataDir);
    await server.#ready();
    return server;
  }

  /** The supervisor's pid (also its process group id). */
  get pid(): number {
    return this.child.pid;
  }

  /** Everything it printed so far. */
  get output(): string {
    return `--- stdout ---\n${this.#stdout}\n--- stderr ---\n${this.#stderr}`;
  }

  /** Whether it has exited (with its status). */
  get exited(): { code: number; signal: Deno.Signal | null } | null {
    return this.#exited;
  }

  /** An HTTP request to it; `key` is the bearer key (admin by default), `json` a body. */
  req(path: string, init: RequestInit & { key?: string; json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${init.key ?? adminKey}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    return fetch(`${this.url}${path}`, { ...init, headers, body });
  }

  /** A request answered with JSON: its status and body. */
  async json(path: string, init: RequestInit & { key?: string; json?: unknown } = {}) {
    const res = await this.req(path, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* not JSON: kept as text */ }
    return {
      status: res.status,
      body: body as Record<string, unknown> & { error?: { code: string; message: string } },
    };
  }

  /** Create a tenant; returns its id and key. */
  async tenant(name: string, quotas?: Record<string, number>): Promise<{ id: string; apiKey: string }> {
    const r = await this.json("/v1/tenants", { method: "POST", json: { name, quotas } });
    if (r.status !== 201) throw new Error(`tenant create: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as unknown as { id: string; apiKey: string };
  }

  /** `kill -9` of the whole process group (supervisor and cells); resolves once the supervisor is reaped. */
  async killGroup(): Promise<void> {
    try {
      Deno.kill(-this.pid, "SIGKILL");
    } catch { /* already gone */ }
    await this.status;
    await until(
      "the killed server's process group to be gone",
      async () => (await groupMembers(this.pid)).length === 0,
    );
  }

  /** Send `signal` to the supervisor only; resolves to its exit status (bounded by `timeoutMs`). */
  async signal(signal: Deno.Signal, timeoutMs = 20_000): Promise<Deno.CommandStatus> {
    this.child.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`server did not exit within ${timeoutMs} ms of ${signal}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.status, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop it (SIGTERM, then `kill -9` of the group if it is still there), whatever state it is in. */
  async stop(): Promise<void> {
    if (this.#exited === null) {
      await this.signal("SIGTERM").catch(() => {});
    }
    if ((await groupMembers(this.pid)).length > 0) await this.killGroup();
    await this.status;
  }

  async #ready(): Promise<void> {
    await until(`the server to listen\n${this.output}`, () => {
      if (this.#exited !== null) {
        throw new Error(`the server exited (${this.#exited.code}) before it listened\n${this.output}`);
      }
      const m = this.#stdout.match(/agentos listening on (http:\/\/\S+)/);
      if (m) this.url = m[1];
      return m !== null;
    }, 60_000);
    await until(
      `the server to be ready\n${this.output}`,
      async () => {
        if (this.#exited !== null) {
          throw new Error(
            `the server exited (${this.#exited.code}) before ready\n${this.output}`,
          );
        }
        const res = await fetch(`${this.url}/readyz`).catch(() => null);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      60_000,
      20,
    );
  }

  async #drain(stream: ReadableStream<Uint8Array>, add: (text: string) => void): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) add(dec.decode(chunk, { stream: true }));
  }
}

/** Run `fn` with a started server; stops it after (SIGTERM, then `kill -9` of its group). */
export async function withServerProcess<T>(
  options: ServerProcessOptions,
  fn: (s: ServerProcess) => Promise<T>,
): Promise<T> {
  const server = await ServerProcess.start(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** A throw-away data directory, removed after `fn`. */
export async function withDataDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "agentos-rel-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The value of a Prometheus sample (sum over series matching `labels`); 0 when absent. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}
