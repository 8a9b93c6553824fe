/**
 * A trace survives the server: real server processes (the flags of
 * `deno task start`) on one data dir. An agent's run-to-completion answer
 * leaves only once its exit event is durable, so a `kill -9` of the whole
 * process group right after the answer still leaves the whole trace; after
 * the restart event ids continue above the old ones, and a `Last-Event-ID`
 * from before the restart resumes against the stored trace.
 */
import assert from "node:assert/strict";
import { ServerProcess, withDataDir } from "./helpers.ts";
import { type EventJson, increasing, ndjson, readToEnd, sseEvents } from "../api/trace_helpers.ts";

const code = `export default async () => {
  await sys.fs.writeText("a.txt", "x");
  try { await sys.fs.readText("missing.txt"); } catch {}
  console.log("before the crash");
  return 1;
}`;

async function run(server: ServerProcess, key: string): Promise<string> {
  const r = await server.json("/v1/agents", {
    method: "POST",
    key,
    json: { code, wait: true, capabilities: ["fs.read", "fs.write"] },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { id: string }).id;
}

async function events(server: ServerProcess, key: string, id: string, after?: number): Promise<EventJson[]> {
  const headers: HeadersInit = after === undefined ? {} : { "last-event-id": String(after) };
  const res = await server.req(`/v1/agents/${id}/events`, { key, headers });
  assert.equal(res.status, 200);
  return sseEvents(await readToEnd(res, `events of ${id}`));
}

Deno.test("trace: survives kill -9 right after the answer; ids continue above the old ones after a restart", async () => {
  await withDataDir(async (dataDir) => {
    let server = await ServerProcess.start({ dataDir, poolSize: 1 });
    try {
      const t = await server.tenant("survivor");
      const id = await run(server, t.apiKey);
      // No flush timer may run: the group dies at once after the answer.
      await server.killGroup();
      server = await ServerProcess.start({ dataDir, poolSize: 1 });

      const before = await events(server, t.apiKey, id);
      assert.equal(before[0].type, "lifecycle", "the trace starts with the first lifecycle event");
      assert.equal(before.at(-1)!.type, "exit", "the exit event was durable before the answer");
      assert.ok(before.some((e) => e.type === "output" && String(e.data.data).includes("before the crash")));
      assert.ok(increasing(before.map((e) => e.seq)));

      // Last-Event-ID from before the restart resumes against the stored trace.
      const tail = await events(server, t.apiKey, id, before[1].seq);
      assert.deepEqual(tail, before.slice(2));

      const next = await run(server, t.apiKey);
      const after = await events(server, t.apiKey, next);
      const oldMax = Math.max(...before.map((e) => e.seq));
      assert.ok(after[0].seq > oldMax, `seqs after the restart (${after[0].seq}) are above the old ones (${oldMax})`);
      assert.equal(after.at(-1)!.type, "exit");

      const trace = await server.req(`/v1/agents/${id}/trace`, { key: t.apiKey });
      assert.deepEqual(ndjson(await trace.text()).slice(0, before.length), before);
    } finally {
      await server.stop();
    }
  });
});
