/**
 * A server process for the descriptor-exhaustion test (http_edge_test.ts),
 * started under `ulimit -n`: no warm pool (no cells), long deadlines (so
 * the attacker's idle connections hold their descriptors), logs on.
 *
 * Usage: `deno run -A _fd_server.ts <dataDir> <adminKey>`
 *
 * @module
 */
import { startServer } from "../../api/server.ts";

await startServer({
  host: "127.0.0.1",
  port: 0,
  dataDir: Deno.args[0],
  poolSize: 0,
  adminKey: Deno.args[1],
  handleSignals: true,
  log: true,
  // The learned cap never grows back during the test (however slow the machine), so every phase sees the same gate.
  limits: { headersMsMax: 60_000, idleMsMax: 120_000, fdCapGrowQuietMs: 3_600_000 },
});
