/**
 * Files API throughput: a real server started in-process (`startServer`,
 * its HTTP gate on 127.0.0.1, a real data dir), a volume, and uploads
 * (`PUT /v1/volumes/:name/files/<path>`, streamed to a temporary file and
 * renamed into place) and downloads (`GET`, streamed from disk) of 1 MiB
 * and 32 MiB files through `fetch`. Prints MiB/s (median over the rounds)
 * and p50/p99 per request.
 *
 *     deno run -A bench/files.ts [--quick]
 *
 * @module
 */

import { startServer } from "../api/server.ts";
import { fmt, median, percentile, table } from "./_stats.ts";

const adminKey = "bench_files_admin_key_0123456789";
const quick = Deno.args.includes("--quick");
const mib = 1024 * 1024;
const sizes = [1 * mib, 32 * mib];

async function main(): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-files-" });
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    poolSize: 1,
    adminKey,
    handleSignals: false,
    log: false,
  });
  try {
    const key = await setUp(server.url);
    const rows: string[][] = [];
    for (const size of sizes) {
      const rounds = quick ? (size > mib ? 3 : 10) : (size > mib ? 10 : 50);
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)));
      const up: number[] = [], down: number[] = [];
      for (let i = 0; i < rounds; i++) {
        up.push(await timed(() => upload(server.url, key, `f${size}.bin`, data)));
        down.push(await timed(() => download(server.url, key, `f${size}.bin`, size)));
      }
      const rate = (ms: number[]) => fmt(size / mib / (median(ms) / 1000), 0);
      rows.push([
        `${size / mib} MiB`,
        String(rounds),
        rate(up),
        fmt(percentile(up, 0.5)),
        fmt(percentile(up, 0.99)),
        rate(down),
        fmt(percentile(down, 0.5)),
        fmt(percentile(down, 0.99)),
      ]);
    }
    table(
      `files API over loopback (${quick ? "quick" : "full"}; one client, sequential)`,
      ["file", "rounds", "upload MiB/s", "up p50 ms", "up p99 ms", "download MiB/s", "down p50 ms", "down p99 ms"],
      rows,
    );
  } finally {
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function setUp(url: string): Promise<string> {
  const tenant = await fetch(`${url}/v1/tenants`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench-files" }),
  });
  const { apiKey } = await tenant.json();
  const vol = await fetch(`${url}/v1/volumes`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", quotaBytes: 1024 * mib }),
  });
  if (vol.status !== 201) throw new Error(`volume: ${vol.status} ${await vol.text()}`);
  return apiKey;
}

async function upload(url: string, key: string, name: string, data: Uint8Array<ArrayBuffer>): Promise<void> {
  const res = await fetch(`${url}/v1/volumes/bench/files/${name}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${key}` },
    body: data,
  });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

async function download(url: string, key: string, name: string, size: number): Promise<void> {
  const res = await fetch(`${url}/v1/volumes/bench/files/${name}`, { headers: { authorization: `Bearer ${key}` } });
  if (res.status !== 200) throw new Error(`download: ${res.status} ${await res.text()}`);
  let n = 0;
  for await (const chunk of res.body!) n += chunk.length;
  if (n !== size) throw new Error(`download: ${n} of ${size} bytes`);
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

await main();
