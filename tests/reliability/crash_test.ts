/**
 * `kill -9` of the whole server (its process group: supervisor and cells)
 * while 8 clients run a mixed load of run-to-completion spawns
 * (`wait: true`: results, exit codes, errors, timeouts), plain spawns and GETs, five times on one data dir. After
 * each restart every answer that came back 2xx is what the store holds: a
 * final answer (state, reason, exit code, result) equals the record, and an
 * acknowledged spawn or a running status has a record.
 */
import assert from "node:assert/strict";
import { ServerProcess, until, withDataDir } from "./helpers.ts";

const clients = 8;
const rounds = 5;

/** What a 2xx answer acknowledged about one agent. */
interface Acked {
  id: string;
  /** The final fields it reported (null when it reported the agent still running or only spawned). */
  final: { state: unknown; reason: unknown; exitCode: unknown; result: unknown } | null;
  how: string;
}

/** Shared by the clients of a round: set once the server is being killed, or when a client failed before. */
interface Stop {
  now: boolean;
  failure?: Error;
}

/** A spawn body: a result, no result, an exit code, an error or a timeout, each tagged so no two answer alike. */
function spawnBody(tag: string, n: number, wait: boolean): Record<string, unknown> {
  const codes = [
    `export default () => ({ tag: ${JSON.stringify(tag)}, n: ${n}, list: [1, "two", null] })`,
    `await sys.exit(${3 + (n % 5)});`,
    `export default () => { throw new Error(${JSON.stringify(`boom ${tag}`)}); }`,
    `export default async () => { await sys.time.now(); return ${JSON.stringify(tag)}; }`,
    `export default () => {}`,
    `export default () => new Promise(() => {})`,
  ];
  const i = n % codes.length;
  return { code: codes[i], wait, capabilities: [], ...(i === 5 ? { limits: { wallMs: 200 } } : {}) };
}

function finalOf(body: Record<string, unknown>): Acked["final"] {
  if (body.endedAt === null || body.endedAt === undefined) return null;
  return { state: body.state, reason: body.reason, exitCode: body.exitCode, result: body.result };
}

/** One client: spawns (mostly `wait: true`) and GETs until the server is gone; records every 2xx answer. */
async function client(server: ServerProcess, key: string, c: number, acked: Acked[], stop: Stop) {
  let n = 0;
  while (!stop.now) {
    n++;
    const tag = `c${c}-${n}-${crypto.randomUUID().slice(0, 8)}`;
    const op = n % 5;
    try {
      if (op === 4 && acked.length > 0) {
        const pick = acked[(n * 7919 + c) % acked.length];
        const r = await server.json(`/v1/agents/${pick.id}`, { key });
        if (r.status === 200) acked.push({ id: pick.id, final: finalOf(r.body), how: "GET" });
        continue;
      }
      const wait = op !== 3;
      const r = await server.json("/v1/agents", {
        method: "POST",
        key,
        json: spawnBody(tag, n, wait),
      });
      if (r.status === 200 || r.status === 201) {
        acked.push({ id: String(r.body.id), final: wait ? finalOf(r.body) : null, how: wait ? "wait" : "spawn" });
        if (wait) {
          assert.notEqual(finalOf(r.body), null, `a wait: true answer without an end: ${JSON.stringify(r.body)}`);
        }
      }
    } catch (err) {
      if (stop.now && !(err instanceof assert.AssertionError)) return; // requests fail once the server is killed
      stop.failure ??= err instanceof Error ? err : new Error(String(err));
      return;
    }
  }
}

/** Every acknowledged answer against what a restarted server reads back from the store. */
async function assertNothingLost(server: ServerProcess, acked: Acked[]): Promise<number> {
  const byId = new Map<string, Record<string, unknown>>();
  for (const a of acked) {
    let stored = byId.get(a.id);
    if (stored === undefined) {
      const r = await server.json(`/v1/agents/${a.id}`);
      assert.equal(r.status, 200, `acknowledged agent ${a.id} (${a.how}) is not stored: ${JSON.stringify(r.body)}`);
      stored = r.body;
      byId.set(a.id, stored);
    }
    if (a.final === null) continue;
    assert.deepEqual(
      { state: stored.state, reason: stored.reason, exitCode: stored.exitCode, result: stored.result },
      a.final,
      `agent ${a.id}: its ${a.how} answer differs from the stored record`,
    );
  }
  return byId.size;
}

Deno.test({
  name: "reliability: kill -9 of the server group under 8-client load, 5 times, loses no acknowledged answer",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withDataDir(async (dataDir) => {
      const env = {};
      let server = await ServerProcess.start({ dataDir, poolSize: 2, env });
      try {
        const { apiKey } = await server.tenant("load", { spawnsPerSec: 10_000, agentsConcurrentMax: 64 });
        const acked: Acked[] = [];
        for (let round = 0; round < rounds; round++) {
          const stop: Stop = { now: false };
          const before = acked.filter((a) => a.final !== null).length;
          // Kill once this round has seen a number of final answers (varied per round), not after a time.
          const target = before + 12 + round * 4;
          const load = Array.from({ length: clients }, (_, c) => client(server, apiKey, c, acked, stop));
          const finals = () => acked.filter((a) => a.final !== null).length;
          await until(
            `${target} final answers in round ${round}`,
            () => finals() >= target || server.exited !== null || stop.failure !== undefined,
            90_000,
          );
          if (stop.failure) throw new Error(`a client failed before the kill: ${stop.failure.stack}\n${server.output}`);
          assert.equal(server.exited, null, `the server died on its own\n${server.output}`);
          stop.now = true;
          await server.killGroup();
          await Promise.all(load);
          server = await ServerProcess.start({ dataDir, poolSize: 2, env });
          const checked = await assertNothingLost(server, acked);
          assert.ok(checked > 0);
        }
        assert.ok(acked.filter((a) => a.how === "wait").length >= rounds * 12, "too little load to mean anything");
      } finally {
        await server.stop();
      }
    });
  },
});
