/**
 * Assembles the server: runtime (kernel + cells), SQLite store, service,
 * metrics and the Hono app. The app is served by `Deno.serve` on a unix
 * socket under the data dir, behind the connection gate that owns the TCP
 * listener (caps, deadlines, descriptor exhaustion: api/edge/gate.ts);
 * handles SIGTERM/SIGINT with a bounded graceful shutdown. Retention
 * (api/retention.ts) runs on a timer from the start. A server that cannot
 * start for a reason an operator can fix (the database file, the data dir,
 * an environment variable) throws a one-line {@linkcode StartupError}.
 *
 * @module
 */

import { PackageStore } from "../sandbox/packages/mod.ts";
import "../limits.ts";
import { Runtime } from "../sandbox/mod.ts";
import { createApp } from "./app.ts";
import { ConnectionGate, edgeMetrics, InnerServer } from "./edge/mod.ts";
import { type EdgeLimits, edgeLimits } from "./limits.ts";
import { serverMetrics } from "./metrics.ts";
import { Retention, type RetentionOptions, retentionOptions } from "./retention.ts";
import { Service } from "./service.ts";
import type { TracesOptions } from "./traces.ts";
import { WebhookEgress, type WebhookOptions } from "./webhooks/mod.ts";
import { StartupError, Store } from "./store.ts";
import { type AdminKeyFile, writeAdminKeyFile } from "./admin_key_file.ts";

export { StartupError, startupExitCode } from "./store.ts";

/** Longest a graceful shutdown may take before the process exits anyway, ms. */
export const shutdownMsMax = 10_000;
/** How long a shutdown waits for requests in flight before it closes every connection, ms. */
export const shutdownGraceMs = 5_000;

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
  /** Connection, rate and stream limits of the HTTP edge (defaults: `edgeLimitsDefault` in api/limits.ts). */
  limits?: Partial<EdgeLimits>;
  /**
   * What the database keeps (defaults: `retentionDefault` in api/retention.ts); `nowMs` is the wall clock
   * retention compares ages with (default `Date.now`).
   */
  retention?: Partial<RetentionOptions> & { nowMs?: () => number };
  /** Trace bounds and timing (defaults: api/limits.ts; `eventsPerAgentMax` also from `retention`). */
  traces?: TracesOptions;
  /** Open the store at `path` (default `new Store(path)`; tests hand in a subclass that fails on purpose). */
  openStore?: (path: string) => Store;
  /**
   * Webhook deliveries: queue, workers, timeout, retry schedule (defaults: `deliveryDefaults` in
   * api/webhooks/queue.ts) and `allowHosts`, the IPs/CIDRs of non-public receivers (default none).
   */
  webhooks?: WebhookOptions;
  /** Cell starts at once and how long a spawn waits for one (defaults: `RuntimeOptions.cellStartsMax` and `cellStartWaitMsMax`). */
  cells?: { startsMax?: number; startWaitMsMax?: number };
}

/** A running server. */
export interface RunningServer {
  url: string;
  service: Service;
  runtime: Runtime;
  store: Store;
  /** The connection gate in front of the HTTP server (its `stats`). */
  gate: ConnectionGate;
  /** The limits in force. */
  limits: EdgeLimits;
  /** The retention timer (its `options`, `stats`, and `run()` to run it now). */
  retention: Retention;
  /** The routes the app registers (method, Hono path; middleware left out): what `/openapi.json` must describe. */
  routes: readonly { method: string; path: string }[];
  /** Graceful shutdown: stop accepting, kill agents (`killed`), flush, close. */
  close(): Promise<void>;
}

/** Start the server. Resolves once it listens and the pool is warm. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const limits = edgeLimits(options.limits);
  const { nowMs, ...keep } = options.retention ?? {};
  const kept = retentionOptions(keep);
  await makeDataDir(options.dataDir);
  const store = (options.openStore ?? ((path) => new Store(path)))(`${options.dataDir}/agentos.db`);
  const log = options.log ?? true;
  const retention = new Retention(store, kept, { nowMs, log: log ? undefined : () => {} });
  // One store for the agents' imports and the admin routes.
  const packages = new PackageStore(PackageStore.defaultDir(options.dataDir));
  const runtime = new Runtime({
    packages,
    // Event ids continue above every id handed out before (api/traces.ts keeps the reservation).
    eventSeqFirst: store.traces.reservedSeq(),
    dataDir: options.dataDir,
    poolSize: options.poolSize,
    cellStartsMax: options.cells?.startsMax,
    cellStartWaitMsMax: options.cells?.startWaitMsMax,
  });
  const service = new Service(runtime, store, {
    packages,
    agentsMax: options.agentsMax,
    traces: { eventsPerAgentMax: kept.traceEventsPerAgentMax, ...options.traces },
    webhooks: options.webhooks,
  });
  const recovered = service.recover();
  // The kernel knows tenants' quotas and policies because the API pushes them in (now, and on every change).
  service.loadQuotas();
  service.loadPolicies();
  await service.volumes.load();
  const generated = await service.bootstrap(options.adminKey);
  const keyFile = generated === undefined ? undefined : await writeAdminKeyFile(options.dataDir, generated);
  const metrics = serverMetrics(runtime, () => service, new Set(runtime.dispatcher.calls()));
  let ready = false;
  const app = createApp({
    service,
    ready: () => ready,
    metrics: (p) => metrics.expose(p.tenant.admin ? undefined : { tenant: p.tenant.id }),
    limits,
  });
  const { gate, inner, port } = listen(options, runtime, app.fetch, limits, log);
  edgeMetrics(metrics, { gate, inner, ...app.edge, connectionsMax: limits.connectionsMax });
  const verifying = verifyPackages(service.packages, log ? (line) => console.error(line) : () => {});
  const close = closer(service, store, gate, inner, retention, verifying);
  if (options.handleSignals ?? true) exitOnSignals(close);
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  if (log) {
    console.log(`agentos listening on ${url} (data: ${options.dataDir})`);
    if (recovered > 0) console.log(`recorded ${recovered} agent(s) from the previous run as crash`);
    if (generated) console.log(adminKeyLine(generated, keyFile));
  }
  await runtime.start();
  service.traces.start();
  retention.start();
  ready = true;
  const routes = app.routes.filter((r) => r.method !== "ALL").map(({ method, path }) => ({ method, path }));
  return { url, service, runtime, store, gate, limits, retention, routes, close };
}

/**
 * Check every bundle of the package store against its index, in the
 * background: the server starts either way, and only logs what does not
 * match (an agent importing a damaged package gets the `integrity` error).
 */
async function verifyPackages(packages: Service["packages"], warn: (line: string) => void): Promise<void> {
  try {
    for (const r of await packages.verify()) {
      if (!r.ok) warn(`agentos: package store: ${r.name}@${r.version}: ${r.reason}`);
    }
  } catch (err) {
    warn(`agentos: package store: ${err instanceof Error ? err.message : err}`);
  }
}

/** The data dir, made if missing. @throws {StartupError} when it cannot be */
async function makeDataDir(dataDir: string): Promise<void> {
  try {
    await Deno.mkdir(dataDir, { recursive: true });
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new StartupError(
      `data dir ${dataDir} cannot be created (${cause}): create it, or set AGENTOS_DATA_DIR to a writable directory`,
    );
  }
}

/** The internal server (a unix socket under the data dir) behind the connection gate on the public listener. */
function listen(
  options: ServerOptions,
  runtime: Runtime,
  handler: Deno.ServeHandler,
  limits: EdgeLimits,
  log: boolean,
): { gate: ConnectionGate; inner: InnerServer; port: number } {
  const warn = log ? (line: string) => console.error(line) : () => {};
  const inner = new InnerServer({
    path: `${options.dataDir}/http.sock`,
    handler,
    log: warn,
    // On the loopback fallback the internal server is an address agents must never reach either.
    onTcpListen: (addr) => runtime.policy.reserveEndpoint(addr, "agentos's internal HTTP server"),
  });
  inner.start();
  const listener = Deno.listen({ hostname: options.host, port: options.port });
  runtime.policy.reserveEndpoint(listener.addr); // net.fetch never reaches the API itself
  const gate = new ConnectionGate({
    listener,
    connectInner: () => inner.connect(),
    limits,
    sparePath: options.dataDir,
    log: warn,
  });
  gate.start();
  return { gate, inner, port: listener.addr.port };
}

/** Graceful shutdown, once: stop accepting, kill agents, let requests in flight finish (bounded), close. */
function closer(
  service: Service,
  store: Store,
  gate: ConnectionGate,
  inner: InnerServer,
  retention: Retention,
  verifying: Promise<void>,
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () =>
    closing ??= (async () => {
      service.shuttingDown = true;
      const accepting = gate.stop();
      const stopped = inner.shutdown();
      const pruning = retention.stop();
      await service.shutdown();
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([stopped, new Promise((r) => grace = setTimeout(r, shutdownGraceMs))]);
      clearTimeout(grace);
      gate.closeAll();
      await stopped;
      await accepting;
      await pruning;
      await verifying;
      store.close();
    })();
}

/** SIGINT/SIGTERM: shut down and exit 0, or exit 1 if that takes over `shutdownMsMax`. */
function exitOnSignals(close: () => Promise<void>): void {
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

/** The environment variables of numeric options, and the option each sets. */
const envLimits = {
  AGENTOS_CONNECTIONS_MAX: "connectionsMax",
  AGENTOS_CONNECTIONS_PER_ADDRESS_MAX: "connectionsPerAddressMax",
  AGENTOS_REQUESTS_PER_SEC_PER_KEY: "requestsPerSecPerKey",
} as const satisfies Record<string, keyof EdgeLimits>;
const envRetention = {
  AGENTOS_RETENTION_DAYS: "retentionDays",
  AGENTOS_AGENT_RECORDS_MAX: "agentRecordsMax",
  AGENTOS_AUDIT_ROWS_MAX: "auditRowsMax",
  AGENTOS_TRACE_EVENTS_MAX: "traceEventsPerAgentMax",
} as const satisfies Record<string, keyof RetentionOptions>;

/**
 * Server options from the environment (README, Configuration; `cli/launch.ts`
 * lets the supervisor read exactly these variables).
 *
 * @param get reads a variable (default `Deno.env.get`)
 * @returns the options; unset variables keep their defaults
 * @throws {StartupError} naming the variable whose value is not valid
 * @example
 * ```ts
 * import { serverOptionsFromEnv } from "./server.ts";
 * serverOptionsFromEnv((name) => ({ PORT: "9000", AGENTOS_RETENTION_DAYS: "7" })[name]).retention; // { retentionDays: 7, ... }
 * ```
 */
export function serverOptionsFromEnv(
  get: (name: string) => string | undefined = (n) => Deno.env.get(n),
): ServerOptions {
  const num = (name: string, what: "integer" | "number" = "integer"): number | undefined => {
    const text = get(name)?.trim();
    if (text === undefined || text === "") return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || (what === "integer" && !Number.isSafeInteger(value))) {
      throw new StartupError(
        `${name} must be ${what === "integer" ? "a whole number" : "a number"} ≥ 0, got "${text}": fix it or unset it`,
      );
    }
    return value;
  };
  const port = num("PORT");
  if (port !== undefined && port > 65_535) {
    throw new StartupError(`PORT must be 0..65535, got ${port}: fix it or unset it`);
  }
  const limits: Partial<EdgeLimits> = {};
  for (const [name, key] of Object.entries(envLimits)) limits[key] = num(name);
  const retention: Partial<RetentionOptions> = {};
  for (const [name, key] of Object.entries(envRetention)) {
    retention[key] = num(name, key === "retentionDays" ? "number" : "integer");
  }
  try {
    edgeLimits(limits);
    retentionOptions(retention);
  } catch (err) {
    const set = [...Object.keys(envLimits), ...Object.keys(envRetention)].filter((n) => get(n) !== undefined);
    throw new StartupError(
      `${err instanceof Error ? err.message : err} (from the environment: check ${set.join(", ")})`,
    );
  }
  return {
    host: get("HOST") ?? "127.0.0.1",
    port: port ?? 8787,
    dataDir: get("AGENTOS_DATA_DIR") ?? "./data",
    poolSize: num("AGENTOS_POOL_SIZE") ?? 2,
    adminKey: get("AGENTOS_ADMIN_KEY"),
    webhooks: { allowHosts: webhookAllowHosts(get("AGENTOS_WEBHOOK_ALLOW_HOSTS")) },
    limits,
    retention,
  };
}

/** The one log line of a generated admin key: the key and where its file is (or why there is none). */
function adminKeyLine(key: string, file: AdminKeyFile | undefined): string {
  const where = file === undefined
    ? ""
    : file.written
    ? `; also written to ${file.path} (mode 0600)`
    : file.why === "exists"
    ? `; ${file.message} (not overwritten: it holds an older key)`
    : `; could not write ${file.path} (${file.message})`;
  return `admin API key (shown once, store it now): ${key}${where}`;
}

/** `AGENTOS_WEBHOOK_ALLOW_HOSTS`: comma-separated IPs/CIDRs. @throws {StartupError} for an entry that is neither */
function webhookAllowHosts(text: string | undefined): string[] | undefined {
  const hosts = text?.split(",").map((h) => h.trim()).filter(Boolean);
  try {
    new WebhookEgress({ allowHosts: hosts });
  } catch (err) {
    throw new StartupError(
      `AGENTOS_WEBHOOK_ALLOW_HOSTS: ${err instanceof Error ? err.message : err}: fix it or unset it`,
    );
  }
  return hosts;
}
