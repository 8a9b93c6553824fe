/**
 * SSE stream content, filters, resume; durability across restart and kill -9.
 */
import assert from "node:assert/strict";
import { startServer } from "../../api/server.ts";
import { adminKey, createTenant, withServer } from "./helpers.ts";

/** Read SSE events from a response until `stop` says so or the deadline passes. */
async function readEvents(
  res: Response,
  stop: (events: { id?: string; event: string; data: string }[]) => boolean,
  ms = 5000,
) {
  const events: { id?: string; event: string; data: string }[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = setTimeout(() => reader.cancel(), ms);
  let buffer = "";
  try {
    while (!stop(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: { id?: string; event: string; data: string } = { event: "message", data: "" };
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) e.id = line.slice(4);
          else if (line.startsWith("event: ")) e.event = line.slice(7);
          else if (line.startsWith("data: ")) e.data += line.slice(6);
        }
        if (block.startsWith(":")) continue;
        events.push(e);
      }
    }
  } finally {
    clearTimeout(deadline);
    await reader.cancel().catch(() => {});
  }
  return events;
}

Deno.test("sse: one event per syscall, lifecycle and exit; filters; resume with Last-Event-ID", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "streamer");
    const code = `export default async () => {
      await sys.fs.writeText("a.txt", "x");
      await sys.fs.readText("a.txt");
      try { await sys.fs.readText("../x"); } catch {}
      return 1;
    }`;
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code, wait: true, capabilities: ["fs.read", "fs.write"] },
    });
    const { id } = await res.json();
    const all = await readEvents(
      await s.req(`/v1/agents/${id}/events`, { key: t.apiKey, headers: { "last-event-id": "0" } }),
      (ev) => ev.some((e) => e.event === "exit"),
    );
    const syscalls = all.filter((e) => e.event === "syscall").map((e) => JSON.parse(e.data));
    assert.deepEqual(syscalls.map((e) => e.data.call), ["fs.writeText", "fs.readText", "fs.readText"]);
    const denied = syscalls[2];
    assert.equal(denied.data.errno, "EACCES");
    assert.equal(denied.agentId, id);
    assert.equal(typeof denied.data.latencyUs, "number");
    assert.equal(typeof denied.causality, "number");
    assert.ok(all.some((e) => e.event === "denial"));
    assert.ok(all.some((e) => e.event === "lifecycle"));
    const exit = JSON.parse(all.find((e) => e.event === "exit")!.data);
    assert.equal(exit.data.reason, "exit");

    const errorsOnly = await readEvents(
      await s.req(`/v1/agents/${id}/events?calls=fs.*&errors=true`, {
        key: t.apiKey,
        headers: { "last-event-id": "0" },
      }),
      (ev) => ev.filter((e) => e.event !== "hello").length >= 2,
      1500,
    );
    const kinds = errorsOnly.filter((e) => e.event !== "hello").map((e) => e.event);
    assert.deepEqual(kinds.sort(), ["denial", "syscall"]);

    const middle = syscalls[0];
    const resumed = await readEvents(
      await s.req(`/v1/agents/${id}/events?types=syscall`, {
        key: t.apiKey,
        headers: { "last-event-id": String(middle.seq) },
      }),
      (ev) => ev.filter((e) => e.event === "syscall").length >= 2,
    );
    assert.deepEqual(resumed.filter((e) => e.event === "syscall").map((e) => JSON.parse(e.data).seq), [
      syscalls[1].seq,
      syscalls[2].seq,
    ]);
  });
});

Deno.test("sse: a tenant-wide stream sees only its own tenant, live", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "live-a");
    const b = await createTenant(s, "live-b");
    const stream = await s.req("/v1/events?types=exit", { key: a.apiKey });
    const collected = readEvents(stream, (ev) => ev.some((e) => e.event === "exit"));
    await (await s.req("/v1/agents", {
      method: "POST",
      key: b.apiKey,
      json: { code: "export default () => 1", wait: true },
    }))
      .json();
    await (await s.req("/v1/agents", {
      method: "POST",
      key: a.apiKey,
      json: { code: "export default () => 2", wait: true },
    }))
      .json();
    const events = (await collected).filter((e) => e.event === "exit").map((e) => JSON.parse(e.data));
    assert.equal(events.length, 1);
    assert.equal(events[0].tenant, a.id);
  });
});

Deno.test("durability: records survive a graceful restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-restart-" });
  let tenant: { id: string; apiKey: string } | undefined;
  let agentId = "";
  await withServer(async (s) => {
    tenant = await createTenant(s, "durable");
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: tenant.apiKey,
      json: { code: "export default () => 7", wait: true },
    });
    agentId = (await res.json()).id;
  }, { dataDir, keep: true });
  await withServer(async (s) => {
    const row = await (await s.req(`/v1/agents/${agentId}`, { key: tenant!.apiKey })).json();
    assert.equal(row.result, 7);
    assert.equal(row.reason, "exit");
  }, { dataDir });
});

/** Start `main.ts` as a real server process; resolves with its URL once it listens. */
async function serverProcess(dataDir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname],
    env: { PORT: "0", AGENTOS_DATA_DIR: dataDir, AGENTOS_ADMIN_KEY: adminKey, AGENTOS_POOL_SIZE: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let url = "";
  let text = "";
  while (!url) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited");
    text += value;
    url = /listening on (http:\/\/\S+)/.exec(text)?.[1] ?? "";
  }
  return { child, url, reader };
}

Deno.test("lifecycle: SIGTERM kills agents (reason killed), flushes, exits 0", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-term-" });
  const { child, url, reader } = await serverProcess(dataDir);
  const auth = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
  const spawned = await fetch(`${url}/v1/agents`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ code: "await new Promise(() => {})" }),
  });
  const { id } = await spawned.json();
  const started = performance.now();
  child.kill("SIGTERM");
  const status = await child.status;
  await reader.cancel().catch(() => {});
  assert.equal(status.code, 0);
  assert.ok(performance.now() - started < 10_000);
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    poolSize: 0,
    handleSignals: false,
    log: false,
  });
  try {
    const row = await (await fetch(`${server.url}/v1/agents/${id}`, { headers: auth })).json();
    assert.equal(row.reason, "killed");
  } finally {
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("durability: acknowledged records survive kill -9; running agents become crash", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-kill9-" });
  const { child, url, reader } = await serverProcess(dataDir);
  const auth = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
  const created = await fetch(`${url}/v1/tenants`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ name: "k9" }),
  });
  assert.equal(created.status, 201);
  const tenant = await created.json();
  const spawned = await fetch(`${url}/v1/agents`, {
    method: "POST",
    headers: { ...auth, authorization: `Bearer ${tenant.apiKey}` },
    body: JSON.stringify({ code: "await new Promise(() => {})" }),
  });
  assert.equal(spawned.status, 201);
  const { id } = await spawned.json();
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel().catch(() => {});

  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    poolSize: 0,
    handleSignals: false,
    log: false,
  });
  try {
    const res = await fetch(`${server.url}/v1/agents/${id}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    assert.equal(res.status, 200);
    const row = await res.json();
    assert.equal(row.reason, "crash");
    assert.match(row.message, /restarted/);
    const audit = await (await fetch(`${server.url}/v1/audit`, { headers: { authorization: `Bearer ${adminKey}` } }))
      .json();
    const actions = audit.records.map((r: { action: string }) => r.action);
    for (const action of ["tenant.created", "key.issued", "agent.spawned", "agent.exited"]) {
      assert.ok(actions.includes(action), action);
    }
  } finally {
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
