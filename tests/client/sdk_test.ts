/**
 * The client SDK against a real server on 127.0.0.1: run, spawn + wait +
 * output + kill, sessions with streamed exec and files, volumes, admin
 * routes, and the typed errors.
 */
import assert from "node:assert/strict";
import {
  AgentOS,
  AgentOSError,
  BadRequest,
  Conflict,
  ConnectionError,
  Forbidden,
  NotFound,
  Unauthorized,
} from "../../client/mod.ts";
import { adminKey, createTenant, withServer } from "../api/helpers.ts";

Deno.test("sdk: run returns result, stdout and stderr", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-run");
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const done = await os.run(
      `export default async () => { console.log("out"); console.error("err"); return { n: 42 }; }`,
      { limits: { wallMs: 20_000 } },
    );
    assert.equal(done.reason, "exit");
    assert.equal(done.exitCode, 0);
    assert.deepEqual(done.result, { n: 42 });
    assert.equal(done.stdout, "out\n");
    assert.equal(done.stderr, "err\n");
    assert.match(done.id, /^ag_/);
    assert.equal(typeof done.usage?.cpuMs, "number");
    const ts = await os.run(`const n: number = 2; export default () => n * 3;`, { lang: "ts" });
    assert.equal(ts.result, 6);
    const seeded = await os.run(`export default () => sys.fs.readText("in.txt")`, {
      capabilities: ["fs.read"],
      files: { "in.txt": "seeded" },
    });
    assert.equal(seeded.result, "seeded");
  });
});

Deno.test("sdk: spawn, status, output, wait, kill, list", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-spawn");
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const sleeper = await os.spawn(`export default () => new Promise(() => {})`);
    assert.equal((await sleeper.status()).state, "Running");
    const { agents } = await os.agents.list({ state: "Running" });
    assert.ok(agents.some((a) => a.id === sleeper.id));
    const killed = await sleeper.kill();
    assert.equal(killed.killed, true);
    assert.equal((await sleeper.wait()).reason, "killed");
    const agent = await os.spawn(`console.log("a"); export default () => 1;`);
    const done = await agent.wait();
    assert.equal(done.result, 1);
    assert.deepEqual(await agent.output(), { id: agent.id, stdout: "a\n", stderr: "" });
    assert.equal((await os.agent(agent.id).status()).endedAt !== null, true);
  });
});

Deno.test("sdk: sessions exec with onStdout/onStderr callbacks, files upload/download/list", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-session");
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const session = await os.sessions.create({ capabilities: ["fs.read", "fs.write"], labels: { team: "ml" } });
    try {
      const out: string[] = [];
      const err: string[] = [];
      const answer = await session.exec(`console.log("a"); console.error("b"); console.log("c"); 6 * 7`, {
        onStdout: (chunk) => out.push(chunk),
        onStderr: (chunk) => err.push(chunk),
      });
      assert.equal(answer.result, 42);
      assert.equal(out.join(""), "a\nc\n");
      assert.equal(err.join(""), "b\n");
      assert.equal(answer.stdout, "a\nc\n");
      await session.exec(`var kept = 5`);
      assert.equal((await session.exec(`kept * 2`)).result, 10);
      const bytes = new Uint8Array([0, 1, 2, 255, 128]);
      assert.deepEqual(await session.files.upload("data/blob.bin", bytes), { path: "data/blob.bin", size: 5 });
      await session.files.upload("data/note.txt", "héllo");
      assert.deepEqual(await session.files.download("data/blob.bin"), bytes);
      assert.equal(await session.files.text("data/note.txt"), "héllo");
      const names = (await session.files.list("data")).map((e) => e.name).sort();
      assert.deepEqual(names, ["blob.bin", "note.txt"]);
      assert.equal((await session.exec(`await sys.fs.readText("data/note.txt")`)).result, "héllo");
      await assert.rejects(() => session.files.download("data/missing.txt"), NotFound);
      assert.deepEqual((await os.sessions.list({ label: "team=ml" })).map((x) => x.id), [session.id]);
      assert.deepEqual(await os.sessions.list({ label: "team=web" }), []);
      assert.equal((await os.sessions.get(session.id)).info.executionCount, 4);
    } finally {
      assert.equal((await session.close()).state, "ended");
    }
    await assert.rejects(() => session.exec("1"), (e) => e instanceof AgentOSError && e.status >= 400);
  });
});

Deno.test("sdk: a streamed exec's error is typed (busy session → Conflict, closed session → NotFound)", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-busy");
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const session = await os.sessions.create();
    const spinning = session.exec(`while (true) {}`, { timeoutMs: 60_000 });
    // Bounded: the cell is running once a second exec is refused as busy.
    let busy: unknown;
    for (let i = 0; i < 200 && busy === undefined; i++) {
      busy = await session.exec("1", { onStdout: () => {} }).then(() => undefined, (e) => e);
    }
    assert.ok(busy instanceof Conflict, String(busy));
    assert.equal(busy.code, "session_busy");
    assert.equal((await session.interrupt()).interrupted, true);
    assert.equal((await spinning).interrupted, "interrupt");
    await session.close();
    const gone = await session.exec("1", { onStdout: () => {} }).catch((e) => e);
    assert.ok(gone instanceof AgentOSError && gone.status >= 400, String(gone));
  });
});

Deno.test("sdk: typed errors carry the API's code", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk-errors");
    const wrong = new AgentOS({ url: s.url, apiKey: "tk_wrong_key" });
    const unauthorized = await wrong.run("1").catch((e) => e);
    assert.ok(unauthorized instanceof Unauthorized);
    assert.ok(unauthorized instanceof AgentOSError);
    assert.equal(unauthorized.status, 401);
    assert.equal(typeof unauthorized.code, "string");
    assert.notEqual(unauthorized.code, "");
    assert.equal(unauthorized.name, "Unauthorized");
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const missing = await os.agent("ag_nope").status().catch((e) => e);
    assert.ok(missing instanceof NotFound);
    assert.equal(missing.code, "not_found");
    const bad = await os.run("1", { limits: { wallMs: -5 } }).catch((e) => e);
    assert.ok(bad instanceof BadRequest);
    assert.equal(bad.code, "validation_failed");
    assert.match(bad.message, /wallMs/);
    const forbidden = await os.tenants.list().catch((e) => e);
    assert.ok(forbidden instanceof Forbidden, String(forbidden));
    const down = await new AgentOS({ url: "http://127.0.0.1:9", apiKey: "k" }).agents.list().catch((e) => e);
    assert.ok(down instanceof ConnectionError);
    assert.equal(down.code, "connection_failed");
    assert.throws(() => new AgentOS({ url: "127.0.0.1:8787", apiKey: "k" }), TypeError);
  });
});

Deno.test("sdk: volumes, policies and the admin routes", async () => {
  await withServer(async (s) => {
    const admin = new AgentOS({ url: s.url, apiKey: adminKey });
    const created = await admin.tenants.create({ name: "sdk-admin" });
    assert.ok((await admin.tenants.list()).some((x) => x.id === created.id));
    const patched = await admin.tenants.patch(created.id, { quotas: { agentsConcurrentMax: 3 } });
    assert.equal(patched.quotas.agentsConcurrentMax, 3);
    const rotated = await admin.tenants.rotateKey(created.id);
    assert.notEqual(rotated.apiKey, created.apiKey);
    const os = new AgentOS({ url: s.url, apiKey: rotated.apiKey });
    const volume = await os.volumes.create({ name: "data" });
    assert.equal(volume.name, "data");
    await os.volumes.files("data").upload("a/b.txt", "in a volume");
    assert.equal(await os.volumes.files("data").text("a/b.txt"), "in a volume");
    assert.deepEqual((await os.volumes.list()).map((v) => v.name), ["data"]);
    assert.equal((await os.volumes.get("data")).usedFiles, 2); // a/ and a/b.txt
    assert.deepEqual(await os.volumes.delete("data"), { name: "data", deleted: true });
    await assert.rejects(() => os.volumes.get("data"), NotFound);
    await admin.policies.putTenant(created.id, { version: 1, rules: [{ effect: "deny", calls: ["fs.*"] }] });
    const why = await os.policies.explain({ request: { call: "fs.readText", path: "x" } });
    assert.equal(why.effect, "deny", JSON.stringify(why));
    assert.deepEqual(await admin.packages.list(), []);
  });
});
