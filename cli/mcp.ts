/**
 * `deno task agent mcp [--server URL] [--key KEY]`: print the JSON an MCP
 * client (Claude Code's `.mcp.json`, VS Code's `mcp.json`, Cursor's
 * `mcp.json`, ...) needs to reach this server's `/mcp`. It talks to no
 * server; the key comes from `--key` or `AGENTOS_KEY`, else a placeholder
 * is printed and a note on stderr says what to put there.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { mcpCliOptions, serverUrlDefault } from "./options.ts";

/** What stands in for the key when none is given. */
export const mcpKeyPlaceholder = "<your tenant API key>";

/** The help of the verb. */
export const mcpHelp = `usage: deno task agent mcp [--server URL] [--key KEY]

Print the configuration an MCP client needs to use agentos over the
Streamable HTTP transport at <server>/mcp, authenticated with a tenant's
API key. Paste it into the client's MCP config (Claude Code: .mcp.json;
VS Code: .vscode/mcp.json; Cursor: .cursor/mcp.json).

options:
  --server URL   the agentos server (default: AGENTOS_URL, else ${serverUrlDefault})
  --key KEY      the tenant's API key (default: AGENTOS_KEY, else a placeholder)
  --help         this help

tools: run_code, create_session, exec, write_file, read_file, list_files, close_session
resources: agentos://sessions/{id}/files/{path}

examples:
  deno task agent mcp
  AGENTOS_KEY=ak_... deno task agent mcp --server https://sandbox.example.com > .mcp.json
`;

/**
 * The MCP client configuration of a server.
 *
 * @param server the server's base URL
 * @param key the tenant's API key (`undefined`: the placeholder)
 * @returns `{mcpServers: {agentos: {type: "http", url, headers}}}`
 * @throws {TypeError} for a server that is not an http(s) URL
 * @example
 * ```ts
 * mcpConfig("http://127.0.0.1:8787", "ak_1").mcpServers.agentos.url; // "http://127.0.0.1:8787/mcp"
 * ```
 */
export function mcpConfig(server: string, key: string | undefined) {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new TypeError(`--server ${JSON.stringify(server)} is not a URL (e.g. http://127.0.0.1:8787)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("--server must be http(s)");
  const base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  return {
    mcpServers: {
      agentos: {
        type: "http",
        url: `${base}/mcp`,
        headers: { Authorization: `Bearer ${key ?? mcpKeyPlaceholder}` },
      },
    },
  };
}

/**
 * The verb: print the configuration (exit 0), or the help.
 *
 * @example
 * ```ts
 * Deno.exit(await mcpCommand(["--server", "http://127.0.0.1:8787"]));
 * ```
 */
export function mcpCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: mcpCliOptions, allowPositionals: true });
  } catch (err) {
    console.error(`agent: mcp: ${err instanceof Error ? err.message : err}; see deno task agent mcp --help`);
    return Promise.resolve(2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(mcpHelp);
    return Promise.resolve(0);
  }
  if (positionals.length > 0) {
    console.error(`agent: mcp takes no arguments (got ${positionals[0]}); see deno task agent mcp --help`);
    return Promise.resolve(2);
  }
  const server = values.server ?? Deno.env.get("AGENTOS_URL") ?? serverUrlDefault;
  const key = values.key ?? (Deno.env.get("AGENTOS_KEY") || undefined);
  console.log(JSON.stringify(mcpConfig(server, key), null, 2));
  if (key === undefined) console.error(`agent: replace ${mcpKeyPlaceholder} with a tenant's key (or set AGENTOS_KEY)`);
  return Promise.resolve(0);
}
