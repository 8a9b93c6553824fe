/**
 * `deno task agent <verb>`: runs `cli/main.ts` under the narrowest Deno
 * permissions its verb needs — never `-A`, never a bare `--allow-net` or
 * `--allow-read`:
 *
 * - local `run <file>` (a real cell, no server; the same shape as the
 *   server's `supervisorFlags` in `cli/launch.ts`): read = the code dir,
 *   the data dir, the deno executable and the file to run; write = the
 *   data dir; net = only what egress needs (nothing unless
 *   `AGENTOS_EGRESS_HOSTS` names hosts); run = the deno executable
 *   (cells); env = the variables the CLI reads; sys = `setPriority`.
 * - client verbs (`spawn`, `run --server`, `ps`, `status`, `logs`,
 *   `kill`, `events`, `sched`): net = that server's `host:port` only;
 *   read = the code dir (and the file, for `spawn`/`run`); nothing else.
 *
 * This launcher runs no untrusted code; it only computes those flags,
 * forwards signals and exits with the CLI's status.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  clientOptions,
  remoteRunOptions,
  runDataDirDefault,
  runOptions,
  runsOnServer,
  serverUrlDefault,
  verbOptions,
} from "./options.ts";
import { runForwarding } from "./launch.ts";

/** Environment variables the CLI may read. */
export const agentEnv = ["AGENTOS_URL", "AGENTOS_KEY"];

/** What the flags are computed from. */
export interface AgentLaunch {
  /** The verb and its arguments, as given to `deno task agent`. */
  argv: readonly string[];
  /** The project directory (holds `cli/main.ts`). */
  codeDir: string;
  /** The deno executable. */
  execPath: string;
  /** `AGENTOS_URL`, if set. */
  serverUrl?: string;
  /** `AGENTOS_EGRESS_HOSTS`, split. */
  egressHosts: readonly string[];
  /** The working directory relative paths are resolved against. */
  cwd: string;
  /** Real path of a path (symlinks resolved) where it exists, else its absolute form. */
  resolvePath(path: string): string;
}

/** Flags for `deno run`, and the arguments to hand to `cli/main.ts` (data dir made absolute). */
export interface AgentCommand {
  flags: string[];
  argv: string[];
}

/**
 * The `deno run` flags and `cli/main.ts` arguments for one command line.
 *
 * @param launch the command line and the environment it names
 * @returns flags and arguments
 * @throws {TypeError} for a `--server` that is not an http(s) URL
 * @example
 * ```ts
 * agentCommand({ argv: ["ps", "--server", "http://127.0.0.1:9"], codeDir: "/app", execPath: "/bin/deno",
 *   egressHosts: [], cwd: "/app", resolvePath: (p) => p }).flags;
 * // ["run", "--no-prompt", "--allow-read=/app", "--allow-net=127.0.0.1:9", "--allow-env=AGENTOS_URL,AGENTOS_KEY"]
 * ```
 */
export function agentCommand(launch: AgentLaunch): AgentCommand {
  const [verb, ...rest] = launch.argv;
  const base = ["run", "--no-prompt"];
  const env = `--allow-env=${agentEnv.join(",")}`;
  if ((verb === "run" || verb === "repl") && !runsOnServer(rest)) return localRun(launch, rest, base, env);
  const options = verb === "run" || verb === "spawn"
    ? { ...remoteRunOptions, ...clientOptions }
    : { ...(verbOptions[verb as keyof typeof verbOptions] ?? {}), ...clientOptions };
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: false });
  const server = typeof values.server === "string" ? values.server : launch.serverUrl ?? serverUrlDefault;
  const read = [launch.codeDir];
  const file = positionals[0];
  if ((verb === "run" || verb === "spawn") && file !== undefined) read.push(...filePaths(launch, file));
  const cellFile = positionals[2];
  if (verb === "session" && file === "exec" && typeof cellFile === "string" && cellFile !== "-") {
    read.push(...filePaths(launch, cellFile));
  }
  const flags = [...base, `--allow-read=${read.join(",")}`];
  if ((verb !== undefined && verb in verbOptions) || verb === "run" || verb === "spawn") {
    flags.push(`--allow-net=${serverHostPort(server)}`);
  }
  return { flags: [...flags, env], argv: [...launch.argv] };
}

function localRun(launch: AgentLaunch, rest: string[], base: string[], env: string): AgentCommand {
  const { values, positionals } = parseArgs({ args: rest, options: runOptions, allowPositionals: true, strict: false });
  const dataDir = launch.resolvePath(typeof values["data-dir"] === "string" ? values["data-dir"] : runDataDirDefault);
  const read = [launch.codeDir, dataDir, launch.execPath];
  if (positionals[0] !== undefined) read.push(...filePaths(launch, positionals[0]));
  const flags = [
    ...base,
    `--allow-read=${read.join(",")}`,
    `--allow-write=${dataDir}`,
    ...(launch.egressHosts.length > 0 ? [`--allow-net=${launch.egressHosts.join(",")}`] : []),
    `--allow-run=${launch.execPath}`,
    env,
    // Renice CPU-bound cells (sandbox/runtime.ts, #demoteIfBusy).
    "--allow-sys=setPriority",
  ];
  // The last --data-dir wins: the CLI uses exactly the directory granted.
  return { flags, argv: [...launch.argv, `--data-dir=${dataDir}`] };
}

/** The file as given (made absolute) and its real path: Deno checks the path it is asked to open. */
function filePaths(launch: AgentLaunch, file: string): string[] {
  const real = launch.resolvePath(file);
  const given = file.startsWith("/") ? file : `${launch.cwd}/${file}`;
  return given === real ? [real] : [given, real];
}

/** `host:port` of a server URL, as `--allow-net` takes it. */
export function serverHostPort(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new TypeError(`--server ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("--server must be http(s)");
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  return `${url.hostname}:${port}`;
}

if (import.meta.main) {
  const codeDir = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const execPath = Deno.execPath();
  const resolvePath = (path: string) => {
    try {
      return Deno.realPathSync(path);
    } catch {
      return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
    }
  };
  let command: AgentCommand;
  try {
    const [verb, ...rest] = Deno.args;
    if ((verb === "run" || verb === "repl") && !runsOnServer(rest)) {
      const { values } = parseArgs({ args: rest, options: runOptions, allowPositionals: true, strict: false });
      const dir = typeof values["data-dir"] === "string" ? values["data-dir"] : runDataDirDefault;
      await Deno.mkdir(dir, { recursive: true });
    }
    command = agentCommand({
      argv: Deno.args,
      codeDir,
      execPath,
      serverUrl: Deno.env.get("AGENTOS_URL"),
      cwd: Deno.cwd(),
      egressHosts: (Deno.env.get("AGENTOS_EGRESS_HOSTS") ?? "").split(",").filter((h) => h !== ""),
      resolvePath,
    });
  } catch (err) {
    console.error(`agent: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(2);
  }
  Deno.exit(await runForwarding(execPath, [...command.flags, `${codeDir}/cli/main.ts`, ...command.argv]));
}
