/**
 * The agentos columns of `bench/peers.ts`: the same workloads through a
 * `Runtime` in this process (`local`) and through a real server process over
 * HTTP (`POST /v1/agents` with `wait: true`). CPU and memory are read from
 * /proc for the supervisor and its cell processes. Not a benchmark itself
 * (the runner skips `_` files).
 *
 * @module
 */

import { type Agent, Runtime } from "../sandbox/mod.ts";
import { metric, ServerProcess, until } from "../tests/reliability/helpers.ts";
import { childPids, treeCpuMs, treeMemory } from "./_proc.ts";
import { sleep } from "./_stats.ts";

/** The agent of a run to completion: a host call (`console.log` is a syscall) and a result. */
export const helloAgent = `export default () => { console.log("hello"); return "hello"; }`;

/** Tenant quotas high enough that the bench measures cells, not quotas. */
export const benchQuotas = {
  agentsConcurrentMax: 1_000,
  spawnsPerSec: 10_000,
  rssMbTotal: 1_000_000,
  syscallsPerSec: 10_000_000,
};

/** What one agentos run answered. */
export interface RunAnswer {
  reason: string;
  message?: string;
  result: unknown;
  /** Error code of a refused request (HTTP), if any. */
  code?: string;
  cpuMs?: number;
}

/** One agentos surface: a way to run an agent to completion, and the process tree to measure. */
export interface AgentosSurface {
  label: string;
  run(code: string, limits?: Record<string, number>): Promise<RunAnswer>;
  /** CPU ms so far of the supervisor and its cells. */
  cpuMs(): number;
  /** Memory of the supervisor and its cells. */
  memory(): { rss: number; pss: number; processes: number };
  /** Resolves once `agents` agents are live (default none) and the warm pool is full again (bounded). */
  settle(agents?: number): Promise<void>;
  /** Start `n` sleeping agents and wait until each made its syscall; resolves to their release. */
  holdLive(n: number): Promise<() => Promise<void>>;
  /** Whether the supervisor still serves a run after the containment tests. */
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

/** Agentos in this process: `Runtime` (the supervisor is this process; `skip` = other children of it). */
export async function localSurface(poolSize: number, skip: () => number[]): Promise<AgentosSurface> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-peers-" });
  const runtime = new Runtime({ dataDir, poolSize, tenantQuotas: { bench: benchQuotas } });
  await runtime.start();
  return {
    label: "agentos local",
    async run(code, limits) {
      const r = await runtime.run({ code, tenant: "bench", limits });
      return { reason: r.reason, message: r.message, result: r.result, cpuMs: r.usage.cpuMs };
    },
    cpuMs: () => treeCpuMs(Deno.pid, skip()),
    memory: () => treeMemory(Deno.pid, skip()),
    async settle(agents = 0) {
      await until(
        "the local runtime to settle",
        () => {
          const pool = runtime.pool.stats();
          return runtime.agents().length === agents && pool.warm >= poolSize && pool.starting === 0;
        },
        30_000,
        5,
      );
    },
    async holdLive(n) {
      const agents: Agent[] = [];
      for (let i = 0; i < n; i++) agents.push(await runtime.spawn({ code: sleeperAgent, tenant: "bench" }));
      await until("the sleepers to make their syscall", () => agents.every((a) => a.usage.syscalls >= 1), 60_000, 5);
      return async () => {
        for (const a of agents) runtime.kill(a.pid);
        await Promise.all(agents.map((a) => a.done));
      };
    },
    async alive() {
      return (await runtime.run({ code: helloAgent, tenant: "bench" })).result === "hello";
    },
    async close() {
      await runtime.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A real server process (the flags of `deno task start`) on a throw-away data dir, and a tenant on it. */
export async function startServerProcess(poolSize: number): Promise<{ server: ServerProcess; key: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-server-" });
  const server = await ServerProcess.start({
    dataDir,
    poolSize,
    // A burst of 100 requests from 127.0.0.1 needs more than the default 64 connections per address.
    env: { AGENTOS_CONNECTIONS_PER_ADDRESS_MAX: "1024" },
  });
  const { apiKey } = await server.tenant("bench", benchQuotas);
  return { server, key: apiKey };
}

/** Stop a server of {@linkcode startServerProcess} and remove its data dir. */
export async function stopServerProcess(server: ServerProcess): Promise<void> {
  await server.stop();
  await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
}

/** `POST /v1/agents` with `wait: true`: the agent's end, or the error code of a refusal. */
export async function postRun(
  server: ServerProcess,
  key: string,
  code: string,
  limits?: Record<string, number>,
): Promise<RunAnswer> {
  let res: Response;
  try {
    res = await server.req("/v1/agents", { method: "POST", key, json: { code, wait: true, limits } });
  } catch (err) {
    return { reason: "fetch_error", result: undefined, code: `fetch: ${String(err).slice(0, 60)}` };
  }
  const text = await res.text();
  let body: Record<string, unknown> & { error?: { code?: string } } = {};
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  if (res.status !== 200) {
    return { reason: "refused", result: undefined, code: `${res.status} ${body.error?.code ?? text.slice(0, 40)}` };
  }
  const usage = body.usage as { cpuMs?: number } | undefined;
  const message = typeof body.message === "string" ? body.message : undefined;
  return { reason: String(body.reason), message, result: body.result, cpuMs: usage?.cpuMs };
}

/** Wait until a server process has no live agent and a full pool (bounded; a short pool is reported, not fatal). */
export async function serverSettled(
  server: ServerProcess,
  poolSize: number,
  agents = 0,
  timeoutMs = 30_000,
): Promise<boolean> {
  try {
    await until(
      "the server to settle",
      async () => {
        const text = await (await server.req("/metrics")).text();
        return metric(text, "agentos_agents") === agents && metric(text, "agentos_cell_pool_cells") >= poolSize;
      },
      timeoutMs,
      20,
    );
    return true;
  } catch {
    return false;
  }
}

/** Agentos over HTTP: a server process; its CPU and memory include its cells. */
export async function httpSurface(poolSize: number): Promise<AgentosSurface & { pid: number }> {
  const { server, key } = await startServerProcess(poolSize);
  return {
    label: "agentos HTTP",
    pid: server.pid,
    run: (code, limits) => postRun(server, key, code, limits),
    cpuMs: () => treeCpuMs(server.pid),
    memory: () => treeMemory(server.pid),
    async settle(agents = 0) {
      if (!(await serverSettled(server, poolSize, agents))) await sleep(1_000);
    },
    async holdLive(n) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await server.json("/v1/agents", { method: "POST", key, json: { code: sleeperAgent } });
        if (r.status !== 201) throw new Error(`sleeper spawn: ${r.status} ${JSON.stringify(r.body)}`);
        ids.push(String(r.body.id));
      }
      await until(
        "the sleepers to make their syscall",
        async () => {
          for (const id of ids) {
            const r = await server.json(`/v1/agents/${id}`, { key });
            if (((r.body.usage as { syscalls?: number } | undefined)?.syscalls ?? 0) < 1) return false;
          }
          return true;
        },
        60_000,
        20,
      );
      return async () => {
        for (const id of ids) {
          await server.req(`/v1/agents/${id}`, { method: "DELETE", key }).then((r) => r.body?.cancel());
        }
        await serverSettled(server, poolSize);
      };
    },
    async alive() {
      return server.exited === null && (await postRun(server, key, helloAgent)).result === "hello";
    },
    close: () => stopServerProcess(server),
  };
}

/** Agent code of the host-call workload: `n` timed `await sys.time.now()` after `warmup`. */
export function hostCallAgent(n: number, warmup: number): string {
  return `export default async () => {
    for (let i = 0; i < ${warmup}; i++) await sys.time.now();
    const lat = new Array(${n});
    const t0 = performance.now();
    for (let i = 0; i < ${n}; i++) {
      const a = performance.now();
      await sys.time.now();
      lat[i] = Math.round((performance.now() - a) * 1000) / 1000;
    }
    return { lat, totalMs: performance.now() - t0 };
  }`;
}

/** The agent of the memory workload: one syscall, then sleeps until killed. */
export const sleeperAgent = `export default async () => {
  await sys.time.now();
  await new Promise((r) => setTimeout(r, 3_600_000));
}`;

/** Live cell processes under `pid` (the pool and live agents), except `skip`. */
export function cellCount(pid: number, skip: readonly number[] = []): number {
  return childPids(pid, skip).length;
}
