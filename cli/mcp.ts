/**
 * `deno task agent mcp [--server URL] [--key KEY]`: print the JSON an MCP
 * client (Claude Code's `.mcp.json`, VS Code's `mcp.json`, Cursor's
 * `mcp.json`, ...) needs to reach this server's `/mcp`. It talks to no
 * server; the key comes from `--key` or `AGENTOS_KEY`, else a placeholder
 * is printed and a note on stderr says what to put there. Its usage is
 * `verbUsage.mcp` (`cli/help.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { clientOptions, serverUrlDefault } from "./options.ts";

/** What stands in for the key when none is given. */
export const mcpKeyPlaceholder = "<your tenant API key>";

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
 * The verb: print the configuration (exit 0). `--help` is answered by
 * `cli/main.ts` (`verbUsage.mcp`).
 *
 * @throws {TypeError} for an unknown flag, an argument, or a server that is not an http(s) URL (usage, exit 2)
 * @example
 * ```ts
 * Deno.exit(await mcpCommand(["--server", "http://127.0.0.1:8787"]));
 * ```
 */
export function mcpCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: clientOptions, allowPositionals: true });
  if (positionals.length > 0) throw new TypeError(`mcp takes no arguments (got ${positionals[0]})`);
  const server = values.server ?? Deno.env.get("AGENTOS_URL") ?? serverUrlDefault;
  const key = values.key ?? (Deno.env.get("AGENTOS_KEY") || undefined);
  console.log(JSON.stringify(mcpConfig(server, key), null, 2));
  if (key === undefined) console.error(`agent: replace ${mcpKeyPlaceholder} with a tenant's key (or set AGENTOS_KEY)`);
  return Promise.resolve(0);
}
