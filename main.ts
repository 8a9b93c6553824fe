/**
 * The agentos supervisor: the broker process. It holds the kernel, the cell
 * pool and the HTTP API; it never runs agent code itself (agents run in
 * permission-less cell subprocesses). Start it with `deno task start`, which
 * grants only the narrow permissions listed in `cli/launch.ts`.
 *
 * A server that cannot start for a reason the operator can fix (the
 * database, the data dir, an environment variable) prints one line saying
 * what and how, and exits with `startupExitCode` (78).
 *
 * @module
 */

import { serverOptionsFromEnv, startServer, StartupError, startupExitCode } from "./api/mod.ts";

if (import.meta.main) {
  try {
    await startServer(serverOptionsFromEnv());
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    console.error(`agentos: ${err.message}`);
    Deno.exit(startupExitCode);
  }
}
