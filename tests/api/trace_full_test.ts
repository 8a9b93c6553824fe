/**
 * `trace: "full"` over HTTP, with a real server, real cells and SQLite:
 * every syscall of an agent spawned with it is in its SSE stream and its
 * stored trace while a sampled agent's are sampled out (the sampler pinned
 * to its lowest rate); any other value is a 400.
 */
import assert from "node:assert/strict";
import { sampleRateMin } from "../../observability/mod.ts";
import { createTenant, withServer } from "./helpers.ts";
import { ndjson, readToEnd, sseEvents } from "./trace_helpers.ts";

const calls = 300;
const agent = `export default async () => { for (let i = 0; i < ${calls}; i++) await sys.time.now(); return 1; }`;

Deno.test("trace full: every syscall is in the stream and the stored trace; a sampled agent's are sampled", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "tracefull");
    s.runtime.obs.sampler.setRate("syscall", sampleRateMin);
    const ids: Record<string, string> = {};
    for (const trace of ["full", "sampled"] as const) {
      const res = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code: agent, wait: true, trace },
      });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.reason, "exit", JSON.stringify(body));
      ids[trace] = body.id;
    }
    const timeNows = (events: { type: string; data: Record<string, unknown> }[]) =>
      events.filter((e) => e.type === "syscall" && e.data.call === "time.now").length;
    const path = `/v1/agents/${ids.full}/events`;
    const streamed = sseEvents(await readToEnd(await s.req(path, { key: t.apiKey }), path));
    assert.equal(timeNows(streamed), calls, "the stream has every call of the traced agent");
    const stored = await s.req(`/v1/agents/${ids.full}/trace`, { key: t.apiKey });
    assert.equal(stored.status, 200);
    assert.equal(timeNows(ndjson(await stored.text())), calls, "so has its stored trace");
    const other = await s.req(`/v1/agents/${ids.sampled}/trace`, { key: t.apiKey });
    const sampledCount = timeNows(ndjson(await other.text()));
    assert.ok(sampledCount < calls, `the sampled agent's calls are sampled (${sampledCount} of ${calls} kept)`);
  });
});

Deno.test("trace full: a trace that is neither sampled nor full is a 400", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "tracebad");
    const res = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: agent, trace: "loud" } });
    const body = await res.json();
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(JSON.stringify(body), /trace/);
  });
});
