/**
 * SSE streams against a flooding tenant (issue 9, finding 3), on a real
 * server: a tenant's idle `/v1/events` streams are capped per key and per
 * tenant (429 `too_many_streams`, naming the cap); another tenant's events
 * wake none of them and write nothing to them; keepalives come from the
 * heartbeat timer only.
 *
 * Was: no cap, and every event woke every subscriber, each of which wrote a
 * `: keepalive` when the wake brought it nothing: 2,000 idle streams of one
 * tenant made another tenant's round trips 85x slower. The bystander's p99
 * before and during is printed, never asserted.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, type TestServer, withServer } from "../api/helpers.ts";
import { httpAgentRoundTrips, httpRoundTrips, reportRatio } from "./bystander.ts";
import { until } from "./helpers.ts";

/** An open stream whose text is collected as it comes. */
interface Stream {
  text: () => string;
  close: () => Promise<void>;
}

/** Open `/v1/events` (or `path`); a stream on 200, else the refusal. */
async function openStream(
  s: TestServer,
  key: string,
  path = "/v1/events",
): Promise<Stream | { status: number; code: string; message: string }> {
  const res = await s.req(path, { key });
  if (res.status !== 200) {
    const body = await res.json();
    return { status: res.status, code: body.error.code, message: body.error.message };
  }
  let text = "";
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += value;
    }
  })();
  return {
    text: () => text,
    close: async () => {
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}

function isStream(x: Stream | { status: number }): x is Stream {
  return "text" in x;
}

/** What is left of a stream's text once the `hello` event is removed. */
function afterHello(text: string): string {
  return text.replace(/^event: hello\ndata: [^\n]*\n\n/, "");
}

Deno.test("security sse: idle streams are capped per key and per tenant; another tenant's events wake and write none of them", async () => {
  const limits = {
    sseStreamsMax: 64,
    sseStreamsPerTenantMax: 8,
    sseStreamsPerKeyMax: 4,
    sseHeartbeatMs: 60_000,
    idleMsMax: 120_000,
  };
  await withServer(async (s) => {
    const flood = await createTenant(s, "streams");
    const calm = await createTenant(s, "calm");
    const b = { url: s.url, key: calm.apiKey };
    const quiet = await httpRoundTrips(b);
    const quietAgent = await httpAgentRoundTrips(b);
    const streams: Stream[] = [];
    try {
      const attempt = async (key: string) => {
        const r = await openStream(s, key);
        if (isStream(r)) streams.push(r);
        return r;
      };
      for (let i = 0; i < limits.sseStreamsPerKeyMax; i++) assert.ok(isStream(await attempt(flood.apiKey)));
      const overKey = await attempt(flood.apiKey);
      assert.ok(!isStream(overKey));
      assert.deepEqual([overKey.status, overKey.code], [429, "too_many_streams"]);
      assert.match(overKey.message, /sseStreamsPerKeyMax/);

      // A second key of the same tenant (the first one's streams stay open): the tenant's cap.
      const rotated = await s.req(`/v1/tenants/${flood.id}/keys`, { method: "POST", key: adminKey });
      const key2 = (await rotated.json()).apiKey as string;
      for (let i = 0; i < limits.sseStreamsPerTenantMax - limits.sseStreamsPerKeyMax; i++) {
        assert.ok(isStream(await attempt(key2)));
      }
      const refusals = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const r = await attempt(key2);
        assert.ok(!isStream(r), "a stream past the tenant's cap was opened");
        assert.deepEqual([r.status, r.code], [429, "too_many_streams"]);
        const cap = /over (\w+)/.exec(r.message)?.[1] ?? r.message;
        refusals.set(cap, (refusals.get(cap) ?? 0) + 1);
      }
      assert.deepEqual([...refusals], [["sseStreamsPerTenantMax", 40]]);
      assert.equal(s.service.feed.subscribers, limits.sseStreamsPerTenantMax);

      // The bystander's events (its own stream sees them) reach no stream of the flooding tenant.
      const own = await openStream(s, calm.apiKey, "/v1/events?types=exit");
      assert.ok(isStream(own));
      const during = await httpRoundTrips(b);
      const duringAgent = await httpAgentRoundTrips(b);
      reportRatio(`${streams.length} idle SSE streams (+40 refused), round trips`, quiet, during);
      reportRatio(`${streams.length} idle SSE streams (+40 refused), agent syscalls`, quietAgent, duringAgent);
      await until(() => own.text().includes("event: exit"));
      await own.close();
      for (const st of streams) {
        assert.match(st.text(), /^event: hello\n/);
        assert.equal(afterHello(st.text()), "", "something was written to an idle stream of another tenant");
      }

      // Closed streams give their slots back.
      for (const st of streams.splice(0)) await st.close();
      await until(() => s.service.feed.subscribers === 0);
      const again = await attempt(key2);
      assert.ok(isStream(again), "a slot was not given back");
    } finally {
      for (const st of streams) await st.close();
    }
    assert.equal((await s.req("/healthz")).status, 200);
  }, { limits });
});

Deno.test("security sse: keepalives come from the heartbeat timer, not from other tenants' events", async () => {
  const limits = { sseHeartbeatMs: 200, idleMsMax: 2_000 };
  await withServer(async (s) => {
    const idle = await createTenant(s, "idle");
    const busy = await createTenant(s, "busy");
    const opened = performance.now();
    const stream = await openStream(s, idle.apiKey);
    assert.ok(isStream(stream));
    try {
      // Plenty of events from another tenant meanwhile.
      await httpAgentRoundTrips({ url: s.url, key: busy.apiKey }, 2000);
      await until(() => stream.text().includes(": keepalive"));
      const elapsedMs = performance.now() - opened;
      const rest = afterHello(stream.text());
      const keepalives = rest.split(": keepalive\n\n").length - 1;
      assert.equal(rest.replaceAll(": keepalive\n\n", ""), "", "an idle stream got something but keepalives");
      assert.ok(
        keepalives >= 1 && keepalives <= Math.floor(elapsedMs / limits.sseHeartbeatMs) + 1,
        `${keepalives} keepalives in ${elapsedMs.toFixed(0)} ms (heartbeat ${limits.sseHeartbeatMs} ms)`,
      );
    } finally {
      await stream.close();
    }
  }, { limits });
});
