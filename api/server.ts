/**
 * Assembles the server: runtime (kernel + cells), SQLite store, service,
 * metrics and the Hono app, served by `Deno.serve`; handles SIGTERM/SIGINT
 * with a bounded graceful shutdown.
 *
 * @module
 */

import { Runtime } from "../sandbox/runtime.ts";
import { createApp } from "./app.ts";
import { serverMetrics } from "./metrics.ts";
import { Service } from "./service.ts";
import { Store } from "./store.ts";

/** Longest a graceful shutdown may take before the process exits anyway, ms. */
export const shutdownMsMax = 10_000;

/** Server options. */
export interface ServerOptions {
  host: string;
  port: number;
  dataDir: string;
  poolSize: number;
  adminKey?: string;
  /** Install SIGTERM/SIGINT handlers that exit the process (default true). */
  handleSignals?: boolean;
  /** Print start-up lines (default true). */
  log?: boolean;
  /** Live agents across tenants before spawns queue for admission (default `serverAgentsMax`). */
  agentsMax?: number;
}

/** A running server. */
export interface RunningServer {
  url: string;
  service: Service;
  runtime: Runtime;
  store: Store;
  /** Graceful shutdown: stop accepting, kill agents (`killed`), flush, close. */
  close(): Promise<void>;
}

/** Start the server. Resolves once it listens and the pool is warm. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  await Deno.mkdir(options.dataDir, { recursive: true });
  const store = new Store(`${options.dataDir}/agentos.db`);
  // Tenant quotas are read by the kernel's ledger (cached; the service refreshes it on change).
  const runtime = new Runtime({
    dataDir: options.dataDir,
    poolSize: options.poolSize,
    tenantQuotas: (tenant) => Service.kernelQuotas(store.tenant(tenant)?.quotas),
  });
  const late: { service?: Service } = {};
  const service = late.service = new Service(runtime, store, { agentsMax: options.agentsMax });
  const recovered = service.recover();
  service.loadPolicies();
  const generated = await service.bootstrap(options.adminKey);
  const knownCalls = new Set(runtime.dispatcher.calls());
  const metrics = serverMetrics(runtime, () => late.service, knownCalls);
  let ready = false;
  const svc = service;
  const app = createApp({
    service: svc,
    ready: () => ready,
    metrics: (p) => metrics.expose(p.tenant.admin ? undefined : { tenant: p.tenant.id }),
  });
  const server = Deno.serve({ hostname: options.host, port: options.port, onListen: () => {} }, app.fetch);
  runtime.policy.reserveEndpoint(server.addr); // net.fetch never reaches the API itself
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      svc.shuttingDown = true;
      const stopped = server.shutdown();
      await svc.shutdown();
      await stopped.catch(() => {});
      store.close();
    })();
  if (options.handleSignals ?? true) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => {
        const timer = setTimeout(() => Deno.exit(1), shutdownMsMax);
        close().then(() => {
          clearTimeout(timer);
          Deno.exit(0);
        });
      });
    }
  }
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${server.addr.port}`;
  const log = options.log ?? true;
  if (log) {
    console.log(`agentos listening on ${url} (data: ${options.dataDir})`);
    if (recovered > 0) console.log(`recorded ${recovered} agent(s) from the previous run as crash`);
    if (generated) console.log(`admin API key (shown once, store it now): ${generated}`);
  }
  await runtime.start();
  ready = true;

  return { url, service: svc, runtime, store, close };
}
