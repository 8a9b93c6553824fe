/**
 * Volumes through a real server and real cells: create/list/delete, two
 * agents sharing one (A writes, B reads), read-only mounts, quotas, a
 * mounted volume that cannot be deleted, other tenants' volumes, and a
 * volume that survives a restart of a real server process.
 */
import assert from "node:assert/strict";
import { createTenant, type TestServer, withServer } from "./helpers.ts";
import { withDataDir, withServerProcess } from "../reliability/helpers.ts";

const rw = ["fs.read", "fs.write"];

async function json(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
}

async function createVolume(s: TestServer, key: string, body: Record<string, unknown>) {
  const res = await s.req("/v1/volumes", { method: "POST", key, json: body });
  return { status: res.status, body: await json(res) };
}

/** Run `code` to completion with `volumes` mounted; returns the final record. */
async function run(s: TestServer, key: string, code: string, volumes: unknown[], extra: Record<string, unknown> = {}) {
  const res = await s.req("/v1/agents", {
    method: "POST",
    key,
    json: { code, capabilities: rw, volumes, wait: true, ...extra },
  });
  const body = await json(res);
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

/** Wait (bounded) until no running agent mounts `name`. */
async function untilUnmounted(s: TestServer, key: string, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const v = await json(await s.req(`/v1/volumes/${name}`, { key }));
    if (v.mounts === 0) return;
    if (Date.now() > deadline) throw new Error(`volume ${name} still mounted after 10 s: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("volumes: create, list, get, delete; duplicate 409; bad input 400; another tenant's 404", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "vol-a");
    const b = await createTenant(s, "vol-b");
    const made = await createVolume(s, a.apiKey, { name: "data", quotaBytes: 1 << 20, quotaFiles: 10 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.deepEqual(
      { ...made.body, createdAt: undefined },
      {
        name: "data",
        quotaBytes: 1 << 20,
        quotaFiles: 10,
        usedBytes: 0,
        usedFiles: 0,
        createdAt: undefined,
        mounts: 0,
      },
    );
    const dup = await createVolume(s, a.apiKey, { name: "data" });
    assert.equal(dup.status, 409);
    assert.equal((dup.body.error as { code: string }).code, "volume_exists");
    for (const name of ["../x", "A", "", ".hidden", "x".repeat(64), "a/b", "a\u0000"]) {
      assert.equal((await createVolume(s, a.apiKey, { name })).status, 400, name);
    }
    assert.equal((await createVolume(s, a.apiKey, { name: "q", quotaBytes: -1 })).status, 400);
    // The same name in another tenant is another volume; a's is a 404 for b.
    assert.equal((await createVolume(s, b.apiKey, { name: "data" })).status, 201);
    assert.equal((await s.req("/v1/volumes/other", { key: a.apiKey })).status, 404);
    const list = await json(await s.req("/v1/volumes", { key: a.apiKey }));
    assert.deepEqual((list.volumes as { name: string }[]).map((v) => v.name), ["data"]);
    assert.equal((await s.req("/v1/volumes/data", { method: "DELETE", key: a.apiKey })).status, 200);
    assert.equal((await s.req("/v1/volumes/data", { key: a.apiKey })).status, 404);
    assert.equal((await s.req("/v1/volumes/data", { key: b.apiKey })).status, 200, "b's volume is untouched");
    for (const action of ["volume.created", "volume.deleted"]) {
      const audit = await json(await s.req(`/v1/audit?action=${action}`, { key: a.apiKey }));
      assert.deepEqual((audit.records as { subject: string }[]).map((r) => r.subject), ["data"], action);
    }
  });
});

Deno.test("volumes: two agents share one (A writes, B reads); read-only refuses writes; usage; delete while mounted 409", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "vol-share");
    assert.equal((await createVolume(s, t.apiKey, { name: "shared" })).status, 201);
    const a = await run(
      s,
      t.apiKey,
      `export default async () => {
        await sys.fs.mkdir("data/sub", { recursive: true });
        await sys.fs.writeText("data/sub/note.txt", "from A");
        return (await sys.fs.readDir("."))?.map((e) => e.name);
      }`,
      [{ name: "shared", path: "data" }],
    );
    assert.equal(a.reason, "exit", JSON.stringify(a));
    assert.deepEqual(a.result, ["data"], "the mount point is listed in the workspace");
    const b = await run(
      s,
      t.apiKey,
      `export default async () => {
        const text = await sys.fs.readText("in/sub/note.txt");
        let write = "ok";
        try { await sys.fs.writeText("in/new.txt", "x"); } catch (e) { write = e.code + ": " + e.message; }
        let rename = "ok";
        try { await sys.fs.rename("in/sub/note.txt", "mine.txt"); } catch (e) { rename = e.code; }
        let escape = "ok";
        try { await sys.fs.readText("in/../../x"); } catch (e) { escape = e.code; }
        return { text, write, rename, escape };
      }`,
      [{ name: "shared", path: "in", readOnly: true }],
    );
    const result = b.result as Record<string, string>;
    assert.equal(result.text, "from A");
    assert.match(result.write, /^EROFS: .*shared.*readOnly/);
    assert.equal(result.rename, "EROFS");
    assert.equal(result.escape, "EACCES");
    // Across a mount boundary (read-write) rename is EXDEV.
    const c = await run(
      s,
      t.apiKey,
      `export default async () => {
        await sys.fs.writeText("local.txt", "x");
        try { await sys.fs.rename("local.txt", "data/local.txt"); return "ok"; } catch (e) { return e.code; }
      }`,
      [{ name: "shared", path: "data" }],
    );
    assert.equal(c.result, "EXDEV");
    await untilUnmounted(s, t.apiKey, "shared");
    const v = await json(await s.req("/v1/volumes/shared", { key: t.apiKey }));
    assert.equal(v.usedFiles, 2, "sub/ and sub/note.txt");
    assert.equal(v.usedBytes, 4096 + "from A".length);
    // A running agent mounts it: delete is 409 volume_in_use.
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: "export default () => new Promise(() => {})", volumes: [{ name: "shared", path: "d" }] },
    });
    const live = await json(res);
    assert.equal(res.status, 201, JSON.stringify(live));
    const refused = await s.req("/v1/volumes/shared", { method: "DELETE", key: t.apiKey });
    assert.equal(refused.status, 409);
    assert.equal(((await json(refused)).error as { code: string }).code, "volume_in_use");
    await s.req(`/v1/agents/${live.id}`, { method: "DELETE", key: t.apiKey });
    await untilUnmounted(s, t.apiKey, "shared");
    assert.equal((await s.req("/v1/volumes/shared", { method: "DELETE", key: t.apiKey })).status, 200);
  });
});

Deno.test("volumes: spawn refuses bad mounts and other tenants' volumes (400, nothing runs)", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "vol-m-a");
    const b = await createTenant(s, "vol-m-b");
    assert.equal((await createVolume(s, a.apiKey, { name: "mine" })).status, 201);
    const spawn = (key: string, volumes: unknown) =>
      s.req("/v1/agents", { method: "POST", key, json: { code: "export default () => 1", volumes, wait: true } });
    for (
      const volumes of [
        [{ name: "mine", path: "../x" }],
        [{ name: "mine", path: "/abs" }],
        [{ name: "mine", path: "." }],
        [{ name: "mine", path: "a" }, { name: "mine", path: "a/b" }],
        [{ name: "nope", path: "a" }],
        Array.from({ length: 9 }, (_, i) => ({ name: "mine", path: `m${i}` })),
      ]
    ) {
      const res = await spawn(a.apiKey, volumes);
      assert.equal(res.status, 400, `${JSON.stringify(volumes).slice(0, 80)}: ${await res.text()}`);
    }
    const other = await spawn(b.apiKey, [{ name: "mine", path: "a" }]);
    assert.equal(other.status, 400);
    assert.match(await other.text(), /no volume/);
  });
});

Deno.test("volumes: quota — an agent's write over it is ENOSPC, nothing partial; charged to the volume, not the agent", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "vol-quota");
    assert.equal((await createVolume(s, t.apiKey, { name: "small", quotaBytes: 10_000, quotaFiles: 3 })).status, 201);
    const r = await run(
      s,
      t.apiKey,
      `export default async () => {
        await sys.fs.writeText("v/a.txt", "x".repeat(6000));
        let big = "ok";
        try { await sys.fs.writeText("v/b.txt", "y".repeat(6000)); } catch (e) { big = e.code + ": " + e.message; }
        let list = (await sys.fs.readDir("v")).map((e) => e.name);
        return { big, list };
      }`,
      [{ name: "small", path: "v" }],
    );
    const result = r.result as { big: string; list: string[] };
    assert.match(result.big, /^ENOSPC: .*volume small: quota of 10000 bytes/);
    assert.deepEqual(result.list, ["a.txt"], "nothing of the refused write is visible");
    await untilUnmounted(s, t.apiKey, "small");
    const v = await json(await s.req("/v1/volumes/small", { key: t.apiKey }));
    assert.equal(v.usedBytes, 6000);
    assert.equal(v.usedFiles, 1);
  });
});

Deno.test("volumes: a volume survives a restart of a real server process (files, usage, quota)", async () => {
  await withDataDir(async (dataDir) => {
    let key = "";
    await withServerProcess({ dataDir, poolSize: 1 }, async (server) => {
      key = (await server.tenant("vol-restart")).apiKey;
      const made = await server.req("/v1/volumes", { method: "POST", key, json: { name: "keep", quotaFiles: 50 } });
      assert.equal(made.status, 201, await made.text());
      const put = await server.req("/v1/volumes/keep/files/dir/a.bin", {
        method: "PUT",
        key,
        body: new Uint8Array([1, 2, 3, 4, 5]),
      });
      assert.equal(put.status, 201, await put.text());
      const spawned = await server.req("/v1/agents", {
        method: "POST",
        key,
        json: {
          code: `export default async () => { await sys.fs.writeText("k/from-agent.txt", "agent"); }`,
          capabilities: rw,
          volumes: [{ name: "keep", path: "k" }],
          wait: true,
        },
      });
      assert.equal(spawned.status, 200, await spawned.text());
    });
    await withServerProcess({ dataDir, poolSize: 1 }, async (server) => {
      const v = await (await server.req("/v1/volumes/keep", { key })).json();
      assert.deepEqual([v.quotaFiles, v.usedFiles, v.usedBytes], [50, 3, 4096 + 5 + 5]);
      const got = await server.req("/v1/volumes/keep/files/dir/a.bin", { key });
      assert.deepEqual(new Uint8Array(await got.arrayBuffer()), new Uint8Array([1, 2, 3, 4, 5]));
      const r = await server.req("/v1/agents", {
        method: "POST",
        key,
        json: {
          code: `export default async () => await sys.fs.readText("k/from-agent.txt")`,
          capabilities: rw,
          volumes: [{ name: "keep", path: "k" }],
          wait: true,
        },
      });
      assert.equal((await r.json()).result, "agent");
    });
  });
});
