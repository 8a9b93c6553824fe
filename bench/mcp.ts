/**
 * MCP benchmark: what `/mcp` costs over the plain HTTP API, against a real
 * server started in-process (warm pool of 4) and the real
 * `@modelcontextprotocol/sdk` client over 127.0.0.1.
 *
 * - `ping` and `tools/list` as raw JSON-RPC `POST`s (the server's cost: a
 *   fresh server and transport per request, schemas turned into JSON Schema
 *   each time), the SDK client's `listTools()` (which also compiles every
 *   output schema with Ajv, client side), against `GET /v1/agents?limit=1`;
 * - run-to-completion "hello": MCP `run_code` against `POST /v1/agents`
 *   with `wait: true`, sequential, interleaved.
 *
 * Run: `deno run -A bench/mcp.ts [--quick]`. Prints markdown tables.
 *
 * @module
 */

// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types";
import { startServer } from "../api/server.ts";
import { fmt, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");
const listSamples = quick ? 200 : 1000;
const runSamples = quick ? 50 : 200;
const warmup = 5;
const adminKey = "bench_admin_key_0123456789abcdef";
const helloCode = `export default () => { console.log("hello"); return "hello"; }`;

async function timed(samples: number, fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const lat: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await fn();
    lat.push(performance.now() - t0);
  }
  return lat;
}

function row(name: string, lat: number[]): string[] {
  return [name, fmt(percentile(lat, 0.5)), fmt(percentile(lat, 0.99))];
}

async function main(): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-mcp-" });
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    poolSize: 4,
    adminKey,
    handleSignals: false,
    log: false,
    limits: { requestsPerSecPerKey: 1_000_000, requestBurstPerKey: 1_000_000 },
  });
  const client = new Client({ name: "bench", version: "1.0.0" });
  try {
    const quotas = { agentsConcurrentMax: 64, spawnsPerSec: 10_000 };
    const created = await fetch(`${server.url}/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "bench", quotas }),
    });
    const key = (await created.json()).apiKey as string;
    const headers = { authorization: `Bearer ${key}` };
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers } }));
    const rpc = (method: string) => async () => {
      const res = await fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: {} }),
      });
      await res.arrayBuffer();
    };
    const ping = await timed(listSamples, rpc("ping"));
    const rawList = await timed(listSamples, rpc("tools/list"));
    const list = await timed(listSamples, async () => void await client.listTools());
    const get = await timed(listSamples, async () => {
      await (await fetch(`${server.url}/v1/agents?limit=1`, { headers })).arrayBuffer();
    });
    const mcpRun: number[] = [], httpRun: number[] = [];
    for (let i = 0; i < runSamples + warmup; i++) {
      const t0 = performance.now();
      const r = await client.callTool({ name: "run_code", arguments: { code: helloCode } }) as CallToolResult;
      if (r.isError) throw new Error(JSON.stringify(r.content));
      const t1 = performance.now();
      const res = await fetch(`${server.url}/v1/agents`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ code: helloCode, wait: true }),
      });
      await res.arrayBuffer();
      const t2 = performance.now();
      if (i >= warmup) mcpRun.push(t1 - t0), httpRun.push(t2 - t1);
    }
    table(`Round trips, ms (${listSamples} sequential)`, ["request", "p50", "p99"], [
      row("MCP ping (raw POST)", ping),
      row("MCP tools/list (raw POST)", rawList),
      row("MCP tools/list (SDK client listTools)", list),
      row("GET /v1/agents?limit=1", get),
    ]);
    table(`Run to completion "hello", ms (${runSamples} sequential, interleaved)`, ["request", "p50", "p99"], [
      row("MCP run_code", mcpRun),
      row("POST /v1/agents wait:true", httpRun),
    ]);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

if (import.meta.main) await main();
