/**
 * The MCP server at /mcp against the real `@modelcontextprotocol/sdk`
 * client (Streamable HTTP): the seven tools and their schemas, run_code,
 * a session's whole flow with its files as resources, bad arguments as MCP
 * errors (never a crash), a wrong key, and another tenant's session.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types";
import { createTenant, type TestServer, withServer } from "./helpers.ts";

async function connect(s: TestServer, key: string): Promise<Client> {
  const client = new Client({ name: "mcp-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return await client.callTool({ name, arguments: args }) as CallToolResult;
}

function textOf(r: CallToolResult): string {
  return r.content.map((c) => c.type === "text" ? c.text : "").join("\n");
}

Deno.test("mcp: the seven tools are listed with their input schemas; the server names itself", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const client = await connect(s, t.apiKey);
    try {
      assert.equal(client.getServerVersion()?.name, "agentos");
      const { tools } = await client.listTools();
      const names = tools.map((x) => x.name).sort();
      assert.deepEqual(names, [
        "close_session",
        "create_session",
        "exec",
        "list_files",
        "read_file",
        "run_code",
        "write_file",
      ]);
      const byName = new Map(tools.map((x) => [x.name, x]));
      const run = byName.get("run_code")!;
      assert.equal(run.inputSchema.type, "object");
      assert.deepEqual(run.inputSchema.required, ["code"]);
      assert.ok(run.inputSchema.properties && "lang" in run.inputSchema.properties);
      assert.deepEqual([...byName.get("exec")!.inputSchema.required!].sort(), ["code", "sessionId"]);
      assert.deepEqual([...byName.get("write_file")!.inputSchema.required!].sort(), ["content", "path", "sessionId"]);
      for (const tool of tools) {
        assert.ok(tool.description && tool.description.length > 10, tool.name);
        assert.equal(tool.outputSchema?.type, "object", tool.name);
      }
    } finally {
      await client.close();
    }
  });
});

Deno.test("mcp: run_code answers the result, stdout and stderr as text; a failing agent is isError", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const client = await connect(s, t.apiKey);
    try {
      const ok = await call(client, "run_code", {
        code: `console.log("hello from mcp"); console.error("a warning");\nexport default () => ({ answer: 6 * 7 });`,
      });
      assert.equal(ok.isError, undefined, textOf(ok));
      const text = textOf(ok);
      assert.match(text, /result: \{"answer":42\}/);
      assert.match(text, /--- stdout ---\nhello from mcp\n/);
      assert.match(text, /--- stderr ---\na warning/);
      const structured = ok.structuredContent as Record<string, unknown>;
      assert.deepEqual(structured.result, { answer: 42 });
      assert.equal(structured.stdout, "hello from mcp\n");

      const ts = await call(client, "run_code", {
        code: `const n: number = 5;\nexport default (): number => n * 2;`,
        lang: "ts",
      });
      assert.match(textOf(ts), /result: 10/);

      const failed = await call(client, "run_code", { code: `console.log("before"); throw new Error("boom here")` });
      assert.equal(failed.isError, true);
      assert.match(textOf(failed), /boom here/);
      assert.match(textOf(failed), /before/);
    } finally {
      await client.close();
    }
  });
});

Deno.test("mcp: a session: create, write_file, exec reads it, list_files, read_file, resources, close", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const client = await connect(s, t.apiKey);
    try {
      const created = await call(client, "create_session", { capabilities: ["fs.read", "fs.write"] });
      assert.equal(created.isError, undefined, textOf(created));
      const sessionId = (created.structuredContent as { sessionId: string }).sessionId;
      assert.match(sessionId, /^se_/);

      const wrote = await call(client, "write_file", { sessionId, path: "in/data.txt", content: "3,4,5" });
      assert.deepEqual(wrote.structuredContent, { path: "in/data.txt", size: 5 });
      const bin = await call(client, "write_file", {
        sessionId,
        path: "blob.bin",
        content: new Uint8Array([0xff, 0x00, 0xfe]).toBase64(),
        encoding: "base64",
      });
      assert.equal(bin.isError, undefined, textOf(bin));

      const first = await call(client, "exec", {
        sessionId,
        code: `const nums = (await sys.fs.readText("in/data.txt")).split(",").map(Number);\n` +
          `console.log("read", nums.length);\nawait sys.fs.writeText("out.txt", String(nums.reduce((a, b) => a + b)));\nnums`,
      });
      assert.equal(first.isError, undefined, textOf(first));
      assert.match(textOf(first), /read 3/);
      const second = await call(client, "exec", { sessionId, code: "nums.length * 10" });
      assert.match(textOf(second), /result: 30/);
      const thrown = await call(client, "exec", { sessionId, code: `throw new TypeError("bad cell")` });
      assert.equal(thrown.isError, true);
      assert.match(textOf(thrown), /TypeError: bad cell/);

      const listed = await call(client, "list_files", { sessionId });
      const names = (listed.structuredContent as { entries: { name: string }[] }).entries.map((e) => e.name).sort();
      assert.ok(["blob.bin", "in", "out.txt"].every((n) => names.includes(n)), names.join());
      const inner = await call(client, "list_files", { sessionId, path: "in" });
      assert.match(textOf(inner), /data\.txt/);

      const read = await call(client, "read_file", { sessionId, path: "out.txt" });
      assert.deepEqual(read.structuredContent, { path: "out.txt", size: 2, encoding: "utf8", content: "12" });
      const readBin = await call(client, "read_file", { sessionId, path: "blob.bin" });
      assert.equal((readBin.structuredContent as { encoding: string }).encoding, "base64");
      assert.equal((readBin.structuredContent as { content: string }).content, "/wD+");

      const { resourceTemplates } = await client.listResourceTemplates();
      assert.deepEqual(resourceTemplates.map((r) => r.uriTemplate), ["agentos://sessions/{id}/files/{+path}"]);
      const { resources } = await client.listResources();
      const uris = resources.map((r) => r.uri).sort();
      assert.ok(uris.includes(`agentos://sessions/${sessionId}/files/in/data.txt`), uris.join());
      assert.ok(uris.includes(`agentos://sessions/${sessionId}/files/out.txt`), uris.join());
      const doc = await client.readResource({ uri: `agentos://sessions/${sessionId}/files/in/data.txt` });
      assert.equal((doc.contents[0] as { text: string }).text, "3,4,5");
      const blob = await client.readResource({ uri: `agentos://sessions/${sessionId}/files/blob.bin` });
      assert.equal((blob.contents[0] as { blob: string }).blob, "/wD+");
      await assert.rejects(
        client.readResource({ uri: `agentos://sessions/${sessionId}/files/nope.txt` }),
        /not_found/,
      );

      const closed = await call(client, "close_session", { sessionId });
      assert.deepEqual(closed.structuredContent, { sessionId, state: "ended", reason: "closed" });
      const after = await call(client, "exec", { sessionId, code: "1" });
      assert.equal(after.isError, true);
      assert.match(textOf(after), /session/);
    } finally {
      await client.close();
    }
  });
});

Deno.test("mcp: bad arguments are MCP errors carrying the validation message; the server keeps answering", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const client = await connect(s, t.apiKey);
    try {
      const missing = await call(client, "run_code", {});
      assert.equal(missing.isError, true);
      assert.match(textOf(missing), /Input validation error.*code/s);
      const wrongType = await call(client, "run_code", { code: 42 });
      assert.equal(wrongType.isError, true);
      assert.match(textOf(wrongType), /code/);
      const badLang = await call(client, "run_code", { code: "1", lang: "python" });
      assert.match(textOf(badLang), /lang/);
      const unknown = await call(client, "exec", { sessionId: "ses_x", code: "1", extra: true });
      assert.equal(unknown.isError, true);
      assert.match(textOf(unknown), /extra/);
      const noTool = await call(client, "no_such_tool", {});
      assert.equal(noTool.isError, true);
      assert.match(textOf(noTool), /no_such_tool/);
      // Over the code cap (1 MiB) but under the body cap: the schema's message.
      const big = await call(client, "run_code", { code: "x".repeat(1024 * 1024 + 10) });
      assert.equal(big.isError, true);
      assert.match(textOf(big), /code/);
      // 10 MB: refused at the body cap, before anything is parsed, as a JSON-RPC error.
      await assert.rejects(call(client, "run_code", { code: "x".repeat(10 * 1024 * 1024) }), /413|body over/);
      const badB64 = await call(client, "write_file", {
        sessionId: "ses_x",
        path: "a",
        content: "%%%",
        encoding: "base64",
      });
      assert.equal(badB64.isError, true);
      // Still serving.
      assert.match(textOf(await call(client, "run_code", { code: "export default () => 1 + 1;" })), /result: 2/);
    } finally {
      await client.close();
    }
  });
});

Deno.test("mcp: raw HTTP: no key or a wrong key is 401; the README's curl; GET is 405 with Allow; bad JSON is a parse error", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const init = { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} };
    const headers = { accept: "application/json, text/event-stream" };
    for (const key of [undefined, "ak_wrong_key_000000000000"]) {
      const res = await s.req("/mcp", { method: "POST", key, json: init, headers });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, "unauthorized");
    }
    const wrong = new Client({ name: "mcp-test", version: "1.0.0" });
    await assert.rejects(
      wrong.connect(
        new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`), {
          requestInit: { headers: { authorization: "Bearer ak_wrong_key_000000000000" } },
        }),
      ),
      /unauthorized/,
    );
    // The README's curl, byte for byte.
    const readme = await s.req("/mcp", {
      method: "POST",
      key: t.apiKey,
      headers: { ...headers, "content-type": "application/json" },
      body:
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_code","arguments":{"code":"export default () => 6 * 7;"}}}`,
    });
    assert.equal(readme.status, 200);
    const answered = await readme.json();
    assert.equal(answered.id, 1);
    assert.equal(answered.result.content[0].text, "result: 42\n--- stdout ---\n--- stderr ---\n");
    const get = await s.req("/mcp", { key: t.apiKey, headers });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    await get.body?.cancel();
    const bad = await s.req("/mcp", {
      method: "POST",
      key: t.apiKey,
      headers: { ...headers, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, -32700);
    // A chunked body (no Content-Length) is cut at the cap as it is read.
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const chunked = await s.req("/mcp", {
      method: "POST",
      key: t.apiKey,
      headers: { ...headers, "content-type": "application/json" },
      body: new ReadableStream<Uint8Array>({
        pull: (ctl) => sent++ < 48 ? ctl.enqueue(chunk) : ctl.close(),
      }),
    });
    assert.equal(chunked.status, 413);
    assert.match((await chunked.json()).error.message, /bodyBytesMax/);
  });
});

Deno.test("mcp: another tenant's session is not found through every tool and resource", async () => {
  await withServer(async (s) => {
    const a = await createTenant(s, "acme");
    const b = await createTenant(s, "globex");
    const ca = await connect(s, a.apiKey);
    const cb = await connect(s, b.apiKey);
    try {
      const created = await call(ca, "create_session", {});
      const sessionId = (created.structuredContent as { sessionId: string }).sessionId;
      await call(ca, "write_file", { sessionId, path: "secret.txt", content: "acme only" });
      const attempts: [string, Record<string, unknown>][] = [
        ["exec", { sessionId, code: "1" }],
        ["write_file", { sessionId, path: "x.txt", content: "y" }],
        ["read_file", { sessionId, path: "secret.txt" }],
        ["list_files", { sessionId }],
        ["close_session", { sessionId }],
      ];
      for (const [name, args] of attempts) {
        const r = await call(cb, name, args);
        assert.equal(r.isError, true, name);
        assert.match(textOf(r), /not_found/, name);
      }
      await assert.rejects(cb.readResource({ uri: `agentos://sessions/${sessionId}/files/secret.txt` }), /not_found/);
      const { resources } = await cb.listResources();
      assert.deepEqual(resources, []);
      // Untouched for its owner.
      const read = await call(ca, "read_file", { sessionId, path: "secret.txt" });
      assert.equal((read.structuredContent as { content: string }).content, "acme only");
      await call(ca, "close_session", { sessionId });
    } finally {
      await ca.close();
      await cb.close();
    }
  });
});
