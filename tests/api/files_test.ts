/**
 * The files API through a real server: volumes' and running agents' files —
 * a 5 MiB binary upload and its download (whole and by `Range`), listings
 * with sizes and mtimes, the same confinement as agent syscalls (`../`,
 * absolute, NUL, symlinks out), quotas and size caps with nothing partial
 * left, ended and other tenants' agents, and base64 files in a spawn.
 */
import assert from "node:assert/strict";
import { createTenant, type TestServer, withServer } from "./helpers.ts";

async function volume(s: TestServer, key: string, name: string, extra: Record<string, number> = {}) {
  const res = await s.req("/v1/volumes", { method: "POST", key, json: { name, ...extra } });
  assert.equal(res.status, 201, await res.text());
}

async function errorCode(res: Response): Promise<string> {
  const body = await res.json();
  return body.error?.code;
}

/** Send a raw request head and read the answer's first bytes (the status line and a bit of the body). */
async function rawStatus(s: TestServer, request: string): Promise<string> {
  const port = Number(new URL(s.url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(4096);
    const deadline = AbortSignal.timeout(10_000);
    while (!text.includes("}") && !deadline.aborted) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

/** Poll (bounded) until `fn` answers something other than undefined. */
async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("files: 5 MiB binary upload, download whole and by Range (206, 416), list with sizes and mtimes", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "files-big");
    await volume(s, t.apiKey, "big");
    const data = new Uint8Array(5 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    const put = await s.req("/v1/volumes/big/files/out/blob.bin", { method: "PUT", key: t.apiKey, body: data });
    assert.equal(put.status, 201, await put.text());
    const whole = await s.req("/v1/volumes/big/files/out/blob.bin", { key: t.apiKey });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get("content-type"), "application/octet-stream");
    assert.equal(whole.headers.get("content-length"), String(data.length));
    assert.ok(whole.headers.get("etag") && whole.headers.get("last-modified"));
    assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), data);
    const ranges: [string, number, number][] = [
      ["bytes=100-199", 100, 199],
      [`bytes=${data.length - 10}-`, data.length - 10, data.length - 1],
      ["bytes=-4096", data.length - 4096, data.length - 1],
      [`bytes=5-${data.length * 2}`, 5, data.length - 1],
    ];
    for (const [header, first, last] of ranges) {
      const res = await s.req("/v1/volumes/big/files/out/blob.bin", { key: t.apiKey, headers: { range: header } });
      assert.equal(res.status, 206, header);
      assert.equal(res.headers.get("content-range"), `bytes ${first}-${last}/${data.length}`);
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), data.subarray(first, last + 1), header);
    }
    for (const header of [`bytes=${data.length}-`, "bytes=-0", "bytes=9-3", "items=1-2", "bytes=1-2,4-5"]) {
      const res = await s.req("/v1/volumes/big/files/out/blob.bin", { key: t.apiKey, headers: { range: header } });
      assert.equal(res.status, 416, header);
      assert.equal(res.headers.get("content-range"), `bytes */${data.length}`);
      await res.body?.cancel();
    }
    await s.req("/v1/volumes/big/files/notes.txt", { method: "PUT", key: t.apiKey, body: "hello" });
    const text = await s.req("/v1/volumes/big/files/notes.txt", { key: t.apiKey });
    assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await text.text(), "hello");
    const list = await (await s.req("/v1/volumes/big/files?dir=.", { key: t.apiKey })).json();
    assert.deepEqual(
      list.entries.map((e: { name: string; size: number; isDirectory: boolean }) => [e.name, e.size, e.isDirectory]),
      [
        ["notes.txt", 5, false],
        ["out", 0, true],
      ],
    );
    for (const e of list.entries) assert.ok(Date.now() - Date.parse(e.mtime) < 600_000, e.mtime);
    const sub = await (await s.req("/v1/volumes/big/files?dir=out", { key: t.apiKey })).json();
    assert.deepEqual(sub.entries.map((e: { name: string; size: number }) => [e.name, e.size]), [[
      "blob.bin",
      data.length,
    ]]);
    const asDir = await (await s.req("/v1/volumes/big/files/out", { key: t.apiKey })).json();
    assert.equal(asDir.entries.length, 1, "GET of a directory lists it");
    // Delete: a non-empty directory needs recursive=true.
    assert.equal(
      await errorCode(await s.req("/v1/volumes/big/files/out", { method: "DELETE", key: t.apiKey })),
      "directory_not_empty",
    );
    assert.equal(
      (await s.req("/v1/volumes/big/files/out?recursive=true", { method: "DELETE", key: t.apiKey })).status,
      200,
    );
    const v = await (await s.req("/v1/volumes/big", { key: t.apiKey })).json();
    assert.deepEqual([v.usedBytes, v.usedFiles], [5, 1]);
  });
});

Deno.test("files: refuses ../, absolute, NUL and symlink paths (403), like agent syscalls", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "files-escape");
    await volume(s, t.apiKey, "v");
    const canary = `${s.dataDir}/canary.txt`;
    await Deno.writeTextFile(canary, "secret");
    const root = `${s.dataDir}/volumes/${t.id}/v`;
    await Deno.symlink(s.dataDir, `${root}/link`);
    await Deno.symlink(canary, `${root}/file-link`);
    const paths = [
      "%2e%2e%2fcanary.txt",
      "..%2F..%2Fcanary.txt",
      "a%2f%2e%2e%2f%2e%2e%2fcanary.txt",
      "%2Fetc%2Fpasswd",
      "/etc/passwd",
      "ok%00.txt",
      "link/canary.txt",
      "file-link",
      "link",
    ];
    for (const p of paths) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const res = await s.req(`/v1/volumes/v/files/${p}`, {
          method,
          key: t.apiKey,
          body: method === "PUT" ? "pwned" : undefined,
        });
        assert.equal(res.status, 403, `${method} ${p}: ${res.status}`);
        assert.equal(await errorCode(res), "path_forbidden", `${method} ${p}`);
      }
    }
    const listed = await s.req("/v1/volumes/v/files?dir=..", { key: t.apiKey });
    assert.equal(listed.status, 403);
    assert.equal(await Deno.readTextFile(canary), "secret");
    const bad = await s.req("/v1/volumes/v/files/%E0%A4%A", { key: t.apiKey });
    assert.equal(bad.status, 400);
  });
});

Deno.test("files: uploads over the quota (413 quota_exceeded) or the size cap (413 file_too_large) leave nothing", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "files-quota");
    await volume(s, t.apiKey, "q", { quotaBytes: 100_000 });
    const over = await s.req("/v1/volumes/q/files/big.bin", {
      method: "PUT",
      key: t.apiKey,
      body: new Uint8Array(200_000),
    });
    assert.equal(over.status, 413);
    assert.equal(await errorCode(over), "quota_exceeded");
    // Streamed without a length: counted as it arrives.
    const chunks = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < 4; i++) ctl.enqueue(new Uint8Array(40_000));
        ctl.close();
      },
    });
    const streamed = await s.req("/v1/volumes/q/files/streamed.bin", { method: "PUT", key: t.apiKey, body: chunks });
    assert.equal(streamed.status, 413);
    // A declared length over fileUploadBytesMax is refused from the head, before any body byte is read.
    const head = await rawStatus(
      s,
      `PUT /v1/volumes/q/files/huge.bin HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${t.apiKey}\r\n` +
        `content-length: ${65 * 1024 * 1024}\r\n\r\n`,
    );
    assert.match(head, /^HTTP\/1\.1 413[^]*file_too_large/);
    const list = await (await s.req("/v1/volumes/q/files", { key: t.apiKey })).json();
    assert.deepEqual(list.entries, [], "no partial or temporary file is visible");
    const names = [...Deno.readDirSync(`${s.dataDir}/volumes/${t.id}/q`)].map((e) => e.name);
    assert.deepEqual(names, [], "nothing left on disk either");
    const v = await (await s.req("/v1/volumes/q", { key: t.apiKey })).json();
    assert.deepEqual([v.usedBytes, v.usedFiles], [0, 0]);
    // A JSON body over 2 MiB elsewhere is still refused.
    const json = await s.req("/v1/volumes", { method: "POST", key: t.apiKey, json: { name: "x".repeat(3 << 20) } });
    assert.equal(json.status, 413);
  });
});

Deno.test("files: a running agent's workspace (and its mounts); ended → 409 agent_ended; another tenant's → 404; base64 spawn files", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "files-agent");
    const other = await createTenant(s, "files-other");
    await volume(s, t.apiKey, "m");
    const bytes = new Uint8Array([0, 255, 1, 254, 7]);
    const spawned = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: {
        code: `export default async () => {
          await sys.fs.writeText("out.txt", "made by the agent");
          await new Promise(() => {});
        }`,
        capabilities: ["fs.read", "fs.write"],
        files: { "seed.txt": "text", "bin/seed.bin": { base64: bytes.toBase64() } },
        volumes: [{ name: "m", path: "mnt", readOnly: true }],
      },
    });
    const spawnBody = await spawned.text();
    assert.equal(spawned.status, 201, spawnBody);
    const { id } = JSON.parse(spawnBody);
    const out = await until("out.txt", async () => {
      const res = await s.req(`/v1/agents/${id}/files/out.txt`, { key: t.apiKey });
      if (res.status === 200) return await res.text();
      await res.body?.cancel();
    });
    assert.equal(out, "made by the agent");
    const seeded = await s.req(`/v1/agents/${id}/files/bin/seed.bin`, { key: t.apiKey });
    assert.deepEqual(new Uint8Array(await seeded.arrayBuffer()), bytes);
    const put = await s.req(`/v1/agents/${id}/files/in.txt`, { method: "PUT", key: t.apiKey, body: "uploaded" });
    assert.equal(put.status, 201);
    const ro = await s.req(`/v1/agents/${id}/files/mnt/x.txt`, { method: "PUT", key: t.apiKey, body: "x" });
    assert.equal(ro.status, 403);
    assert.equal(await errorCode(ro), "read_only");
    const list = await (await s.req(`/v1/agents/${id}/files`, { key: t.apiKey })).json();
    assert.deepEqual(list.entries.map((e: { name: string }) => e.name), [
      "bin",
      "in.txt",
      "mnt",
      "out.txt",
      "seed.txt",
    ]);
    assert.equal((await s.req(`/v1/agents/${id}/files/out.txt`, { key: other.apiKey })).status, 404);
    await s.req(`/v1/agents/${id}`, { method: "DELETE", key: t.apiKey });
    await s.req(`/v1/agents/${id}/wait`, { key: t.apiKey }).then((r) => r.body?.cancel());
    const ended = await s.req(`/v1/agents/${id}/files/out.txt`, { key: t.apiKey });
    assert.equal(ended.status, 409);
    const body = await ended.json();
    assert.equal(body.error.code, "agent_ended");
    assert.match(body.error.message, /removed at exit/);
    for (
      const files of [{ "a.bin": { base64: "not base64!" } }, { "a.bin": { base64: "QQ" } }, { "a.bin": { hex: "00" } }]
    ) {
      const bad = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: { code: "export default () => 1", files },
      });
      assert.equal(bad.status, 400, JSON.stringify(files));
    }
  });
});
