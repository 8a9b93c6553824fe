/**
 * A real server on 127.0.0.1 (port 0) over a throw-away data dir.
 */
import type { EdgeLimits } from "../../api/limits.ts";
import { type RunningServer, type ServerOptions, startServer } from "../../api/server.ts";

export const adminKey = "admin_test_key_0123456789";

export interface TestServer extends RunningServer {
  dataDir: string;
  req(path: string, init?: RequestInit & { key?: string; json?: unknown }): Promise<Response>;
}

export async function withServer(
  fn: (s: TestServer) => Promise<void>,
  options: {
    dataDir?: string;
    keep?: boolean;
    agentsMax?: number;
    limits?: Partial<EdgeLimits>;
    retention?: ServerOptions["retention"];
    openStore?: ServerOptions["openStore"];
    cells?: ServerOptions["cells"];
    poolSize?: number;
    webhooks?: ServerOptions["webhooks"];
  } = {},
): Promise<void> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "agentos-api-" });
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    poolSize: options.poolSize ?? 2,
    adminKey,
    handleSignals: false,
    log: false,
    agentsMax: options.agentsMax,
    limits: options.limits,
    retention: options.retention,
    openStore: options.openStore,
    cells: options.cells,
    webhooks: options.webhooks,
  });
  const req: TestServer["req"] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.key !== undefined) headers.set("authorization", `Bearer ${init.key}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    return fetch(`${server.url}${path}`, { ...init, headers, body });
  };
  try {
    await fn({ ...server, dataDir, req });
  } finally {
    await server.close();
    if (!options.keep) await Deno.remove(dataDir, { recursive: true });
  }
}

export async function createTenant(s: TestServer, name: string, quotas?: Record<string, number>) {
  const res = await s.req("/v1/tenants", { method: "POST", key: adminKey, json: { name, quotas } });
  if (res.status !== 201) throw new Error(`tenant create: ${res.status} ${await res.text()}`);
  return await res.json() as { id: string; apiKey: string };
}
