/**
 * Traces that outlive the agent: a real server on 127.0.0.1, real cells, a
 * real SQLite file. A client that connects after an agent finished gets its
 * whole history and the stream ends; `?follow=false`; `Last-Event-ID`;
 * filters on replayed events; the per-agent bound (`truncated` + exit);
 * retention deletes traces with records; another tenant's agent is a 404.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";
import { FaultyStore, until } from "./store_helpers.ts";
import { type EventJson, increasing, ndjson, readToEnd, sseEvents } from "./trace_helpers.ts";

/** An agent with a few syscalls (one an error: always kept) and output. */
const busyAgent = `export default async () => {
  await sys.fs.writeText("a.txt", "x");
  await sys.fs.readText("a.txt");
  try { await sys.fs.readText("missing.txt"); } catch {}
  console.log("hello");
  return 1;
}`;

async function runToEnd(s: TestServer, key: string, code = busyAgent): Promise<string> {
  const res = await s.req("/v1/agents", {
    method: "POST",
    key,
    json: { code, wait: true, capabilities: ["fs.read", "fs.write"] },
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.id;
}

async function stream(s: TestServer, key: string, path: string, headers: HeadersInit = {}): Promise<EventJson[]> {
  const res = await s.req(path, { key, headers });
  assert.equal(res.status, 200, path);
  return sseEvents(await readToEnd(res, path));
}

Deno.test("trace: a client that connects after the agent finished gets its whole history, and the stream ends", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "late");
    const id = await runToEnd(s, t.apiKey);
    const events = await stream(s, t.apiKey, `/v1/agents/${id}/events`);
    assert.equal(events[0].type, "lifecycle", "the first event is the agent's first lifecycle transition");
    assert.equal(events[0].data.from, "Creating");
    assert.equal(events.at(-1)!.type, "exit", "the last event is the exit");
    assert.ok(events.every((e) => e.agentId === id));
    assert.ok(increasing(events.map((e) => e.seq)), "seqs increase");
    const types = new Set(events.map((e) => e.type));
    for (const type of ["lifecycle", "syscall", "output", "exit"]) assert.ok(types.has(type), `has ${type}`);
    assert.ok(events.some((e) => e.type === "syscall" && e.data.errno === "ENOENT"), "the error is kept");

    // The same trace as JSON lines, one event per line, the same JSON as SSE's data.
    const res = await s.req(`/v1/agents/${id}/trace`, { key: t.apiKey });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/x-ndjson/);
    const lines = ndjson(await res.text());
    assert.deepEqual(lines.slice(0, events.length), events, "the trace starts with what the stream sent");
  });
});

Deno.test("trace: Last-Event-ID resumes after that event; filters apply to replayed events", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "resume");
    const id = await runToEnd(s, t.apiKey);
    const all = await stream(s, t.apiKey, `/v1/agents/${id}/events`);
    const cut = all[2].seq;
    const rest = await stream(s, t.apiKey, `/v1/agents/${id}/events`, { "last-event-id": String(cut) });
    assert.deepEqual(rest, all.slice(3), "exactly the events after the one named");

    const syscalls = await stream(s, t.apiKey, `/v1/agents/${id}/events?types=syscall`);
    assert.ok(syscalls.length >= 3 && syscalls.every((e) => e.type === "syscall"));
    const errors = await stream(s, t.apiKey, `/v1/agents/${id}/events?errors=true`);
    assert.ok(errors.length >= 1 && errors.every((e) => e.data.errno !== null || e.type !== "syscall"));
    const reads = await stream(s, t.apiKey, `/v1/agents/${id}/events?calls=fs.readText`);
    assert.equal(reads.length, 2);
    assert.ok(reads.every((e) => e.data.call === "fs.readText"));
  });
});

Deno.test("trace: ?follow=false sends what exists and ends; a following client ends after the exit", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "follow");
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: `export default () => new Promise(() => {})`, limits: { wallMs: 120_000 } },
    });
    const { id } = await res.json();
    assert.equal(res.status, 201);
    // Connected while the agent runs: follows it until its exit.
    const following = s.req(`/v1/agents/${id}/events`, { key: t.apiKey })
      .then((r) => readToEnd(r, "following stream"));
    const now = await stream(s, t.apiKey, `/v1/agents/${id}/events?follow=false`);
    assert.ok(now.length >= 1 && now[0].type === "lifecycle");
    assert.ok(!now.some((e) => e.type === "exit"), "no exit yet");
    assert.equal((await s.req(`/v1/agents/${id}`, { method: "DELETE", key: t.apiKey })).status, 202);
    const followed = sseEvents(await following);
    assert.equal(followed.at(-1)!.type, "exit");
    assert.equal(followed.at(-1)!.data.reason, "killed");
    assert.deepEqual(followed.slice(0, now.length), now, "the follower got the replay, then the live part");
    assert.ok(increasing(followed.map((e) => e.seq)));
  });
});

Deno.test("trace: past the per-agent bound one truncated marker counts what was dropped; the exit is kept", async () => {
  const bound = 40;
  await withServer(async (s) => {
    const t = await createTenant(s, "bounded");
    // Failed calls are always kept by the sampler: 200 of them pass the bound for sure.
    const code = `export default async () => {
      for (let i = 0; i < 200; i++) { try { await sys.fs.readText("missing.txt"); } catch {} }
      return 1;
    }`;
    const id = await runToEnd(s, t.apiKey, code);
    const events = await stream(s, t.apiKey, `/v1/agents/${id}/events`);
    const markers = events.filter((e) => e.type === "truncated");
    assert.equal(markers.length, 1, "one marker");
    assert.ok(Number(markers[0].data.dropped) >= 200 - bound, JSON.stringify(markers[0]));
    assert.equal(markers[0].data.overLimit, markers[0].data.dropped);
    assert.equal(events.at(-1)!.type, "exit", "the exit is kept");
    assert.equal(events.length, bound + 2, "the bound, the marker and the exit");
    assert.ok(increasing(events.map((e) => e.seq)));
    const metrics = await (await s.req("/metrics", { key: adminKey })).text();
    const line = metrics.split("\n").find((l) => l.startsWith('agentos_trace_events_dropped_total{reason="limit"}'));
    assert.ok(line !== undefined && Number(line.split(" ").at(-1)) >= 200 - bound, line);
  }, { retention: { traceEventsPerAgentMax: bound } });
});

Deno.test("trace: another tenant's agent is a 404, on the stream and the trace", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "owner");
    const b = await createTenant(s, "other");
    const id = await runToEnd(s, a.apiKey);
    for (const path of [`/v1/agents/${id}/events`, `/v1/agents/${id}/trace`, `/v1/agents/ag_nope/trace`]) {
      const res = await s.req(path, { key: b.apiKey });
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).error.code, "not_found");
    }
  });
});

Deno.test("trace: retention deletes an agent's trace with its record", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "pruned");
    const first = await runToEnd(s, t.apiKey);
    const second = await runToEnd(s, t.apiKey);
    // Both agents are gone (their last events written) before the records are pruned.
    for (const id of [first, second]) {
      await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey }).then((r) => r.body?.cancel());
    }
    assert.ok(s.service.traces.flush());
    assert.ok(s.store.traces.count(first) > 0 && s.store.traces.count(second) > 0);
    s.retention.options.agentRecordsMax = 1;
    await s.retention.run();
    assert.equal(s.store.traces.count(first), 0, "the pruned agent's events went with its record");
    assert.ok(s.store.traces.count(second) > 0, "the kept agent's trace stays");
    assert.ok(s.retention.stats.traceEventsPruned > 0);
    assert.equal(await s.req(`/v1/agents/${first}/trace`, { key: t.apiKey }).then((r) => r.status), 404);
    assert.ok(s.service.traces.flush());
    assert.equal(s.store.traces.count(first), 0, "nothing of it is written after its record went");
  });
});

Deno.test("trace: a full database keeps the trace buffered (503, never a crash); once there is room it is written with the record", async () => {
  let store: FaultyStore | undefined;
  await withServer(async (s) => {
    const t = await createTenant(s, "full");
    store!.capAtCurrentSize();
    // 16 KiB of output: the final record and the trace need pages the capped database does not have.
    const code = `export default () => { console.log("y".repeat(16384)); return "ran"; }`;
    const res = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code, wait: true } });
    const body = await res.json();
    assert.equal(res.status, 503, JSON.stringify(body).slice(0, 300));
    assert.equal(body.error.code, "storage_full");
    if (body.agent === undefined) return; // the start could not be written: nothing ran, nothing to trace
    const id = body.agent.id;
    assert.ok(!s.service.traces.flush(), "the batch is refused");
    assert.ok(s.service.traces.stats.flushFailures > 0);
    // Meanwhile the stream answers from what is buffered, exit included.
    const buffered = await stream(s, t.apiKey, `/v1/agents/${id}/events?follow=false`);
    assert.equal(buffered.at(-1)!.type, "exit");
    store!.heal();
    await until("the record written once there is room", () => s.store.agent(id, null)?.endedAt !== null);
    await until("the trace written", () => s.service.traces.flush() && s.store.traces.count(id) >= buffered.length);
    const stored = ndjson(await (await s.req(`/v1/agents/${id}/trace`, { key: t.apiKey })).text());
    assert.deepEqual(stored.slice(0, buffered.length), buffered, "what was buffered is what was stored");
  }, { openStore: (path) => store = new FaultyStore(path) });
});
