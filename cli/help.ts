/**
 * The usage of `deno task agent` and of each verb, with examples:
 * `--help`/`-h` prints it and exits 0; a wrong flag or a missing argument
 * prints it on stderr and exits 2.
 *
 * @example
 * ```ts
 * import { usageOf } from "./help.ts";
 * console.log(usageOf("ps")); // "usage: deno task agent ps [--server URL] [--key KEY] [--state ..."
 * ```
 *
 * @module
 */

const client = "[--server URL] [--key KEY]";
const env = "--server and --key default to AGENTOS_URL and AGENTOS_KEY (server: http://127.0.0.1:8787).";

/**
 * Usage text of each verb.
 *
 * @example
 * ```ts
 * verbUsage.logs.startsWith("usage: deno task agent logs"); // true
 * ```
 */
export const verbUsage: Record<string, string> = {
  run: `usage: deno task agent run <file> [--allow caps] [--wall-ms N] [--cpu-ms N] [--memory-mb N]
                             [--output-bytes N] [--trace] [--json] [--data-dir DIR]
       deno task agent run <file> --server URL [--key KEY] [--allow caps] [limits] [--trace] [--json]

Runs a file as an agent and streams its output; exits with the agent's exit code. Without --server it
runs in a real cell of this process (no server); with --server, on that server (output streamed as it
comes). --trace prints every syscall on stderr; --json ends stdout with the agent's record on one line.

examples:
  deno task agent run examples/hello.js --allow fs.read,fs.write --trace
  deno task agent run job.ts --server http://127.0.0.1:8787 --key $KEY --json`,
  spawn: `usage: deno task agent spawn <file> ${client} [--allow caps] [--wall-ms N] [--cpu-ms N] [--memory-mb N]

Starts a file as an agent on the server and prints {"id","state"} at once.

examples:
  deno task agent spawn worker.js --allow fs.read --wall-ms 600000
  ID=$(deno task agent spawn worker.js | jq -r .id); deno task agent logs $ID --follow`,
  ps: `usage: deno task agent ps ${client} [--state Running|Zombie] [--limit N] [--json]

Lists the tenant's agents, newest first, as a table: ID, STATE, REASON, CPU MS, AGE (--json: the API's JSON).

examples:
  deno task agent ps --state Running
  deno task agent ps --json | jq '.agents[].id'`,
  status: `usage: deno task agent status <id> ${client}

Prints one agent's status as JSON (state, reason, exitCode, result, usage, ...).

example:
  deno task agent status ag_0123456789abcdef`,
  logs: `usage: deno task agent logs <id> ${client} [--follow]

Prints what the agent wrote (stdout to stdout, stderr to stderr); --follow streams it until the agent exits.

examples:
  deno task agent logs ag_0123456789abcdef
  deno task agent logs ag_0123456789abcdef --follow`,
  kill: `usage: deno task agent kill <id> ${client} [--signal KILL|TERM]

Kills an agent (KILL, the default) or asks it to stop (TERM).

example:
  deno task agent kill ag_0123456789abcdef --signal TERM`,
  events: `usage: deno task agent events [<id>] ${client} [--calls fs.*,net.fetch] [--errors]

Follows the event stream, one line per event: one agent's (from its start to its exit) or, without an id,
the whole tenant's (live, until interrupted).

examples:
  deno task agent events ag_0123456789abcdef --calls 'fs.*'
  deno task agent events --errors`,
  sched: `usage: deno task agent sched ${client} [--policy fair|round-robin|priority]

Shows the scheduler (admin key), or switches its policy.

example:
  deno task agent sched --key $ADMIN_KEY --policy priority`,
  repl: `usage: deno task agent repl [--allow caps] [--lang js|ts] [--timeout-ms N] [--data-dir DIR]
       deno task agent repl --server URL [--key KEY] [--allow caps] [--lang js|ts] [--timeout-ms N]

An interactive REPL over a session: local (a real cell, no server) or on a server. A line is a cell;
a line ending in \\ or with brackets open continues it; .exit or end of input ends.

examples:
  deno task agent repl --allow fs.read,fs.write
  echo '6 * 7' | deno task agent repl --server http://127.0.0.1:8787 --key $KEY`,
  mcp: `usage: deno task agent mcp ${client}

Prints the configuration an MCP client needs to use agentos over the Streamable HTTP transport at
<server>/mcp, authenticated with a tenant's API key (without one, a placeholder to fill in). Paste it
into the client's MCP config (Claude Code: .mcp.json; VS Code: .vscode/mcp.json; Cursor:
.cursor/mcp.json). No server is called.

tools: run_code, create_session, exec, write_file, read_file, list_files, close_session
resources: agentos://sessions/{id}/files/{path}

examples:
  deno task agent mcp
  AGENTOS_KEY=aos_... deno task agent mcp --server https://sandbox.example.com > .mcp.json`,
  session: `usage: deno task agent session create [--allow caps] [--lang js|ts] [--label k=v]... ${client}
       deno task agent session exec <id> <file|-> [--lang js|ts] ${client}
       deno task agent session close <id> ${client}
       deno task agent session ls ${client}

Sessions one call at a time; each prints the API's JSON.

examples:
  ID=$(deno task agent session create --allow fs.read | jq -r .id)
  echo 'let n = 41' | deno task agent session exec $ID -
  deno task agent session close $ID`,
};

/**
 * The usage of one verb, or of the CLI (an unknown verb or none).
 *
 * @param verb the verb
 * @returns the text, ending with the environment note
 * @example
 * ```ts
 * usageOf("nope").startsWith("usage: deno task agent <verb>"); // true
 * ```
 */
export function usageOf(verb?: string): string {
  const text = verb === undefined ? undefined : verbUsage[verb];
  if (text !== undefined) return `${text}\n\n${env}`;
  return `usage: deno task agent <verb> [args] [--help]

verbs:
  run       run a file as an agent (locally, or on a server with --server) and stream its output
  spawn     start a file as an agent on a server
  ps        list agents
  status    one agent's status
  logs      an agent's output (--follow: until it exits)
  kill      kill an agent
  events    follow the event stream of an agent or of the tenant
  sched     show or switch the scheduler (admin)
  repl      an interactive session (locally, or on a server)
  session   sessions one call at a time
  mcp       print the MCP client configuration for this server

examples:
  deno task agent run examples/hello.js --allow fs.read,fs.write --trace
  deno task agent ps --server http://127.0.0.1:8787 --key $KEY
  deno task agent logs --help

${env}`;
}

/**
 * Does an argument list ask for help (`--help` or `-h` before any `--`)?
 *
 * @example
 * ```ts
 * import { wantsHelp } from "./help.ts";
 * wantsHelp(["a.js", "--help"]); // true
 * ```
 */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}
