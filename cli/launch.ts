/**
 * `deno task start`: starts the supervisor (`main.ts`) under the narrowest
 * Deno permissions that let it work — never `-A`:
 *
 * - read: the data dir, the code dir and the deno executable (to start cells)
 * - write: the data dir only
 * - net: the listen address only (plus `AGENTOS_EGRESS_HOSTS`, if set), and
 *   the internal HTTP server's unix socket under the data dir (api/edge/inner.ts)
 * - run: the deno executable only (cells)
 * - env: the variables the server reads
 * - sys: `setPriority` (to renice CPU-bound cells) and `networkInterfaces`
 *   (so that, on a wildcard listen host, `net.fetch` can refuse every local
 *   address at the API's port; without it, every address at that port is
 *   refused)
 *
 * This launcher runs no untrusted code; it only computes those flags,
 * forwards signals and exits with the supervisor's status.
 *
 * @module
 */

/** Environment variables the supervisor may read. */
export const serverEnv = [
  "PORT",
  "HOST",
  "AGENTOS_DATA_DIR",
  "AGENTOS_ADMIN_KEY",
  "AGENTOS_POOL_SIZE",
  "AGENTOS_EGRESS_HOSTS",
  "AGENTOS_WEBHOOK_ALLOW_HOSTS",
  "AGENTOS_CONNECTIONS_MAX",
  "AGENTOS_CONNECTIONS_PER_ADDRESS_MAX",
  "AGENTOS_REQUESTS_PER_SEC_PER_KEY",
  "AGENTOS_RETENTION_DAYS",
  "AGENTOS_AGENT_RECORDS_MAX",
  "AGENTOS_AUDIT_ROWS_MAX",
  "AGENTOS_TRACE_EVENTS_MAX",
  "OTEL_DENO",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
];

/** The `deno run` flags for the supervisor. */
export function supervisorFlags(options: {
  dataDir: string;
  codeDir: string;
  execPath: string;
  host: string;
  port: number;
  egressHosts: string[];
}): string[] {
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const net = [`${host}:${options.port}`, `unix:${options.dataDir}/http.sock`, ...options.egressHosts];
  return [
    "run",
    "--no-prompt",
    `--allow-read=${options.dataDir},${options.codeDir},${options.execPath}`,
    `--allow-write=${options.dataDir}`,
    `--allow-net=${net.join(",")}`,
    `--allow-run=${options.execPath}`,
    `--allow-env=${serverEnv.join(",")}`,
    // Renice CPU-bound cells (sandbox/runtime.ts, #demoteIfBusy); list the local
    // addresses a wildcard listener is reachable on (sandbox/egress/reserved.ts).
    "--allow-sys=setPriority,networkInterfaces",
  ];
}

/**
 * Run `execPath args` with this process's stdio, forwarding SIGINT and
 * SIGTERM to it; resolves with its exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await runForwarding(Deno.execPath(), ["--version"]));
 * ```
 */
export async function runForwarding(execPath: string, args: string[], env?: Record<string, string>): Promise<number> {
  const child = new Deno.Command(execPath, { args, env, stdin: "inherit", stdout: "inherit", stderr: "inherit" })
    .spawn();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch { /* gone */ }
    });
  }
  return (await child.status).code;
}

/** The exit status when the data dir cannot be made: the supervisor's `startupExitCode` (api/store_open.ts). */
export const launchExitCode = 78;

/** The data dir, made if missing, as a real path; on failure one line on stderr and exit {@linkcode launchExitCode}. */
async function realDataDir(dataDir: string): Promise<string> {
  try {
    await Deno.mkdir(dataDir, { recursive: true });
    return await Deno.realPath(dataDir);
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    console.error(
      `agentos: data dir ${dataDir} cannot be created (${cause}): create it, or set AGENTOS_DATA_DIR to a writable directory`,
    );
    Deno.exit(launchExitCode);
  }
}

function portOr(text: string | undefined, fallback: number): number {
  const port = Number(text ?? fallback);
  return Number.isSafeInteger(port) && port >= 0 && port <= 65_535 ? port : fallback;
}

if (import.meta.main) {
  const codeDir = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const realData = await realDataDir(Deno.env.get("AGENTOS_DATA_DIR") ?? "./data");
  const execPath = Deno.execPath();
  const flags = supervisorFlags({
    dataDir: realData,
    codeDir,
    execPath,
    host: Deno.env.get("HOST") ?? "127.0.0.1",
    // A PORT that is not a port gets the default here; the supervisor then refuses it in one line (main.ts).
    port: portOr(Deno.env.get("PORT"), 8787),
    egressHosts: (Deno.env.get("AGENTOS_EGRESS_HOSTS") ?? "").split(",").filter((h) => h !== ""),
  });
  Deno.exit(
    await runForwarding(execPath, [...flags, `${codeDir}/main.ts`, ...Deno.args], { AGENTOS_DATA_DIR: realData }),
  );
}
