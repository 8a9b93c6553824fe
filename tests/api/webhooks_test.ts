/**
 * Webhooks end to end: a real server and a real receiver (`Deno.serve` on
 * 127.0.0.1, port 0), reached only through `webhooks.allowHosts`. Signed
 * deliveries that verify, retries on 500 and on a receiver that hangs (which
 * never holds up an agent or the API), the queue's drop of its oldest
 * delivery, loopback refused without the allowlist (at registration and at
 * delivery), bad input, another tenant's ids, caps, secret rotation and the
 * other event types.
 */
import assert from "node:assert/strict";
import { serverOptionsFromEnv, StartupError } from "../../api/server.ts";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";
import { readmeBlock } from "../docs/mod.ts";

type Received = { headers: Headers; body: string };
type Answer = number | "hang";

/** A receiver answering with `answers` in turn (the last one repeats); `hang` never answers until closed. */
async function withReceiver(answers: Answer[], fn: (r: Receiver) => Promise<void>): Promise<void> {
  const release = Promise.withResolvers<void>();
  const received: Received[] = [];
  const arrived = new EventTarget();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    const answer = answers[Math.min(received.length, answers.length - 1)];
    received.push({ headers: req.headers, body });
    arrived.dispatchEvent(new Event("request"));
    if (answer === "hang") await release.promise;
    return new Response(answer === "hang" ? "late" : "ok", { status: answer === "hang" ? 200 : answer });
  });
  const r: Receiver = {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    received,
    async count(n: number, what: string): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (received.length < n) {
        assert.ok(Date.now() < deadline, `the receiver got ${received.length} of ${n} requests (${what})`);
        await new Promise((done) => {
          const timer = setTimeout(done, 200);
          arrived.addEventListener("request", () => (clearTimeout(timer), done(null)), { once: true });
        });
      }
    },
  };
  try {
    await fn(r);
  } finally {
    release.resolve();
    await server.shutdown();
  }
}

interface Receiver {
  url: string;
  received: Received[];
  count(n: number, what: string): Promise<void>;
}

/** The README's verification: HMAC-SHA256 of `"<timestamp>.<body>"` with the secret, in hex, after `v1=`. */
async function verify(secret: string, headers: Headers, body: string): Promise<boolean> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`${headers.get("x-agentos-timestamp")}.${body}`));
  return headers.get("x-agentos-signature") === `v1=${new Uint8Array(mac).toHex()}`;
}

/** The README's verification snippet (section "Webhooks"), run as it is written: null for a good request. */
async function readmeVerify(secret: string, headers: Headers, body: string): Promise<Response | null> {
  const code = (await readmeBlock("### Webhooks", "ts")).text;
  const AsyncFunction = (async () => {}).constructor as new (
    ...args: string[]
  ) => (...a: unknown[]) => Promise<unknown>;
  const req = new Request("http://receiver/hook", { method: "POST", headers, body });
  return await new AsyncFunction("req", "secret", `${code}\nreturn null;`)(req, secret) as Response | null;
}

async function register(s: TestServer, key: string, json: Record<string, unknown>) {
  const res = await s.req("/v1/webhooks", { method: "POST", key, json });
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json() as { id: string; url: string; events: string[]; secret: string; createdAt: string };
}

type LogRow = {
  deliveryId: string;
  eventType: string;
  attempt: number;
  outcome: string;
  status: number | null;
  error: string | null;
  durationMs: number;
  nextRetryAt: string | null;
};

async function log(s: TestServer, key: string, id: string): Promise<LogRow[]> {
  const res = await s.req(`/v1/webhooks/${id}/deliveries?limit=200`, { key });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).deliveries;
}

/** Poll the delivery log (bounded) until `done` holds for it. */
async function logUntil(s: TestServer, key: string, id: string, done: (rows: LogRow[]) => boolean, what: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await log(s, key, id);
    if (done(rows)) return rows;
    assert.ok(Date.now() < deadline, `${what}: log is ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fast = { allowHosts: ["127.0.0.1"], backoffBaseMs: 10, backoffMsMax: 50, timeoutMs: 5_000 };
const run = (s: TestServer, key: string, code = "console.log('hi')") =>
  s.req("/v1/agents", { method: "POST", key, json: { code, wait: true } });

Deno.test("webhooks: an agent exits → one signed delivery whose signature verifies", async () => {
  await withReceiver([200], async (r) => {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const hook = await register(s, t.apiKey, { url: r.url, events: ["agent.exited"], description: "ci" });
      assert.match(hook.secret, /^whsec_[0-9a-f]{64}$/);
      assert.deepEqual(hook.events, ["agent.exited"]);
      const got = await (await s.req(`/v1/webhooks/${hook.id}`, { key: t.apiKey })).json();
      assert.equal(got.secret, undefined, "the secret is shown once");
      assert.equal(got.description, "ci");

      const agent = await (await run(s, t.apiKey)).json();
      await r.count(1, "agent.exited");
      const rows = await logUntil(s, t.apiKey, hook.id, (l) => l.length === 1, "one delivered row");
      assert.equal(r.received.length, 1, "exactly one delivery");
      const { headers, body } = r.received[0];
      assert.ok(await verify(hook.secret, headers, body), "the signature verifies");
      assert.ok(!(await verify(hook.secret.replace(/.$/, "0"), headers, body + " ")), "a changed body does not");
      assert.equal(await readmeVerify(hook.secret, headers, body), null, "the README's snippet accepts it");
      assert.equal((await readmeVerify(hook.secret, headers, body + " "))?.status, 401, "and refuses a changed body");
      assert.equal(headers.get("x-agentos-event"), "agent.exited");
      assert.equal(headers.get("content-type"), "application/json");
      assert.ok(Math.abs(Number(headers.get("x-agentos-timestamp")) - Date.now() / 1000) < 600);
      const event = JSON.parse(body);
      assert.deepEqual(Object.keys(event).sort(), ["createdAt", "data", "id", "tenantId", "type"]);
      assert.equal(event.type, "agent.exited");
      assert.equal(event.tenantId, t.id);
      assert.equal(event.data.agentId, agent.id);
      assert.equal(event.data.reason, "exit");
      assert.equal(event.data.exitCode, 0);
      assert.ok(event.data.endedAt, "the record the event reports is durable");
      assert.equal(rows[0].outcome, "delivered");
      assert.equal(rows[0].status, 200);
      assert.equal(rows[0].attempt, 1);
      assert.equal(rows[0].deliveryId, headers.get("x-agentos-delivery"));
      assert.equal(rows[0].nextRetryAt, null);
      const metrics = await (await s.req("/metrics", { key: adminKey })).text();
      assert.match(metrics, /agentos_webhook_deliveries_total\{outcome="delivered"\} 1/);
      assert.match(metrics, /agentos_webhook_deliveries_pending 0/);
    }, { webhooks: fast });
  });
});

Deno.test("webhooks: a receiver answering 500 twice then 200 → 3 attempts in the log, one delivery id", async () => {
  await withReceiver([500, 500, 200], async (r) => {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const hook = await register(s, t.apiKey, { url: r.url, events: ["*"] });
      await run(s, t.apiKey);
      const rows = await logUntil(s, t.apiKey, hook.id, (l) => l[0]?.outcome === "delivered", "delivered at last");
      assert.deepEqual(rows.map((x) => [x.attempt, x.outcome, x.status]), [
        [3, "delivered", 200],
        [2, "retrying", 500],
        [1, "retrying", 500],
      ]);
      assert.ok(rows[1].nextRetryAt !== null && rows[2].nextRetryAt !== null);
      assert.equal(r.received.length, 3);
      const ids = new Set(r.received.map((x) => x.headers.get("x-agentos-delivery")));
      assert.equal(ids.size, 1, "the delivery id is stable across retries");
      for (const x of r.received) assert.ok(await verify(hook.secret, x.headers, x.body));
    }, { webhooks: fast });
  });
});

Deno.test("webhooks: a 4xx is not retried; attemptsMax bounds the retries of a 503", async () => {
  await withReceiver([404], async (r) => {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const hook = await register(s, t.apiKey, { url: r.url, events: ["*"] });
      await run(s, t.apiKey);
      const rows = await logUntil(s, t.apiKey, hook.id, (l) => l.length > 0, "a row");
      assert.deepEqual(rows.map((x) => [x.attempt, x.outcome, x.status]), [[1, "failed", 404]]);
    }, { webhooks: fast });
  });
  await withReceiver([503], async (r) => {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const hook = await register(s, t.apiKey, { url: r.url, events: ["*"] });
      await run(s, t.apiKey);
      const rows = await logUntil(s, t.apiKey, hook.id, (l) => l[0]?.outcome === "failed", "given up");
      assert.deepEqual(rows.map((x) => x.attempt), [3, 2, 1]);
      assert.match(rows[0].error!, /gave up after 3 attempts \(webhooks\.attemptsMax\)/);
    }, { webhooks: { ...fast, attemptsMax: 3 } });
  });
});

Deno.test("webhooks: a receiver that hangs times out and is retried; agents and the API never wait", async () => {
  await withReceiver(["hang"], async (r) => {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const hook = await register(s, t.apiKey, { url: r.url, events: ["agent.exited"] });
      const first = await run(s, t.apiKey);
      assert.equal(first.status, 200);
      await r.count(1, "the first attempt");
      // The receiver holds the attempt open: an agent still runs to its end, and the API still answers.
      const second = await run(s, t.apiKey, "1 + 1");
      assert.equal(second.status, 200, await second.clone().text());
      assert.equal((await second.json()).state, "Zombie");
      assert.equal((await s.req("/v1/webhooks", { key: t.apiKey })).status, 200);
      assert.equal((await s.req(`/v1/webhooks/${hook.id}/deliveries`, { key: t.apiKey })).status, 200);
      const rows = await logUntil(
        s,
        t.apiKey,
        hook.id,
        (l) => l.filter((x) => x.outcome === "failed").length === 2,
        "both deliveries given up",
      );
      for (const x of rows) {
        assert.match(x.error!, /^timeout: no answer within 300 ms/);
        assert.equal(x.status, null);
      }
      assert.deepEqual(rows.map((x) => x.attempt).sort(), [1, 1, 2, 2]);
    }, { webhooks: { ...fast, timeoutMs: 300, attemptsMax: 2 } });
  });
});

Deno.test("webhooks: a full queue drops its oldest pending delivery and logs the drop", async () => {
  await withReceiver(["hang"], async (r) => {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const hook = await register(s, t.apiKey, { url: r.url, events: ["agent.exited"] });
      for (let i = 0; i < 3; i++) assert.equal((await run(s, t.apiKey, `${i}`)).status, 200);
      // The first delivery is in flight (the receiver hangs), the second was pending, the third pushed it out.
      const rows = await logUntil(s, t.apiKey, hook.id, (l) => l.some((x) => x.outcome === "dropped"), "a drop");
      const dropped = rows.filter((x) => x.outcome === "dropped");
      assert.equal(dropped.length, 1);
      assert.match(dropped[0].error!, /queue full \(webhooks\.queueMax 1\)/);
      assert.equal(dropped[0].attempt, 0);
    }, { webhooks: { ...fast, queueMax: 1, workers: 1, timeoutMs: 60_000 } });
  });
});

Deno.test("webhooks: one tenant's hanging receiver holds at most half the workers; another tenant's is delivered", async () => {
  await withReceiver(["hang"], async (slow) => {
    await withReceiver([200], async (quick) => {
      await withServer(async (s) => {
        const a = await createTenant(s, "a");
        const b = await createTenant(s, "b");
        await register(s, a.apiKey, { url: slow.url, events: ["agent.exited"] });
        const hook = await register(s, b.apiKey, { url: quick.url, events: ["agent.exited"] });
        for (let i = 0; i < 3; i++) assert.equal((await run(s, a.apiKey, `${i}`)).status, 200);
        await slow.count(1, "a's first attempt hangs");
        assert.equal((await run(s, b.apiKey)).status, 200);
        await quick.count(1, "b's delivery, while a's receiver hangs");
        const rows = await logUntil(s, b.apiKey, hook.id, (l) => l.length === 1, "b delivered");
        assert.equal(rows[0].outcome, "delivered");
        assert.equal(slow.received.length, 1, "a holds one of the two workers, never both");
      }, { webhooks: { ...fast, workers: 2, timeoutMs: 60_000 } });
    });
  });
});

Deno.test("webhooks: loopback is refused without the allowlist, at registration and at delivery", async () => {
  await withReceiver([200], async (r) => {
    const resolve = (name: string) => Promise.resolve(name === "hooks.test" ? [Uint8Array.of(127, 0, 0, 1)] : []);
    await withServer(async (s) => {
      const t = await createTenant(s, "acme");
      const port = new URL(r.url).port;
      for (
        const url of [
          r.url,
          `http://localhost:${port}/`,
          `http://[::1]:${port}/`,
          `http://0x7f000001:${port}/`,
          `http://[::ffff:127.0.0.1]:${port}/`,
          "http://169.254.169.254/latest",
          "http://10.0.0.1/",
        ]
      ) {
        const res = await s.req("/v1/webhooks", { method: "POST", key: t.apiKey, json: { url, events: ["*"] } });
        assert.equal(res.status, 400, url);
        const { error } = await res.json();
        assert.equal(error.code, "egress_refused", url);
        assert.match(error.message, /webhooks\.allowHosts \(AGENTOS_WEBHOOK_ALLOW_HOSTS\)/, url);
      }
      // A name is checked when it is resolved, at each attempt: this one resolves to loopback.
      const hook = await register(s, t.apiKey, { url: `http://hooks.test:${port}/hook`, events: ["*"] });
      await run(s, t.apiKey);
      const rows = await logUntil(s, t.apiKey, hook.id, (l) => l.length > 0, "a refused attempt");
      assert.equal(rows.length, 1, "a refused address is not retried");
      assert.equal(rows[0].outcome, "failed");
      assert.match(rows[0].error!, /hooks\.test resolves to 127\.0\.0\.1 is a loopback address/);
      assert.equal(r.received.length, 0, "nothing reached the receiver");
    }, { webhooks: { backoffBaseMs: 10, resolve } });
  });
});

Deno.test("webhooks: agentos's own API is never a receiver, even with loopback allowed", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const res = await s.req("/v1/webhooks", {
      method: "POST",
      key: t.apiKey,
      json: { url: `${s.url}/v1`, events: ["*"] },
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /agentos's own endpoint/);
  }, { webhooks: fast });
});

Deno.test("webhooks: bad input → 400, another tenant's id → 404, 16 endpoints per tenant", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "a");
    const b = await createTenant(s, "b");
    const url = "http://127.0.0.1:9/hook";
    const bad: unknown[] = [
      { url: "not a url", events: ["*"] },
      { url: "file:///etc/passwd", events: ["*"] },
      { url: "ftp://127.0.0.1/", events: ["*"] },
      { url: "http://user:pw@127.0.0.1/", events: ["*"] },
      { url: `http://127.0.0.1/${"a".repeat(10 * 1024)}`, events: ["*"] },
      { url, events: ["agent.born"] },
      { url, events: [] },
      { url, events: ["*", "agent.exited"] },
      { url, events: ["agent.exited", "agent.exited"] },
      { url, events: "*" },
      { url },
      { url, events: ["*"], extra: 1 },
      { url, events: ["*"], description: "d".repeat(300) },
    ];
    for (const json of bad) {
      const res = await s.req("/v1/webhooks", { method: "POST", key: a.apiKey, json });
      assert.equal(res.status, 400, JSON.stringify(json).slice(0, 80));
      const { error } = await res.json();
      assert.ok(error.code && error.message, JSON.stringify(error));
    }
    const doc = await (await fetch(`${s.url}/openapi.json`)).json();
    assert.equal(doc.paths["/v1/webhooks/{id}/deliveries"].get.operationId, "listWebhookDeliveries");
    assert.equal(
      doc.paths["/v1/webhooks"].post.requestBody.content["application/json"].schema.properties.url.maxLength,
      2048,
    );
    const notJson = await s.req("/v1/webhooks", {
      method: "POST",
      key: a.apiKey,
      body: "{",
      headers: { "content-type": "application/json" },
    });
    assert.equal(notJson.status, 400);

    const hook = await register(s, a.apiKey, { url, events: ["session.ended", "quota.hit"] });
    for (const q of ["cursor=abc", "cursor=0", "cursor=-1", "limit=0", "limit=1000", "limit=x", "other=1"]) {
      const res = await s.req(`/v1/webhooks/${hook.id}/deliveries?${q}`, { key: a.apiKey });
      assert.equal(res.status, 400, q);
    }
    for (
      const [method, path] of [
        ["GET", `/v1/webhooks/${hook.id}`],
        ["DELETE", `/v1/webhooks/${hook.id}`],
        ["POST", `/v1/webhooks/${hook.id}/secret`],
        ["GET", `/v1/webhooks/${hook.id}/deliveries`],
        ["GET", "/v1/webhooks/wh_nope"],
      ]
    ) {
      const res = await s.req(path, { method, key: b.apiKey });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal((await res.json()).error.code, "not_found");
    }
    assert.deepEqual((await (await s.req("/v1/webhooks", { key: b.apiKey })).json()).webhooks, []);
    assert.equal((await (await s.req(`/v1/webhooks/${hook.id}`, { key: a.apiKey })).json()).id, hook.id);

    for (let i = 1; i < 16; i++) await register(s, a.apiKey, { url, events: ["*"] });
    const over = await s.req("/v1/webhooks", { method: "POST", key: a.apiKey, json: { url, events: ["*"] } });
    assert.equal(over.status, 409);
    const { error } = await over.json();
    assert.equal(error.code, "quota_webhooks");
    assert.match(error.message, /webhooksPerTenantMax 16.*delete one first/);
    const gone = await s.req(`/v1/webhooks/${hook.id}`, { method: "DELETE", key: a.apiKey });
    assert.deepEqual(await gone.json(), { id: hook.id, deleted: true });
    assert.equal((await s.req(`/v1/webhooks/${hook.id}`, { key: a.apiKey })).status, 404);
    await register(s, a.apiKey, { url, events: ["*"] });
  }, { webhooks: fast });
});

Deno.test("webhooks: session.ended and quota.hit; a rotated secret signs from then on; registrations survive a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-hooks-" });
  let hookId = "";
  let key = "";
  await withReceiver([200], async (r) => {
    await withServer(async (s) => {
      const t = await createTenant(s, "acme", { agentsConcurrentMax: 1 });
      key = t.apiKey;
      const hook = await register(s, key, { url: r.url, events: ["session.ended", "quota.hit"] });
      hookId = hook.id;
      const rotated = await (await s.req(`/v1/webhooks/${hook.id}/secret`, { method: "POST", key })).json();
      assert.notEqual(rotated.secret, hook.secret);
      assert.match(rotated.secret, /^whsec_/);

      const session = await (await s.req("/v1/sessions", { method: "POST", key, json: {} })).json();
      const refused = await s.req("/v1/agents", { method: "POST", key, json: { code: "1" } });
      assert.equal(refused.status, 429, "the session's agent holds the tenant's one slot");
      await refused.body?.cancel();
      assert.equal((await s.req(`/v1/sessions/${session.id}`, { method: "DELETE", key })).status, 200);
      await r.count(2, "quota.hit and session.ended");
      const events = r.received.map((x) => JSON.parse(x.body));
      const byType = Object.fromEntries(events.map((e) => [e.type, e]));
      assert.deepEqual(Object.keys(byType).sort(), ["quota.hit", "session.ended"]);
      assert.equal(byType["quota.hit"].data.quota, "agentsConcurrentMax");
      assert.equal(byType["session.ended"].data.sessionId, session.id);
      assert.equal(byType["session.ended"].data.reason, "closed");
      for (const x of r.received) {
        assert.ok(await verify(rotated.secret, x.headers, x.body), "signed with the new secret");
        assert.ok(!(await verify(hook.secret, x.headers, x.body)), "not with the old one");
      }
      await run(s, key); // agent.exited: not subscribed, not sent
      await logUntil(s, key, hook.id, (l) => l.length === 2, "two deliveries");
      assert.equal(r.received.length, 2);
    }, { dataDir, keep: true, webhooks: fast });
  });
  await withServer(async (s) => {
    const list = await (await s.req("/v1/webhooks", { key })).json();
    assert.deepEqual(list.webhooks.map((w: { id: string }) => w.id), [hookId]);
    assert.equal((await log(s, key, hookId)).length, 2, "the delivery log is durable too");
  }, { dataDir, webhooks: fast });
});

Deno.test("webhooks: AGENTOS_WEBHOOK_ALLOW_HOSTS is read, and an entry that is no IP or CIDR stops the start", () => {
  const env = (value: string) => (name: string) => name === "AGENTOS_WEBHOOK_ALLOW_HOSTS" ? value : undefined;
  assert.deepEqual(serverOptionsFromEnv(env("127.0.0.1, 10.0.0.0/8")).webhooks?.allowHosts, [
    "127.0.0.1",
    "10.0.0.0/8",
  ]);
  assert.equal(serverOptionsFromEnv(() => undefined).webhooks?.allowHosts, undefined);
  assert.throws(() => serverOptionsFromEnv(env("127.0.0.1,hooks.example")), (err: Error) => {
    assert.ok(err instanceof StartupError);
    assert.match(err.message, /AGENTOS_WEBHOOK_ALLOW_HOSTS: .*"hooks\.example" is not an IP address or CIDR/);
    return true;
  });
});
