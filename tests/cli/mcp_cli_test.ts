/**
 * `deno task agent mcp` as a user runs it (the launcher, a real
 * subprocess): the configuration it prints is handed as is to the real
 * `@modelcontextprotocol/sdk` client, which then runs code on a live
 * server; `--help`, a bad flag and a bad `--server`.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types";
import { createTenant, withServer } from "../api/helpers.ts";

const launcher = new URL("../../cli/agent_launch.ts", import.meta.url).pathname;

async function agent(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-write", "--allow-run", "--allow-env", launcher, ...args],
    env: { AGENTOS_URL: "", AGENTOS_KEY: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

interface McpConfig {
  mcpServers: { agentos: { type: string; url: string; headers: Record<string, string> } };
}

Deno.test("cli mcp: the printed configuration connects the MCP SDK client to a live server", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const r = await agent(["mcp", "--server", s.url], { AGENTOS_KEY: t.apiKey });
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout) as McpConfig;
    const entry = config.mcpServers.agentos;
    assert.equal(entry.type, "http");
    assert.equal(entry.url, `${s.url}/mcp`);
    assert.deepEqual(entry.headers, { Authorization: `Bearer ${t.apiKey}` });
    const client = new Client({ name: "cli-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers: entry.headers } }),
    );
    try {
      const out = await client.callTool({
        name: "run_code",
        arguments: { code: `export default () => "configured";` },
      }) as CallToolResult;
      assert.match((out.content[0] as { text: string }).text, /result: "configured"/);
    } finally {
      await client.close();
    }
  });
});

Deno.test("cli mcp: a placeholder without a key; AGENTOS_URL; --help; bad flags and servers exit 2", async () => {
  const bare = await agent(["mcp"], { AGENTOS_URL: "http://10.0.0.5:8787/" });
  assert.equal(bare.code, 0, bare.stderr);
  const config = JSON.parse(bare.stdout) as McpConfig;
  assert.equal(config.mcpServers.agentos.url, "http://10.0.0.5:8787/mcp");
  assert.equal(config.mcpServers.agentos.headers.Authorization, "Bearer <your tenant API key>");
  assert.match(bare.stderr, /replace <your tenant API key> with a tenant's key/);

  const help = await agent(["mcp", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: deno task agent mcp \[--server URL\] \[--key KEY\]/);
  const listed = await agent(["--help"]);
  assert.match(listed.stdout, /\n {2}mcp +print the MCP client configuration/);
  assert.match(help.stdout, /examples:\n\s+deno task agent mcp\n/);
  assert.match(help.stdout, /run_code, create_session, exec, write_file, read_file, list_files, close_session/);

  const flag = await agent(["mcp", "--bogus"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--bogus/);
  assert.match(flag.stderr, /usage: deno task agent mcp/);
  const server = await agent(["mcp", "--server", "ftp://x"]);
  assert.equal(server.code, 2);
  assert.match(server.stderr, /--server must be http\(s\)/);
});
