/**
 * The agentos supervisor: the broker process. It holds the kernel, the cell
 * pool and the HTTP API; it never runs agent code itself (agents run in
 * permission-less cell subprocesses). Start it with `deno task start`, which
 * grants only the narrow permissions listed in `cli/launch.ts`.
 *
 * @module
 */

import { startServer } from "./api/mod.ts";

/** An optional integer from the environment. */
function envInt(name: string): number | undefined {
  const text = Deno.env.get(name);
  return text === undefined || text === "" ? undefined : Number(text);
}

if (import.meta.main) {
  await startServer({
    host: Deno.env.get("HOST") ?? "127.0.0.1",
    port: Number(Deno.env.get("PORT") ?? 8787),
    dataDir: Deno.env.get("AGENTOS_DATA_DIR") ?? "./data",
    poolSize: Number(Deno.env.get("AGENTOS_POOL_SIZE") ?? 2),
    adminKey: Deno.env.get("AGENTOS_ADMIN_KEY"),
    limits: {
      connectionsMax: envInt("AGENTOS_CONNECTIONS_MAX"),
      connectionsPerAddressMax: envInt("AGENTOS_CONNECTIONS_PER_ADDRESS_MAX"),
      requestsPerSecPerKey: envInt("AGENTOS_REQUESTS_PER_SEC_PER_KEY"),
    },
  });
}
