/**
 * SIGTERM to the server while spawns are under way (agents running, others
 * still starting their cells): it exits by itself, answers every request it
 * had, and leaves no directory under `<data>/cells` or `<data>/workspaces`
 * and no process of its group behind.
 */
import assert from "node:assert/strict";
import { entries, groupMembers, ServerProcess, until, withDataDir } from "./helpers.ts";

const forever = "export default () => new Promise(() => {})";

Deno.test({
  name: "reliability: SIGTERM mid-spawn leaves no cell or workspace directory and no process behind",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withDataDir(async (dataDir) => {
      const s = await ServerProcess.start({ dataDir, poolSize: 1 });
      try {
        const t = await s.tenant("term", { spawnsPerSec: 1000 });
        const spawn = (wait: boolean) =>
          s.json("/v1/agents", { method: "POST", key: t.apiKey, json: { code: forever, wait } });
        for (let i = 0; i < 2; i++) assert.equal((await spawn(false)).status, 201);
        // Four more at once on a pool of one: one takes the warm cell, the others start cells cold.
        const inFlight = Array.from({ length: 4 }, () => spawn(true).catch((err: Error) => err));
        await until("a third agent to run while the others start", async () => {
          const r = await s.json("/v1/agents?state=Running", { key: t.apiKey });
          return (r.body.agents as unknown[]).length >= 3;
        }, 60_000);
        const status = await s.signal("SIGTERM");
        const answers = await Promise.all(inFlight);
        assert.equal(status.code, 0, `the server did not shut down cleanly\n${s.output}`);
        for (const a of answers) {
          // Answered (the agent killed by the shutdown, or refused while shutting down) or cut when it exited.
          if (a instanceof Error) continue;
          assert.ok(a.status === 200 || a.status === 503, `in-flight spawn: ${a.status} ${JSON.stringify(a.body)}`);
        }
        const left = {
          cells: entries(`${dataDir}/cells`),
          workspaces: entries(`${dataDir}/workspaces`),
          processes: await groupMembers(s.pid),
        };
        assert.deepEqual(left, { cells: [], workspaces: [], processes: [] }, "left behind after the shutdown");
      } finally {
        await s.stop();
      }
    });
  },
});
