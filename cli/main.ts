/**
 * `deno task agent <verb>`: the command-line entry. `--help` (or `-h`) on
 * the CLI or any verb prints its usage with examples and exits 0; a wrong
 * flag or a missing argument prints the usage on stderr and exits 2; an
 * API error prints its status, code and message and exits 1.
 *
 * @module
 */

import { AgentOSError } from "../client/mod.ts";
import { agentCommand, eventsCommand, psCommand, schedCommand, spawnCommand } from "./client.ts";
import { escapeLine } from "./escape.ts";
import { usageOf, wantsHelp } from "./help.ts";
import { mcpCommand } from "./mcp.ts";
import { runsOnServer } from "./options.ts";
import { remoteRunCommand } from "./remote_run.ts";
import { replCommand, sessionCommand } from "./repl.ts";
import { runCommand } from "./run.ts";

const verbs: Record<string, (argv: string[]) => Promise<number>> = {
  /** Local (a real cell, no server) unless `--server` is given. */
  run: (argv) => runsOnServer(argv) ? remoteRunCommand(argv) : runCommand(argv),
  spawn: spawnCommand,
  ps: psCommand,
  status: (argv) => agentCommand("status", argv),
  logs: (argv) => agentCommand("logs", argv),
  kill: (argv) => agentCommand("kill", argv),
  events: eventsCommand,
  sched: schedCommand,
  /** Local (a real cell, no server) unless `--server` is given. */
  repl: replCommand,
  session: sessionCommand,
  /** Print the MCP client configuration for this server (no server is called). */
  mcp: mcpCommand,
};

/**
 * Run one command line.
 *
 * @param args the verb and its arguments
 * @returns the process exit code
 * @example
 * ```ts
 * await main(["ps", "--help"]); // prints the usage of ps, returns 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === "help" || verb === "--help" || verb === "-h") {
    console.log(usageOf(verb === "help" ? rest[0] : undefined));
    return 0;
  }
  const command = verb === undefined ? undefined : verbs[verb];
  if (command === undefined) {
    if (verb !== undefined) console.error(`agent: unknown verb ${escapeLine(verb)}`);
    console.error(usageOf());
    return 2;
  }
  if (wantsHelp(rest)) {
    console.log(usageOf(verb));
    return 0;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof AgentOSError) {
      const status = err.status === 0 ? "" : `${err.status} `;
      console.error(`agent: ${status}${escapeLine(err.code)}: ${escapeLine(err.message)}`);
      return 1;
    }
    console.error(`agent ${verb}: ${escapeLine(err instanceof Error ? err.message : String(err))}`);
    // A wrong flag, a missing argument or value: the usage says what is expected.
    if (err instanceof TypeError) console.error(`\n${usageOf(verb)}`);
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
