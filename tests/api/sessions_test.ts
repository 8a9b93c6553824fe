/**
 * Sessions end to end against a real server: a conversation of cells that
 * use each other's variables, functions, classes and imports (JavaScript
 * and TypeScript), streamed output, interrupts, timeouts, idle eviction,
 * labels, another tenant's ids, and a long run with bounded memory.
 */
import assert from "node:assert/strict";
import { createTenant, type TestServer, withServer } from "./helpers.ts";

async function open(s: TestServer, key: string, body: Record<string, unknown> = {}) {
  const res = await s.req("/v1/sessions", { method: "POST", key, json: body });
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json() as { id: string; state: string; agentId: string };
}

async function exec(s: TestServer, key: string, id: string, body: Record<string, unknown>) {
  const res = await s.req(`/v1/sessions/${id}/exec`, { method: "POST", key, json: body });
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

Deno.test("sessions: five cells, each using the last ones' variables, functions, classes and imports", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey, { capabilities: ["fs.read", "fs.write"], labels: { team: "data" } });
    assert.equal(se.state, "open");
    const cells = [
      { code: `const rows = [3, 4, 5];\nlet total = 0;\nfunction add(n) { total += n; return total; }\nrows.length` },
      {
        code:
          `for (const r of rows) add(r);\nawait sys.fs.writeText("lib.js", "export const scale = (n) => n * 10;");\nconsole.log("total", total);\ntotal`,
      },
      { code: `import { scale } from "./lib.js";\nscale(total)` },
      {
        lang: "ts",
        code:
          `interface Point { x: number }\nclass Acc { constructor(public p: Point) {}\n  get twice(): number { return this.p.x * 2 } }\nconst acc = new Acc({ x: scale(total) } satisfies Point);\nacc.twice`,
      },
      { code: `total = 1;\nadd(1);\n({ total, twice: acc.twice, kind: typeof Acc })` },
    ];
    const answers = [];
    for (const cell of cells) answers.push(await exec(s, t.apiKey, se.id, cell));
    for (const a of answers) assert.equal(a.error, null, JSON.stringify(a.error));
    assert.deepEqual(answers.map((a) => a.executionCount), [1, 2, 3, 4, 5]);
    assert.deepEqual(answers.map((a) => a.result), [3, 12, 120, 240, { total: 2, twice: 240, kind: "function" }]);
    assert.equal(answers[1].stdout, "total 12\n");
    assert.equal(answers[0].stdout, "");
    const info = await (await s.req(`/v1/sessions/${se.id}`, { key: t.apiKey })).json();
    assert.deepEqual([info.state, info.executionCount, info.labels], ["open", 5, { team: "data" }]);
  });
});

Deno.test("sessions: errors are the cell's answer; TypeScript sent as JavaScript gets a hint", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey);
    const thrown = await exec(s, t.apiKey, se.id, { code: `const x = 1;\nthrow new RangeError("too far: " + x);` });
    assert.equal(thrown.error.name, "RangeError");
    assert.equal(thrown.error.message, "too far: 1");
    assert.match(thrown.error.stack, /cell1\.js:2:\d+/);
    const syntax = await exec(s, t.apiKey, se.id, { code: `const n: number = 1;` });
    assert.equal(syntax.error.name, "SyntaxError");
    assert.match(syntax.error.message, /cell2\.js:1:\d+/);
    assert.match(syntax.error.message, /looks like TypeScript: send lang: "ts"/);
    const after = await exec(s, t.apiKey, se.id, { code: `x + 1` });
    assert.equal(after.result, 2);
    assert.equal(after.executionCount, 3);
  });
});

Deno.test("sessions: a busy cell over its time restarts the session and says its state was lost", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey);
    await exec(s, t.apiKey, se.id, { code: `var kept = "yes"` });
    const spin = await exec(s, t.apiKey, se.id, { code: `while (true) {}`, timeoutMs: 300 });
    assert.equal(spin.error.name, "TimeoutError");
    assert.equal(spin.stateLost, true);
    assert.equal(spin.interrupted, "timeout");
    const after = await exec(s, t.apiKey, se.id, { code: `typeof kept` });
    assert.equal(after.result, "undefined");
    const info = await (await s.req(`/v1/sessions/${se.id}`, { key: t.apiKey })).json();
    assert.equal(info.restarts, 1);
    assert.notEqual(info.agentId, se.agentId);
  });
});

Deno.test("sessions: interrupt a runaway cell; an awaiting cell keeps the state", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey);
    await exec(s, t.apiKey, se.id, { code: `var kept = 7` });
    const spinning = exec(s, t.apiKey, se.id, { code: `while (true) {}` });
    const interrupted = await waitInterrupt(s, t.apiKey, se.id);
    assert.deepEqual(interrupted, { interrupted: true, stateLost: true });
    const spin = await spinning;
    assert.equal(spin.stateLost, true);
    assert.equal(spin.interrupted, "interrupt");
    await exec(s, t.apiKey, se.id, { code: `var kept = 8` });
    const waiting = exec(s, t.apiKey, se.id, { code: `await new Promise(() => {})` });
    assert.deepEqual(await waitInterrupt(s, t.apiKey, se.id), { interrupted: true, stateLost: false });
    assert.equal((await waiting).error.name, "Interrupted");
    assert.equal((await exec(s, t.apiKey, se.id, { code: `kept` })).result, 8);
  });
});

/** Interrupt once the cell runs (the exec request may still be on its way). */
async function waitInterrupt(s: TestServer, key: string, id: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await s.req(`/v1/sessions/${id}/interrupt`, { method: "POST", key });
    const body = await res.json();
    if (body.interrupted) return body;
    assert.ok(Date.now() < deadline, "the cell never started");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("sessions: streamed exec sends output as it happens, then the answer", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey);
    const res = await s.req(`/v1/sessions/${se.id}/exec?stream=true`, {
      method: "POST",
      key: t.apiKey,
      json: { code: `console.log("a"); console.error("b"); 6 * 7` },
    });
    assert.equal(res.headers.get("content-type"), "application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, 2), [{ type: "stdout", data: "a\n" }, { type: "stderr", data: "b\n" }]);
    assert.equal(lines[2].type, "result");
    assert.equal(lines[2].result, 42);
    assert.equal(lines[2].stdout, "a\n");
  });
});

Deno.test("sessions: idle eviction, close, labels, another tenant's ids, bad input", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const other = await createTenant(s, "other");
    const idle = await open(s, t.apiKey, { idleTimeoutMs: 1000, labels: { env: "dev" } });
    const kept = await open(s, t.apiKey, { labels: { env: "prod", team: "x" } });
    assert.equal((await s.req(`/v1/sessions/${kept.id}`, { key: other.apiKey })).status, 404);
    const foreign = await s.req(`/v1/sessions/${kept.id}/exec`, {
      method: "POST",
      key: other.apiKey,
      json: { code: "1" },
    });
    assert.equal(foreign.status, 404);
    const list = async (q: string) =>
      (await (await s.req(`/v1/sessions?${q}`, { key: t.apiKey })).json()).sessions.map((x: { id: string }) => x.id);
    assert.deepEqual(await list("label=env=prod"), [kept.id]);
    assert.deepEqual(await list("label=env&label=team=x"), [kept.id]);
    assert.deepEqual((await list("label=env")).sort(), [idle.id, kept.id].sort());
    const deadline = Date.now() + 30_000;
    for (;;) {
      const info = await (await s.req(`/v1/sessions/${idle.id}`, { key: t.apiKey })).json();
      if (info.state === "ended") {
        assert.equal(info.reason, "idle");
        break;
      }
      assert.ok(Date.now() < deadline, "the idle session was never evicted");
      await new Promise((r) => setTimeout(r, 50));
    }
    const evicted = await s.req(`/v1/sessions/${idle.id}/exec`, { method: "POST", key: t.apiKey, json: { code: "1" } });
    assert.equal(evicted.status, 404);
    assert.equal((await evicted.json()).error.code, "session_ended");
    const closed = await (await s.req(`/v1/sessions/${kept.id}`, { method: "DELETE", key: t.apiKey })).json();
    assert.deepEqual([closed.state, closed.reason], ["ended", "closed"]);
    const bad = await s.req("/v1/sessions", { method: "POST", key: t.apiKey, json: { ttlMs: -1 } });
    assert.equal(bad.status, 400);
    const unknown = await s.req("/v1/sessions", { method: "POST", key: t.apiKey, json: { nope: 1 } });
    assert.equal(unknown.status, 400);
  });
});

Deno.test("sessions: 100 cells in one session keep the server's memory bounded", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey);
    await exec(s, t.apiKey, se.id, { code: `let n = 0` });
    const rss: number[] = [];
    for (let i = 0; i < 100; i++) {
      const a = await exec(s, t.apiKey, se.id, { code: `n++;\nconsole.log("x".repeat(1000));\nn` });
      assert.equal(a.result, i + 1);
      if (i % 25 === 0) rss.push(Deno.memoryUsage().rss);
    }
    const info = await (await s.req(`/v1/sessions/${se.id}`, { key: t.apiKey })).json();
    assert.equal(info.executionCount, 101);
    assert.equal(info.restarts, 0);
    // Whatever a cell leaves behind must not pile up in the server: under 64 MiB of growth over the run.
    assert.ok(rss[rss.length - 1] - rss[0] < 64 * 1024 * 1024, `server RSS grew ${rss}`);
  });
});

Deno.test("sessions: files uploaded to a session are the cells' files, and outlive a lost context", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const vol = await s.req("/v1/volumes", { method: "POST", key: t.apiKey, json: { name: "shared" } });
    assert.equal(vol.status, 201, await vol.clone().text());
    const se = await open(s, t.apiKey, {
      capabilities: ["fs.read", "fs.write"],
      volumes: [{ name: "shared", path: "shared" }],
    });
    const csv = "name,score\nada,3\nbob,4\n";
    const put = await s.req(`/v1/sessions/${se.id}/files/data/scores.csv`, { method: "PUT", key: t.apiKey, body: csv });
    assert.ok(put.status === 200 || put.status === 201, await put.clone().text());
    const sum = await exec(s, t.apiKey, se.id, {
      code: `const text = await Deno.readTextFile("data/scores.csv");
const total = text.trim().split("\\n").slice(1).reduce((a, l) => a + Number(l.split(",")[1]), 0);
await Deno.writeTextFile("shared/total.txt", String(total));
await Deno.writeTextFile("out.txt", "sum=" + total);
total`,
    });
    assert.equal(sum.error, null, JSON.stringify(sum.error));
    assert.equal(sum.result, 7);
    const lost = await exec(s, t.apiKey, se.id, { code: `while (true) {}`, timeoutMs: 300 });
    assert.equal(lost.stateLost, true);
    const out = await s.req(`/v1/sessions/${se.id}/files/out.txt`, { key: t.apiKey });
    assert.equal(await out.text(), "sum=7");
    const again = await exec(s, t.apiKey, se.id, { code: `await Deno.readTextFile("out.txt")` });
    assert.equal(again.result, "sum=7");
    const listing = await (await s.req(`/v1/sessions/${se.id}/files?dir=data`, { key: t.apiKey })).json();
    assert.deepEqual(listing.entries.map((e: { name: string; size: number }) => [e.name, e.size]), [[
      "scores.csv",
      csv.length,
    ]]);
    const shared = await s.req(`/v1/volumes/shared/files/total.txt`, { key: t.apiKey });
    assert.equal(await shared.text(), "7");
    // A module written into the mounted volume is importable, like a workspace file.
    await exec(s, t.apiKey, se.id, {
      code: `await Deno.writeTextFile("shared/half.js", "export const half = (n) => n / 2;")`,
    });
    const imported = await exec(s, t.apiKey, se.id, { code: `import { half } from "./shared/half.js";\nhalf(10)` });
    assert.equal(imported.result, 5, JSON.stringify(imported.error));
    const escape = await s.req(`/v1/sessions/${se.id}/files/..%2F..%2Fetc%2Fpasswd`, { key: t.apiKey });
    assert.equal(escape.status, 403);
    // The files API's calls are events of the session's agent, in its stored trace like its syscalls.
    const agentId = (await (await s.req(`/v1/sessions/${se.id}`, { key: t.apiKey })).json()).agentId;
    const trace = await (await s.req(`/v1/agents/${agentId}/trace`, { key: t.apiKey })).text();
    const calls = trace.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "syscall")
      .map((e) => e.data.call);
    assert.ok(calls.includes("files.get"), calls.join(","));
    assert.ok(calls.includes("mod.load"), calls.join(","));
    await s.req(`/v1/sessions/${se.id}`, { method: "DELETE", key: t.apiKey });
    const gone = await s.req(`/v1/sessions/${se.id}/files/out.txt`, { key: t.apiKey });
    assert.equal(gone.status, 404);
  });
});

Deno.test("sessions: PATCH extends the TTL and replaces labels; restart gives a fresh context; a TTL ends it", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey, { ttlMs: 60_000, labels: { a: "1" } });
    const before = await (await s.req(`/v1/sessions/${se.id}`, { key: t.apiKey })).json();
    const patched = await s.req(`/v1/sessions/${se.id}`, {
      method: "PATCH",
      key: t.apiKey,
      json: { ttlMs: 120_000, labels: { b: "2" } },
    });
    assert.equal(patched.status, 200);
    const after = await patched.json();
    assert.equal(Date.parse(after.expiresAt) - Date.parse(before.expiresAt), 60_000);
    assert.deepEqual(after.labels, { b: "2" });
    await exec(s, t.apiKey, se.id, { code: `var x = 1` });
    const restarted = await (await s.req(`/v1/sessions/${se.id}/restart`, { method: "POST", key: t.apiKey })).json();
    assert.deepEqual([restarted.executionCount, restarted.restarts], [0, 1]);
    assert.equal((await exec(s, t.apiKey, se.id, { code: `typeof x` })).result, "undefined");
    const short = await open(s, t.apiKey, { ttlMs: 1000 });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const info = await (await s.req(`/v1/sessions/${short.id}`, { key: t.apiKey })).json();
      if (info.state === "ended") {
        assert.equal(info.reason, "ttl");
        break;
      }
      assert.ok(Date.now() < deadline, "the session outlived its TTL");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

Deno.test("sessions: a cell over the session's total CPU loses the context, and the next cell runs in a fresh one", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const se = await open(s, t.apiKey, { limits: { cpuMs: 300 } });
    const spin = await exec(s, t.apiKey, se.id, { code: `while (true) {}`, timeoutMs: 60_000 });
    assert.equal(spin.stateLost, true);
    assert.equal(spin.interrupted, null);
    assert.match(spin.error.message, /cpu/);
    assert.equal((await exec(s, t.apiKey, se.id, { code: `40 + 2` })).result, 42);
  });
});
