/**
 * The request shape the engine decides, its normalisation (every field
 * read once, validated, canonicalised — a malformed request is denied
 * with reason `"invalid"` and nothing is matched against it), and the
 * request's key in a decision cache.
 *
 * A rule with `paths` never matches a request without `path` (likewise
 * `hosts` without `host`/`addr`, `ports` without `port`, `methods` without
 * `method`): **the caller must pass every field its call has**, or a deny
 * rule on that field cannot fire.
 *
 * @module
 */

import { parseIp } from "../egress/mod.ts";
import {
  callCharsMax,
  hostAddressMemoEntriesMax,
  rateKeyCharsMax,
  requestHostCharsMax,
  requestMethodCharsMax,
  requestPathCharsMax,
  requestSegmentCharsMax,
} from "./limits.ts";

/** A request to decide. Absent fields are `undefined`. */
export interface PolicyRequest {
  /** The syscall name, e.g. `"fs.read"`. */
  readonly call: string;
  /** Canonical workspace-relative POSIX path (`"."` is the root). */
  readonly path?: string;
  /** The URL hostname (ASCII, as `new URL().hostname` gives it). */
  readonly host?: string;
  /** The resolved address being connected to: 4 or 16 bytes. */
  readonly addr?: Uint8Array;
  /** The effective destination port (443 for `https:` without a port). */
  readonly port?: number;
  /** The HTTP method; compared upper-cased. */
  readonly method?: string;
  /**
   * Partition of the rate buckets of documents compiled without a shared
   * rate key, e.g. the agent's spawn id; default `""`.
   */
  readonly rateKey?: string;
}

/** A request after {@linkcode normalizeRequest}. */
export interface NormalRequest {
  readonly call: string;
  /** Path segments (`[]` for `"."`), or `null` without a path. */
  readonly segs: readonly string[] | null;
  /** Lower-cased, trailing dot dropped, or `null`. */
  readonly host: string | null;
  /** `addr`, else the address of an IP-literal host, else `null`. */
  readonly addr: Uint8Array | null;
  /** The port, or -1. */
  readonly port: number;
  /** Upper-cased, or `null`. */
  readonly method: string | null;
  readonly rateKey: string;
}

const canonicalHost = /^(\[[0-9a-f:.]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*)$/;
const methodToken = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * The addresses of IP-literal hosts (`10.0.0.1`, `[::1]`), memoised
 * (bounded by {@linkcode hostAddressMemoEntriesMax}; cleared when full)
 * because allocating the bytes costs more than the rest of a decision.
 * One memo per compiled policy and its intersections.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostAddressMemo } from "./request.ts";
 * const memo = new HostAddressMemo();
 * assert.deepEqual(memo.addressOf("10.0.0.1"), Uint8Array.of(10, 0, 0, 1));
 * assert.equal(memo.addressOf("example.com"), null);
 * ```
 */
export class HostAddressMemo {
  readonly #memo = new Map<string, Uint8Array | null>();

  /**
   * The address of a canonical host.
   *
   * @param host a canonical host (see {@linkcode normalizeRequest})
   * @returns its bytes (shared: never mutate), or `null` if it is not an IP literal
   */
  addressOf(host: string): Uint8Array | null {
    const c = host.charCodeAt(0);
    const bracketed = c === 91 && host.endsWith("]");
    if (!bracketed && !(c >= 48 && c <= 57)) return null;
    const memo = this.#memo.get(host);
    if (memo !== undefined) return memo;
    const bytes = parseIp(bracketed ? host.slice(1, -1) : host);
    if (this.#memo.size >= hostAddressMemoEntriesMax) this.#memo.clear();
    this.#memo.set(host, bytes);
    return bytes;
  }
}

function isMethodToken(method: unknown): method is string {
  return typeof method === "string" && method.length <= requestMethodCharsMax &&
    methodToken.test(method);
}

/**
 * Canonical workspace-relative path → segments, in one pass; `null` if not
 * canonical: empty, absolute, `.`/`..`/empty segments, `\\`, NUL, lone
 * surrogates, or longer than {@linkcode requestPathCharsMax}.
 */
function splitPath(path: unknown): string[] | null {
  if (typeof path !== "string") return null;
  const n = path.length;
  if (n === 0 || n > requestPathCharsMax) return null;
  if (path === ".") return [];
  const segs: string[] = [];
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : 47;
    if (c === 47) {
      const len = i - start;
      if (len === 0 || len > requestSegmentCharsMax) return null;
      if (len <= 2 && path.charCodeAt(start) === 46) {
        if (len === 1 || path.charCodeAt(start + 1) === 46) return null;
      }
      segs.push(path.slice(start, i));
      start = i + 1;
    } else if (c === 92 || c === 0) {
      return null;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? path.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return null;
      i++;
    }
  }
  return segs;
}

/**
 * The URL hostname, lower-cased, one trailing dot dropped; `undefined` if
 * it is not a canonical hostname (an LDH/underscore name with no empty
 * label, or a bracketed IPv6 literal): a host such as `evil.com:80` or
 * `evil.com..` must not slip past a deny rule on `evil.com`.
 */
function readHost(host: unknown): string | null | undefined {
  if (host === undefined) return null;
  if (typeof host !== "string" || host.length > requestHostCharsMax) return;
  const lower = host.toLowerCase();
  const name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  return canonicalHost.test(name) ? name : undefined;
}

/**
 * Validates and canonicalises a request of unknown shape, reading each
 * field once (no double reads of getters). A getter that throws throws
 * through: {@linkcode normalizeRequest} catches it.
 *
 * @param request the request, as the caller built it
 * @param addresses the memo of IP-literal host addresses to use
 * @returns the normal request, or `null` if it is malformed
 * @throws whatever a getter of `request` throws
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostAddressMemo, readRequest } from "./request.ts";
 * const req = readRequest({ call: "net.fetch", host: "10.0.0.1" }, new HostAddressMemo());
 * assert.deepEqual(req?.addr, Uint8Array.of(10, 0, 0, 1));
 * ```
 */
export function readRequest(request: PolicyRequest, addresses: HostAddressMemo): NormalRequest | null {
  if (typeof request !== "object" || request === null) return null;
  const { call, path, addr, port, method, rateKey } = request;
  const host = readHost(request.host);
  if (typeof call !== "string" || call.length === 0) return null;
  if (call.length > callCharsMax || host === undefined) return null;
  const segs = path === undefined ? null : splitPath(path);
  if (path !== undefined && segs === null) return null;
  let bytes: Uint8Array | null = null;
  if (addr !== undefined) {
    if (!(addr instanceof Uint8Array)) return null;
    if (addr.length !== 4 && addr.length !== 16) return null;
    bytes = addr;
  } else if (host !== null) bytes = addresses.addressOf(host);
  if (
    port !== undefined &&
    !(Number.isInteger(port) && port >= 0 && port <= 65535)
  ) {
    return null;
  }
  if (method !== undefined && !isMethodToken(method)) return null;
  if (rateKey !== undefined && typeof rateKey !== "string") return null;
  if (rateKey !== undefined && rateKey.length > rateKeyCharsMax) return null;
  return {
    call,
    segs,
    host,
    addr: bytes,
    port: port ?? -1,
    method: method === undefined ? null : method.toUpperCase(),
    rateKey: rateKey ?? "",
  };
}

/**
 * Validates and canonicalises a request of unknown shape. Never throws
 * (a throwing getter makes the request invalid).
 *
 * @param request the request, as the caller built it
 * @param addresses the memo of IP-literal host addresses to use
 * @returns the normal request, or `null` if it is malformed: non-canonical
 * path, non-canonical or non-ASCII host, bad address length, port or
 * method, a key over its length cap
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostAddressMemo, normalizeRequest } from "./request.ts";
 * const memo = new HostAddressMemo();
 * const req = normalizeRequest({ call: "net.fetch", host: "API.Example.com.", method: "get" }, memo);
 * assert.deepEqual([req?.host, req?.method, req?.port], ["api.example.com", "GET", -1]);
 * assert.equal(normalizeRequest({ call: "fs.read", path: "../etc/passwd" }, memo), null);
 * ```
 */
export function normalizeRequest(request: PolicyRequest, addresses: HostAddressMemo): NormalRequest | null {
  try {
    return readRequest(request, addresses);
  } catch {
    return null; // a throwing getter on the request object
  }
}

function keyField(value: string | undefined): string {
  return value === undefined ? "-" : `${value.length}:${value}`;
}

const hexBytes = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/**
 * An injective string of every request field except `call`: the
 * `resource` to key a `DecisionCache` with. Use it (or something at least
 * as specific): a key that left out, say, the method would let a cached
 * allow for `GET` answer a `DELETE`. A request with only a path (the hot
 * `fs.*` case) is keyed by the path itself, without allocating; every
 * other request by a NUL-led, length-prefixed encoding, which no such
 * path key can equal.
 *
 * @param request the request
 * @returns the key
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resourceKey } from "./request.ts";
 * assert.equal(resourceKey({ call: "fs.read", path: "src/a.ts" }), "src/a.ts");
 * assert.equal(resourceKey({ call: "net.fetch", host: "a.com", port: 443 }), "\0-5:a.com-3:443--");
 * ```
 */
export function resourceKey(request: PolicyRequest): string {
  const { path, host, addr, port, method, rateKey } = request;
  const onlyPath = host === undefined && addr === undefined &&
    port === undefined && method === undefined && rateKey === undefined;
  if (onlyPath && typeof path === "string" && path.charCodeAt(0) !== 0) {
    return path;
  }
  let bytes = "-";
  if (addr !== undefined) {
    bytes = `${addr.length * 2}:`;
    for (let i = 0; i < addr.length; i++) bytes += hexBytes[addr[i]];
  }
  return "\0" + keyField(path) + keyField(host) + bytes +
    keyField(port === undefined ? undefined : String(port)) +
    keyField(method) + keyField(rateKey);
}
