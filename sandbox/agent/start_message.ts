/**
 * What the supervisor sends a cell to start an agent (its main module, cut
 * at its imports; its limits; its identity), and how a syntax error of that
 * module is explained.
 *
 * @module
 */

import { sessionCellOutputCharsMax } from "../../kernel/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import type { StartMessage } from "../cell/mod.ts";
import { looksLikeTypeScript, typeScriptHint } from "../code/mod.ts";
import { type Packages, prepareModule } from "../modules/mod.ts";
import { KernelError } from "../../kernel/mod.ts";

/** The part of a start spec the message is made from. */
export interface StartSource {
  code: string;
  lang: "js" | "ts";
  session?: boolean;
}

/**
 * The start message of `proc`: its main module (`main.js`/`main.ts`, cut at
 * its imports, its packages resolved and checked against its policy; an
 * import that can never load or is refused becomes `loadError`, the agent's
 * end before any of its code runs), or a REPL host for a session.
 */
export async function startMessage(proc: Process, spec: StartSource, packages: Packages): Promise<StartMessage> {
  const path = `main.${spec.lang}`;
  let module: StartMessage["module"] = { path, lang: spec.lang, segments: [""], deps: [] };
  let loadError: string | undefined;
  if (!spec.session) {
    try {
      module = await packages.resolveDeps(proc, prepareModule(path, spec.code, spec.lang));
    } catch (err) {
      const why = err instanceof KernelError
        ? `${err.code}: ${err.message}`
        : err instanceof Error
        ? err.message
        : String(err);
      loadError = `ImportError: ${why}`;
    }
  }
  return {
    t: "start",
    module,
    ...(spec.session ? { session: true, sessionCharsMax: sessionCellOutputCharsMax } : {}),
    ...(loadError === undefined ? {} : { loadError }),
    cpuMs: proc.limits.cpuMs,
    rssMb: proc.limits.rssMb,
    outputBytes: proc.limits.outputBytes,
    info: { pid: proc.pid, parent: proc.parent, tenant: proc.tenant },
  };
}

/**
 * A syntax error of JavaScript that parses as TypeScript says so (only on
 * this error path is the source parsed again).
 */
export function withTypeScriptHint(error: string, main: StartSource | undefined): string {
  if (main === undefined || main.lang !== "js" || !error.startsWith("SyntaxError")) return error;
  return looksLikeTypeScript(main.code) ? `${error.split("\n")[0]}${typeScriptHint}` : error;
}
