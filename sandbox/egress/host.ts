/**
 * Host text to a canonical host: a string a guest typed is canonicalised
 * exactly as a browser's URL parser would (WHATWG URL, via `new URL()`,
 * which already turns `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`,
 * full-width digits and percent-encoding into `127.0.0.1`, and
 * `[::ffff:127.0.0.1]` into `[::ffff:7f00:1]`). Only the canonical result
 * is turned into bytes, by the strict parser of `ip.ts`, so every address
 * decision looks at bytes, never at text.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { parseIPv4, parseIPv6 } from "./ip.ts";

/** Longest raw host text {@linkcode parseHost} looks at, in UTF-16 code units. */
export const hostCharsMax = 1024;

/** Longest DNS name {@linkcode parseHost} returns, in characters (RFC 1035). */
export const hostNameCharsMax = 253;

/** A host after browser-style canonicalisation: an IP address or a DNS name. */
export type ParsedHost =
  | {
    /** The host is an IP literal in one of its many spellings. */
    readonly kind: "address";
    /** 4 or 16 bytes; a fresh copy owned by the caller. */
    readonly bytes: Uint8Array;
    /** The canonical URL hostname, e.g. `127.0.0.1` or `[::1]`. */
    readonly canonical: string;
  }
  | {
    /** The host is a name that still needs resolving. */
    readonly kind: "name";
    /** Lower-case ASCII (punycode) name without a trailing dot. */
    readonly name: string;
  };

const hostLabelPattern = /^[a-z0-9_-]{1,63}$/;
// deno-lint-ignore no-control-regex
const hostForbiddenPattern = /[\u0000-\u0020\u007f/\\?#@]/;

/**
 * Canonicalises a URL host exactly as a browser would and says whether it
 * is an IP address (with its bytes) or a name to resolve. Accepts every
 * numeric IPv4 spelling the WHATWG URL parser accepts (`2130706433`,
 * `0x7f000001`, `0177.0.0.1`, `127.1`, `127.0.1`, mixed forms) and
 * bracketed IPv6 (`[::ffff:127.0.0.1]`, `[64:ff9b::7f00:1]`).
 *
 * Stricter than a browser: ports, userinfo, paths, whitespace and control
 * characters (which a browser strips) are rejected rather than split off,
 * so the host that is classified is the whole input; names must be
 * letters, digits, `-` and `_` labels (punycode for IDNs, which the URL
 * parser produces from Unicode input).
 *
 * @param host the host part of a URL, as a guest supplied it
 * @returns the canonical address or name
 * @throws {KernelError} `EINVAL` if `host` is not a valid URL host, has a
 * zone id, a port or userinfo, or is too long
 * @example
 * ```ts
 * const h = parseHost("0x7f000001");
 * // h.kind === "address", h.canonical === "127.0.0.1"
 * ```
 */
export function parseHost(host: string): ParsedHost {
  if (typeof host !== "string" || host.length === 0) invalid("empty host");
  if (host.length > hostCharsMax) invalid("host too long");
  if (hostForbiddenPattern.test(host)) invalid("host has a forbidden char");
  const bracketed = host.startsWith("[");
  if (bracketed && !host.endsWith("]")) invalid("unterminated IPv6 literal");
  if (bracketed && host.includes("%")) invalid("IPv6 zone ids are rejected");
  if (!bracketed && host.includes(":")) invalid("host has a port or bare IPv6");
  const url = wholeHostUrl(host);
  const canonical = url.hostname;
  if (canonical.startsWith("[")) {
    const bytes = parseIPv6(canonical.slice(1, -1));
    if (bytes === null) invalid("unparseable IPv6 literal");
    return { kind: "address", bytes, canonical };
  }
  const v4 = parseIPv4(canonical);
  if (v4 !== null) return { kind: "address", bytes: v4, canonical };
  const name = canonical.endsWith(".") ? canonical.slice(0, -1) : canonical;
  if (name.length === 0 || name.length > hostNameCharsMax) {
    invalid("bad host name length");
  }
  // Stricter than a browser: LDH + underscore labels only, none empty, so
  // no resolver can read `127.0.0.1..` or `a..b` as something else.
  if (!name.split(".").every((label) => hostLabelPattern.test(label))) {
    invalid("bad host name label");
  }
  return { kind: "name", name };
}

/** Parses `http://<host>/` and asserts the parser consumed nothing but the host. */
function wholeHostUrl(host: string): URL {
  let url: URL;
  try {
    url = new URL(`http://${host}/`);
  } catch {
    invalid("not a valid URL host");
  }
  const onlyHost = url.username === "" && url.password === "" &&
    url.port === "" && url.pathname === "/" && url.search === "" &&
    url.hash === "";
  if (!onlyHost || url.hostname.length === 0) invalid("not a bare host");
  return url;
}

function invalid(why: string): never {
  throw new KernelError("EINVAL", `net: ${why}`);
}
