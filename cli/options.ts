/**
 * The flags of every `deno task agent` verb, in `node:util` `parseArgs`
 * form: one table the verbs parse with and the launcher
 * (`cli/agent_launch.ts`) reads to find the file, data dir and server a
 * command line names. Defaults that come from the environment are added
 * by the verbs themselves.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * const { values } = parseArgs({ args: ["a.js", "--trace"], options: runOptions, allowPositionals: true });
 * values.trace; // true
 * ```
 *
 * @module
 */

/** Where `run` keeps its workspaces and cells when `--data-dir` is not given. */
export const runDataDirDefault = "./data/cli";
/** The server client verbs talk to when neither `--server` nor `AGENTOS_URL` is given. */
export const serverUrlDefault = "http://127.0.0.1:8787";

/** Flags of the local `run <file>`. */
export const runOptions = {
  allow: { type: "string", default: "" },
  "wall-ms": { type: "string" },
  "cpu-ms": { type: "string" },
  "memory-mb": { type: "string" },
  "output-bytes": { type: "string" },
  trace: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  "data-dir": { type: "string", default: runDataDirDefault },
} as const;

/** Flags every client verb has (defaults: `AGENTOS_URL`, `AGENTOS_KEY`). */
export const clientOptions = {
  server: { type: "string" },
  key: { type: "string" },
} as const;

/** Flags of `spawn <file>` and `run <file> --server URL`. */
export const spawnOptions = {
  allow: { type: "string", default: "" },
  "wall-ms": { type: "string" },
  "cpu-ms": { type: "string" },
  "memory-mb": { type: "string" },
  "output-bytes": { type: "string" },
} as const;

/** Flags of `run <file> --server URL`: a spawn's, and how to print (as the local `run`'s). */
export const remoteRunOptions = {
  ...spawnOptions,
  trace: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

/** Extra flags of the other client verbs. */
export const verbOptions = {
  ps: { state: { type: "string" }, limit: { type: "string" }, json: { type: "boolean", default: false } },
  status: {},
  logs: { follow: { type: "boolean", short: "f", default: false } },
  kill: { signal: { type: "string", default: "KILL" } },
  events: { calls: { type: "string" }, errors: { type: "boolean", default: false } },
  sched: { policy: { type: "string" } },
  repl: { allow: { type: "string" }, lang: { type: "string" }, "timeout-ms": { type: "string" } },
  session: { allow: { type: "string" }, lang: { type: "string" }, label: { type: "string", multiple: true } },
} as const;

/** Does a `run` command line go to a server (`--server` given)? */
export function runsOnServer(argv: readonly string[]): boolean {
  return argv.some((a) => a === "--server" || a.startsWith("--server="));
}
