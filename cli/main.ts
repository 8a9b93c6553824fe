/**
 * `deno task agent <verb>`: the command-line entry.
 *
 * @module
 */

import { agentCommand, eventsCommand, psCommand, schedCommand, spawnCommand } from "./client.ts";
import { escapeLine } from "./escape.ts";
import { mcpCommand } from "./mcp.ts";
import { runsOnServer } from "./options.ts";
import { replCommand, sessionCommand } from "./repl.ts";
import { runCommand } from "./run.ts";

const verbs: Record<string, (argv: string[]) => Promise<number>> = {
  /** Local (a real cell, no server) unless `--server` is given. */
  run: (argv) => runsOnServer(argv) ? spawnCommand(argv, true) : runCommand(argv),
  spawn: (argv) => spawnCommand(argv, false),
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

if (import.meta.main) {
  const [verb, ...rest] = Deno.args;
  const command = verb === undefined ? undefined : verbs[verb];
  if (command === undefined) {
    console.error(`usage: deno task agent <${Object.keys(verbs).join("|")}> ...`);
    Deno.exit(2);
  }
  try {
    Deno.exit(await command(rest));
  } catch (err) {
    console.error(`agent: ${escapeLine(err instanceof Error ? err.message : String(err))}`);
    Deno.exit(2);
  }
}
