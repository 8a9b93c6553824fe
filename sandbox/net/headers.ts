/**
 * Request headers an agent may set, checked before anything is sent.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { requestHeaderBytesMax, requestHeadersMax } from "./limits.ts";

/** One header as sent: name as the agent spelled it, and its value. */
export type HeaderPair = readonly [name: string, value: string];

/**
 * Headers only the kernel sets (framing, connection management and the
 * hop-by-hop set of RFC 9110 §7.6.1), compared lower-case. An agent setting
 * any of them could smuggle a second request or desynchronise framing.
 */
export const reservedRequestHeaders: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "http2-settings",
]);

/** RFC 9110 token. */
export const tokenPattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Request header value: visible ASCII, space and tab, no CR/LF/NUL, no edge whitespace. */
const requestValuePattern = /^(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?$/;

/**
 * Validate the agent's headers.
 *
 * @param headers the agent's record (already bounded by the schema)
 * @returns the pairs in the agent's order
 * @throws {KernelError} `EINVAL` on a bad name or value, a reserved or
 * duplicate (case-insensitive) name, or too many bytes
 * @example
 * ```ts
 * checkRequestHeaders({ accept: "text/plain" }); // [["accept", "text/plain"]]
 * ```
 */
export function checkRequestHeaders(headers: Readonly<Record<string, string>> | undefined): HeaderPair[] {
  const out: HeaderPair[] = [];
  if (headers === undefined) return out;
  const seen = new Set<string>();
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (out.length >= requestHeadersMax) bad(`more than ${requestHeadersMax} headers`);
    if (!tokenPattern.test(name)) bad("bad header name");
    const lower = name.toLowerCase();
    if (reservedRequestHeaders.has(lower)) bad(`header ${lower} is set by the kernel`);
    if (seen.has(lower)) bad(`header ${lower} given twice`);
    if (typeof value !== "string" || !requestValuePattern.test(value)) bad(`bad value for header ${lower}`);
    bytes += name.length + value.length;
    if (bytes > requestHeaderBytesMax) bad(`headers over ${requestHeaderBytesMax} bytes`);
    seen.add(lower);
    out.push([name, value]);
  }
  return out;
}

/** Is a header named `lower` among `pairs` (case-insensitive)? */
export function hasHeader(pairs: readonly HeaderPair[], lower: string): boolean {
  return pairs.some(([name]) => name.toLowerCase() === lower);
}

function bad(why: string): never {
  throw new KernelError("EINVAL", `net.fetch: ${why}`);
}
