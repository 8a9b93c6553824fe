/**
 * `Agent.events()`: the SSE stream iterated to the exit, and a connection
 * cut in the middle of an event resumed with `Last-Event-ID` — no event
 * lost, none repeated (checked by seq against an uninterrupted read).
 */
import assert from "node:assert/strict";
import {
  type AgentEvent,
  AgentOS,
  ConnectionError,
  type DroppedEvent,
  NotFound,
  RateLimited,
} from "../../client/mod.ts";
import { createTenant, withServer } from "../api/helpers.ts";

/** Writes 5 files, waits for go.txt (uploaded by the test), writes 5 more and exits. */
const gated = `export default async () => {
  for (let i = 0; i < 5; i++) await sys.fs.writeText("before" + i + ".txt", "x");
  console.log("waiting");
  while (true) {
    try { await sys.fs.readText("go.txt"); break; } catch { await new Promise((r) => setTimeout(r, 20)); }
  }
  for (let i = 0; i < 5; i++) await sys.fs.writeText("after" + i + ".txt", "y");
  console.log("done");
  return "ok";
}`;

/**
 * A fetch whose first `/events` answer is cut (an error, as a reset) in
 * the middle of the event after the `cutAfter`-th one; every other request
 * goes through untouched.
 */
function cuttingFetch(cutAfter: number): { fetch: typeof fetch; eventRequests: string[] } {
  const eventRequests: string[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = String(input);
    if (!url.includes("/events")) return res;
    eventRequests.push(new Headers(init?.headers).get("last-event-id") ?? "");
    if (eventRequests.length > 1) return res;
    const reader = res.body!.getReader();
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    let seen = "";
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) return controller.close();
        const text = decoder.decode(value, { stream: true });
        seen += text;
        const ends = [...seen.matchAll(/id: \d+\n[^]*?\n\n/g)];
        if (ends.length <= cutAfter) return controller.enqueue(value);
        // Send up to the middle of the next event, then fail like a reset connection.
        const cut = ends[cutAfter].index! + 6;
        const part = seen.slice(seen.length - text.length, cut);
        if (part !== "") controller.enqueue(encoder.encode(part));
        await reader.cancel();
        controller.error(new TypeError("connection reset (test)"));
      },
      cancel: () => reader.cancel(),
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetch: wrapped, eventRequests };
}

function seqs(events: (AgentEvent | DroppedEvent)[]): number[] {
  return events.map((e) => ("seq" in e ? e.seq : -1));
}

Deno.test("sdk events: iterate to the exit; a cut connection resumes without loss or duplicates", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-events");
    const cutter = cuttingFetch(3);
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey, fetch: cutter.fetch });
    const agent = await os.spawn(gated, { capabilities: ["fs.read", "fs.write"], limits: { wallMs: 60_000 } });
    const got: (AgentEvent | DroppedEvent)[] = [];
    let released = false;
    for await (const e of agent.events()) {
      got.push(e);
      // Let the agent go on once the stream has been cut and resumed (it is still running: the live path).
      if (!released && cutter.eventRequests.length > 1 && e.type === "output") {
        released = true;
        await agent.files.upload("go.txt", "go");
      }
    }
    assert.ok(released, "the agent was released after the reconnect");
    assert.ok(cutter.eventRequests.length >= 2, "the first connection was cut and another made");
    assert.equal(cutter.eventRequests[0], "0");
    assert.notEqual(cutter.eventRequests[1], "0", "the reconnect names the last event seen");
    const exit = got.at(-1) as AgentEvent;
    assert.equal(exit.type, "exit");
    assert.equal(exit.data.reason, "exit");
    const order = seqs(got);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), "in order");
    assert.equal(new Set(order).size, order.length, "no duplicates");
    // An uninterrupted read of the finished agent: the same events.
    const plain = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const all: (AgentEvent | DroppedEvent)[] = [];
    for await (const e of plain.agent(agent.id).events()) all.push(e);
    assert.deepEqual(order, seqs(all), "no event lost");
    const writes = all.filter((e) => e.type === "syscall" && (e as AgentEvent).data.call === "fs.writeText");
    assert.equal(writes.length, 10);
  });
});

Deno.test("sdk events: filters; a filter without exit ends when the agent has; 404 is NotFound", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-events-filter");
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const done = await os.run(`console.log("one"); console.log("two"); export default () => 1;`);
    const outputs: string[] = [];
    for await (const e of os.agent(done.id).events({ types: ["output"] })) {
      assert.equal(e.type, "output");
      outputs.push(String((e as AgentEvent).data.data));
    }
    assert.equal(outputs.join(""), "one\ntwo\n");
    const after: AgentEvent[] = [];
    const first = await os.agent(done.id).events().next();
    const firstSeq = (first.value as AgentEvent).seq;
    for await (const e of os.agent(done.id).events({ after: firstSeq })) after.push(e as AgentEvent);
    assert.ok(after.length > 0 && after.every((e) => e.seq > firstSeq));
    const missing = os.agent("ag_nope").events();
    await assert.rejects(() => missing.next(), NotFound);
  });
});

Deno.test("sdk events: a 429 is retried, then given up as ConnectionError caused by RateLimited(retryAfter)", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-events-429");
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const done = await os.run(`export default () => 1`);
    // The key's only stream slot is held by this request.
    const holder = await s.req("/v1/events", { key: t.apiKey });
    assert.equal(holder.status, 200);
    try {
      const err = await os.agent(done.id).events({ reconnectsMax: 0 }).next().catch((e) => e);
      assert.ok(err instanceof ConnectionError, String(err));
      assert.ok(err.cause instanceof RateLimited, String(err.cause));
      assert.equal(err.cause.code, "too_many_streams");
      assert.equal(err.cause.retryAfter, 1);
    } finally {
      await holder.body?.cancel();
    }
  }, { limits: { sseStreamsPerKeyMax: 1 } });
});
