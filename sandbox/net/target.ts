/**
 * The URL of one hop, parsed once: scheme, canonical host (bytes or name),
 * effective port, request target and `Host` header value.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { type ParsedHost, parseHost } from "../egress/mod.ts";
import { urlCharsMax } from "./limits.ts";

/** One parsed destination. */
export interface Target {
  /** The canonical URL (WHATWG), fragment removed. */
  readonly url: URL;
  /** `true` for `https:`. */
  readonly tls: boolean;
  /** The host as an address (bytes) or a name to resolve. */
  readonly host: ParsedHost;
  /** The name certificates are checked against (SNI): the DNS name or the bare IP text. */
  readonly tlsName: string;
  /** Effective port (explicit, or 80/443). */
  readonly port: number;
  /** `origin-form` request target: path and query. */
  readonly path: string;
  /** Value of the `Host` header: canonical host, plus `:port` if not the default. */
  readonly hostHeader: string;
}

/** Visible ASCII only: what a request target may hold after URL canonicalisation. */
const requestTargetPattern = /^\/[\x21-\x7e]*$/;

/**
 * Parse a guest-supplied URL into a {@linkcode Target}. Only `http:` and
 * `https:`; no userinfo; port 1–65535.
 *
 * @param text the URL
 * @returns the target
 * @throws {KernelError} `EINVAL` for anything else
 * @example
 * ```ts
 * parseTarget("http://0x7f000001:8080/a?b").host; // { kind: "address", canonical: "127.0.0.1", ... }
 * ```
 */
export function parseTarget(text: string): Target {
  if (typeof text !== "string" || text.length === 0 || text.length > urlCharsMax) bad("bad URL length");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    bad("not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") bad("only http: and https: URLs");
  if (url.username !== "" || url.password !== "") bad("userinfo in URLs is refused");
  if (url.href.length > urlCharsMax) bad("URL too long");
  const tls = url.protocol === "https:";
  const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) bad("bad port");
  const host = parseHost(url.hostname);
  const path = url.pathname + url.search;
  if (!requestTargetPattern.test(path)) bad("bad characters in path");
  url.hash = "";
  const tlsName = host.kind === "name" ? host.name : url.hostname.replace(/^\[|\]$/g, "");
  return { url, tls, host, tlsName, port, path, hostHeader: url.host };
}

function bad(why: string): never {
  throw new KernelError("EINVAL", `net.fetch: ${why}`);
}
