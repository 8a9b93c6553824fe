/**
 * `deno task agent <verb>`: the command-line entry.
 *
 * @module
 */

import { runCommand } from "./run.ts";

const verbs: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
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
    console.error(`agent: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(2);
  }
}
