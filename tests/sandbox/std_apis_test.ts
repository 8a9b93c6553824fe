/**
 * Standard APIs over syscalls, through real cells: LLM-style programs that
 * call the global `fetch`, `Deno.readTextFile` and friends and `console.*`
 * work unchanged, with the kernel's checks and actionable messages.
 */
import assert from "node:assert/strict";
import { reservedRequestHeaders } from "../../sandbox/net/mod.ts";
import { preludeFetchDropped } from "../../sandbox/cell/prelude/std_fetch.ts";
import { withRuntime } from "../helpers.ts";
import type { Runtime } from "../../sandbox/runtime.ts";

/** A 127.0.0.1 server: `/text`, `/json`, `POST /echo` (JSON back with the request's content type). */
async function withServer(fn: (base: string, port: number) => Promise<void>): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/text") return new Response("hello from the server", { headers: { "x-kind": "text" } });
    if (path === "/json") return Response.json({ items: [1, 2, 3], ok: true });
    if (path === "/missing") return new Response("nope", { status: 404, statusText: "Not Found" });
    if (path === "/echo" && req.method === "POST") {
      return Response.json({ body: await req.json(), type: req.headers.get("content-type") }, { status: 201 });
    }
    return new Response("?", { status: 400 });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, server.addr.port);
  } finally {
    await server.shutdown();
  }
}

/** The tenant's policy opening 127.0.0.1:`port` to `net.fetch` (as an admin would set it). */
function openLoopback(runtime: Runtime, tenant: string, port: number): void {
  runtime.policy.setTenant(tenant, {
    version: 1,
    rules: [
      { effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.1/32"], ports: [port] },
      { effect: "allow", calls: ["io.write", "time.now", "fs.*"] },
    ],
  });
}

Deno.test("std apis: the global fetch returns a real Response (text, JSON, POST with a JSON body, 404)", async () => {
  await withServer(async (base, port) => {
    await withRuntime(async (runtime) => {
      openLoopback(runtime, "web", port);
      const r = await runtime.run({
        tenant: "web",
        capabilities: ["net.fetch"],
        code: `export default async () => {
          const res = await fetch("${base}/text");
          const text = await res.text();
          const data = await (await fetch(new URL("${base}/json"))).json();
          const post = await fetch(new Request("${base}/echo", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ name: "agent", n: 2 }),
          }));
          const missing = await fetch("${base}/missing");
          const buf = await (await fetch("${base}/text")).arrayBuffer();
          const blob = await (await fetch("${base}/text")).blob();
          const streamed = await new Response((await fetch("${base}/text")).body).text();
          return {
            text, status: res.status, ok: res.ok, kind: res.headers.get("x-kind"),
            isResponse: res instanceof Response, isHeaders: res.headers instanceof Headers, url: res.url,
            data, post: { status: post.status, json: await post.json() },
            missing: { status: missing.status, statusText: missing.statusText, ok: missing.ok },
            bytes: buf.byteLength, blob: blob.size, streamed,
          };
        }`,
      });
      assert.equal(r.reason, "exit", r.message);
      assert.deepEqual(r.result, {
        text: "hello from the server",
        status: 200,
        ok: true,
        kind: "text",
        isResponse: true,
        isHeaders: true,
        url: `${base}/text`,
        data: { items: [1, 2, 3], ok: true },
        post: { status: 201, json: { body: { name: "agent", n: 2 }, type: "application/json" } },
        missing: { status: 404, statusText: "Not Found", ok: false },
        bytes: 21,
        blob: 21,
        streamed: "hello from the server",
      });
    });
  });
});

Deno.test("std apis: fetch bodies (string, stream), abort, and actionable refusals", async () => {
  await withServer(async (base, port) => {
    await withRuntime(async (runtime) => {
      openLoopback(runtime, "web", port);
      const program = `export default async () => {
        const out = {};
        const grab = async (name, fn) => {
          try { out[name] = await fn(); }
          catch (e) { out[name] = { name: e.name, message: e.message, code: e.code, cause: e.cause?.code }; }
        };
        await grab("stringBody", async () => (await (await fetch("${base}/echo", {
          method: "POST", body: JSON.stringify({ via: "stream" }),
        })).json()).type);
        await grab("stream", async () => (await (await fetch("${base}/echo", {
          method: "POST", headers: { "content-type": "application/json" },
          body: new Blob([JSON.stringify({ via: "blob" })]).stream(),
        })).json()).body);
        await grab("aborted", () => { const c = new AbortController(); c.abort(); return fetch("${base}/text", { signal: c.signal }); });
        await grab("closedPort", () => fetch("http://127.0.0.1:${port + 1}/"));
        await grab("otherLoopback", () => fetch("http://127.0.0.2:${port}/"));
        return out;
      }`;
      const r = await runtime.run({ tenant: "web", capabilities: ["net.fetch"], code: program });
      assert.equal(r.reason, "exit", r.message);
      const out = r.result as Record<string, { name: string; message: string; code: string; cause: string }>;
      assert.equal(out.stringBody, "text/plain;charset=UTF-8");
      assert.deepEqual(out.stream, { via: "blob" });
      assert.equal(out.aborted.name, "AbortError");
      // A port the tenant's rule does not name: a policy denial that shows a rule that would allow it.
      assert.deepEqual([out.closedPort.name, out.closedPort.code, out.closedPort.cause], [
        "TypeError",
        "EPERM",
        "EPERM",
      ]);
      assert.match(out.closedPort.message, /^net\.fetch: GET 127\.0\.0\.1:\d+ denied by policy rule default-deny/);
      assert.match(out.closedPort.message, /"calls":\["net\.fetch"\],"hosts":\["127\.0\.0\.1\/32"\],"ports":\[\d+\]/);
      // Another loopback address: the policy check names the CIDR rule and the server's knob.
      assert.equal(out.otherLoopback.code, "EPERM");
      assert.match(out.otherLoopback.message, /"hosts":\["127\.0\.0\.2\/32"\]/);
      assert.match(out.otherLoopback.message, /AGENTOS_EGRESS_HOSTS including 127\.0\.0\.2$/);

      // A tenant whose policy allows every host but names no CIDR: loopback stays closed, and the refusal says why.
      runtime.policy.setTenant("wide", {
        version: 1,
        rules: [{ effect: "allow", calls: ["net.fetch", "io.write", "time.now"], hosts: ["*"] }],
      });
      const wide = await runtime.run({
        tenant: "wide",
        capabilities: ["net.fetch"],
        code: `export default () => fetch("${base}/text").then(() => "fetched", (e) => [e.name, e.code, e.message])`,
      });
      assert.deepEqual(wide.result, [
        "TypeError",
        "EPERM",
        "net.fetch: egress to 127.0.0.1 (a loopback address) needs a tenant policy rule allowing 127.0.0.1/32 " +
        "for net.fetch (set by an admin with PUT /v1/tenants/:id/policy; an agent's own policy cannot open it) " +
        "and the server started with AGENTOS_EGRESS_HOSTS including 127.0.0.1",
      ]);

      const noCap = await runtime.run({ tenant: "web", code: program });
      const denied = (noCap.result as Record<string, { name: string; message: string; code: string }>).closedPort;
      assert.equal(denied.name, "TypeError");
      assert.equal(denied.code, "EACCES");
      assert.equal(denied.message, 'net.fetch: net.fetch not granted: spawn with capabilities ["net.fetch"]');
      for (const text of [JSON.stringify(r.result), JSON.stringify(noCap.result)]) {
        assert.ok(!text.includes("--allow"), `a Deno flag reached the agent: ${text}`);
      }
    });
  });
});

Deno.test("std apis: Deno file APIs round-trip in the workspace; errors are Deno.errors with the errno", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      capabilities: ["fs.read", "fs.write"],
      code: `export default async () => {
        const out = {};
        await Deno.mkdir("data/raw", { recursive: true });
        await Deno.writeTextFile("data/raw/notes.txt", "line 1\\n");
        await Deno.writeTextFile("/workspace/data/raw/notes.txt", "line 2\\n", { append: true });
        out.text = await Deno.readTextFile(new URL("file:///workspace/data/raw/notes.txt"));
        await Deno.writeFile("data/bin", new Uint8Array([0, 255, 1]));
        await Deno.writeFile("data/bin", new Uint8Array([254]), { append: true });
        out.bytes = [...await Deno.readFile("data/bin")];
        const info = await Deno.stat("data/raw/notes.txt");
        out.stat = { isFile: info.isFile, isDirectory: info.isDirectory, size: info.size, mtime: info.mtime instanceof Date };
        out.dirStat = (await Deno.lstat("data")).isDirectory;
        out.entries = [];
        for await (const e of Deno.readDir("data")) out.entries.push(e);
        await Deno.rename("data/raw/notes.txt", "data/notes.txt");
        out.afterRename = (await Array.fromAsync(Deno.readDir("data"))).map((e) => e.name);
        await Deno.remove("data/raw");
        await Deno.remove("data", { recursive: true });
        out.cwd = Deno.cwd();
        const fail = async (name, fn) => {
          try { await fn(); out[name] = "succeeded"; }
          catch (e) { out[name] = { name: e.name, code: e.code, message: e.message, notFound: e instanceof Deno.errors.NotFound }; }
        };
        await fail("missing", () => Deno.readTextFile("no/such.txt"));
        await fail("missingDir", () => Array.fromAsync(Deno.readDir("nowhere")));
        await fail("escape", () => Deno.readTextFile("../outside.txt"));
        await fail("escapeViaRoot", () => Deno.readTextFile("/workspace/../outside.txt"));
        await fail("absolute", () => Deno.readTextFile("/etc/passwd"));
        await fail("noCreate", () => Deno.writeTextFile("new.txt", "x", { create: false }));
        await Deno.writeTextFile("once.txt", "1");
        await fail("createNew", () => Deno.writeTextFile("once.txt", "2", { createNew: true }));
        await Deno.mkdir("d");
        await fail("mkdirTwice", () => Deno.mkdir("d"));
        await fail("readDirAsFile", () => Deno.readTextFile("d"));
        await fail("sync", () => Deno.readTextFileSync("once.txt"));
        return out;
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as Record<string, unknown>;
    assert.equal(out.text, "line 1\nline 2\n");
    assert.deepEqual(out.bytes, [0, 255, 1, 254]);
    assert.deepEqual(out.stat, { isFile: true, isDirectory: false, size: 14, mtime: true });
    assert.equal(out.dirStat, true);
    assert.deepEqual(out.entries, [
      { name: "bin", isFile: true, isDirectory: false, isSymlink: false },
      { name: "raw", isFile: false, isDirectory: true, isSymlink: false },
    ]);
    assert.deepEqual(out.afterRename, ["bin", "notes.txt", "raw"]);
    assert.equal(out.cwd, "/workspace");
    const err = (name: string) => out[name] as { name: string; code: string; message: string; notFound: boolean };
    assert.deepEqual(err("missing"), {
      name: "NotFound",
      code: "ENOENT",
      message: "fs.readText: no such file or directory (Deno.readTextFile 'no/such.txt')",
      notFound: true,
    });
    assert.equal(err("missingDir").notFound, true);
    for (const name of ["escape", "escapeViaRoot", "absolute"]) {
      assert.deepEqual([err(name).name, err(name).code], ["PermissionDenied", "EACCES"], name);
    }
    assert.match(err("escape").message, /^fs\.readText: path escapes the workspace/);
    assert.match(err("absolute").message, /paths are relative to the workspace/);
    assert.deepEqual([err("noCreate").name, err("noCreate").code], ["NotFound", "ENOENT"]);
    assert.deepEqual([err("createNew").name, err("createNew").code], ["AlreadyExists", "EEXIST"]);
    assert.deepEqual([err("mkdirTwice").name, err("mkdirTwice").code], ["AlreadyExists", "EEXIST"]);
    assert.deepEqual([err("readDirAsFile").name, err("readDirAsFile").code], ["IsADirectory", "EISDIR"]);
    assert.equal(err("sync").name, "NotSupported");
    assert.match(err("sync").message, /use await Deno\.readTextFile/);
  });
});

Deno.test("std apis: Deno file APIs without the capability say which capability to grant", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
        try { await Deno.writeTextFile("x.txt", "x"); return "written"; }
        catch (e) { return { name: e.name, code: e.code, message: e.message }; }
      }`,
    });
    assert.deepEqual(r.result, {
      name: "PermissionDenied",
      code: "EACCES",
      message: `fs.writeText: fs.write not granted: spawn with capabilities ["fs.write"] (Deno.writeTextFile 'x.txt')`,
    });
  });
});

/** What `deno run` prints for `source` (the reference the captured console must match). */
async function denoPrints(source: string): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const { stdout, stderr } = await out.output();
  return { stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}

Deno.test("std apis: console.table/count/group/assert/dir/printf print what Deno prints", async () => {
  const program = `
    console.table([{ a: 1, b: "x" }, { a: 2 }]);
    console.table({ x: { a: 1 }, y: { b: "two" } });
    console.table([1, "two", { a: 3 }]);
    console.table([[1, 2], [3]]);
    console.table([{ a: 1, b: 2 }], ["a"]);
    console.table(new Map([["k", { v: 1 }]]));
    console.table(new Set(["s"]));
    console.table([{ name: "日本", n: 10 }, { name: "é\\n", n: 2.5 }]);
    console.table(7);
    console.count(); console.count("x"); console.count(); console.countReset(); console.count();
    console.countReset("nope");
    console.group("outer");
    console.log("inside\\nsecond line");
    console.group();
    console.log({ a: 1, nested: { b: [1, 2, 3] } });
    console.table([{ a: 1 }]);
    console.groupEnd();
    console.warn("warned in a group");
    console.groupEnd();
    console.groupEnd();
    console.log("out");
    console.log("%s is %d years and %i, %f, %o %O %c|%%|%x", "Ann", "42", 3.9, "2.5", [1], { z: 1 }, "color: red", "extra", { q: 1 });
    console.log("100%", 5, null, undefined, 1n, Symbol("s"), [1, "a"], new Map([[1, 2]]));
    console.log({ a: { b: { c: { d: { e: { f: 1 } } } } } });
    console.assert(true, "never");
    console.assert(false, "boom %s", "here", 1);
    console.assert(false);
    console.assert(false, { a: 1 });
    console.dir({ a: { b: 1 } });
    console.dir("plain");
    console.dirxml("x", 1);
    console.debug("debug"); console.info("info"); console.error("error");
    console.timeEnd("never-started");
    console.time("t"); console.time("t");
    console.log();
  `;
  const want = await denoPrints(program);
  await withRuntime(async (runtime) => {
    const r = await runtime.run({ code: program });
    assert.equal(r.reason, "exit", r.message);
    assert.equal(r.stdout, want.stdout);
    assert.equal(r.stderr, want.stderr);
  });
});

Deno.test("std apis: console.time/timeLog/timeEnd and trace", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `console.time("load"); console.timeLog("load", "halfway", 1); console.timeEnd("load"); console.time();
             console.timeEnd(); console.trace("here", 2);`,
    });
    assert.equal(r.reason, "exit", r.message);
    assert.match(r.stdout, /^load: \d+(\.\d+)?ms halfway 1\nload: \d+(\.\d+)?ms\ndefault: \d+(\.\d+)?ms\n$/);
    assert.match(r.stderr, /^Trace: here 2\n {4}at /);
  });
});

Deno.test("std apis: the global fetch drops every header the kernel reserves", () => {
  const dropped = new Set(preludeFetchDropped());
  for (const name of reservedRequestHeaders) assert.ok(dropped.has(name), `fetch would send reserved header ${name}`);
});

Deno.test("std apis: host APIs no syscall serves say what to use instead, never a Deno flag", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
  const out = {};
  const tries = {
    command: () => new Deno.Command("ls").outputSync(),
    env: () => Deno.env.get("HOME"),
    connect: () => Deno.connect({ port: 80 }),
    serve: () => Deno.serve(() => new Response("x")),
    webSocket: () => new WebSocket("ws://127.0.0.1:1"),
    dns: () => Deno.resolveDns("example.com", "A"),
  };
  for (const [name, fn] of Object.entries(tries)) {
    try { await fn(); out[name] = "ran"; } catch (e) { out[name] = e.name + ": " + e.message; }
  }
  return out;
}`,
    });
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as Record<string, string>;
    assert.match(out.command, /^NotCapable: Deno\.Command is not available in the sandbox: .*sys\.proc\.spawn/);
    assert.match(out.env, /^NotCapable: Deno\.env is not available in the sandbox/);
    assert.match(out.connect, /net\.fetch/);
    assert.match(out.serve, /sys\.ipc/);
    assert.match(out.webSocket, /^NotCapable: WebSocket is not available/);
    assert.match(out.dns, /^NotCapable: Deno\.resolveDns/);
    for (const [name, text] of Object.entries(out)) assert.doesNotMatch(text, /--allow/, name);
  });
});
