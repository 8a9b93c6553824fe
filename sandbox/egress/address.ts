/**
 * Egress address parsing and classification.
 *
 * The rule of this module: **decide from bytes, never from text.** A host
 * string is first canonicalised exactly as a browser's URL parser would
 * (WHATWG URL, via `new URL()`, which already turns `2130706433`,
 * `0x7f000001`, `0177.0.0.1`, `127.1`, full-width digits and
 * percent-encoding into `127.0.0.1`, and `[::ffff:127.0.0.1]` into
 * `[::ffff:7f00:1]`). Only the canonical result is turned into bytes, by a
 * strict parser, and every address decision ({@linkcode classify},
 * {@linkcode isAllowedAddress}, {@linkcode cidrContains}) looks at those
 * bytes. IPv6 forms that carry an IPv4 address (mapped, compatible,
 * translated, NAT64, 6to4, Teredo) are classified by the IPv4 address they
 * embed, so `[::ffff:169.254.169.254]` is `"metadata"`, not `"public"`;
 * where the embedding is ambiguous the most alarming reading wins.
 *
 * DNS answers (`Deno.resolveDns`) are bare literals: parse them with
 * {@linkcode parseIp} and classify every one of them; connect only to an
 * address that passed.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";

/** Longest raw host text {@linkcode parseHost} looks at, in UTF-16 code units. */
export const hostCharsMax = 1024;

/** Longest DNS name {@linkcode parseHost} returns, in characters (RFC 1035). */
export const hostNameCharsMax = 253;

/**
 * What an address is, decided from its bytes. Everything except `"public"`
 * is denied for egress unless a CIDR explicitly allows it.
 */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "multicast"
  | "unspecified"
  | "metadata"
  | "reserved"
  | "broadcast"
  | "documentation";

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

/**
 * A parsed CIDR block. IPv6 blocks inside `::ffff:0:0/96` are stored as
 * their IPv4 equivalent, so `::ffff:127.0.0.0/104` and `127.0.0.0/8` are
 * the same block.
 */
export interface Cidr {
  /** 4 for IPv4, 6 for IPv6. */
  readonly family: 4 | 6;
  /** Network address, 4 or 16 bytes, host bits zero. Do not mutate. */
  readonly bytes: Uint8Array;
  /** Prefix length in bits: 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefix: number;
}

const hostLabelPattern = /^[a-z0-9_-]{1,63}$/;
const hexGroupPattern = /^[0-9a-fA-F]{1,4}$/;
// deno-lint-ignore no-control-regex
const hostForbiddenPattern = /[\u0000-\u0020\u007f/\\?#@]/;

/**
 * Strictly parses a bare IP literal: dotted-decimal IPv4 without leading
 * zeros (`127.0.0.1`, not `0177.0.0.1` or `127.1`) or RFC 4291 IPv6 text
 * (`::1`, `::ffff:1.2.3.4`) without brackets or zone id. This is the
 * parser for DNS answers, policy CIDRs and canonical URL hostnames; use
 * {@linkcode parseHost} for anything a guest typed.
 *
 * @param text the literal
 * @returns 4 or 16 fresh bytes, or `null` if `text` is not such a literal
 * @example
 * ```ts
 * parseIp("10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * parseIp("0x7f.1"); // null: not strict dotted decimal
 * ```
 */
export function parseIp(text: string): Uint8Array | null {
  if (typeof text !== "string" || text.length === 0 || text.length > 64) {
    return null;
  }
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

/** Strict dotted decimal: four parts 0–255, no leading zeros, no signs. */
function parseIPv4(text: string): Uint8Array | null {
  if (text.length < 7 || text.length > 15) return null;
  const out = new Uint8Array(4);
  let part = 0, value = 0, digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) return null;
      out[part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return null;
    if (digits === 1 && value === 0) return null; // leading zero
    value = value * 10 + (c - 48);
    if (++digits > 3 || value > 255) return null;
  }
  return part === 4 ? out : null;
}

function parseIPv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1], true) : [];
  if (head === null || tail === null) return null;
  const groups = head.length + tail.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) return null;
  const out = new Uint8Array(16);
  head.forEach((g, i) => writeGroup(out, i, g));
  tail.forEach((g, i) => writeGroup(out, 8 - tail.length + i, g));
  return out;
}

/** Groups of one side of `::`; a dotted IPv4 is allowed only at the very end. */
function parseGroups(side: string, mayEndInV4: boolean): number[] | null {
  if (side === "") return [];
  const parts = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (hexGroupPattern.test(part)) {
      groups.push(parseInt(part, 16));
      continue;
    }
    const v4 = mayEndInV4 && i === parts.length - 1 ? parseIPv4(part) : null;
    if (v4 === null) return null;
    groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
  }
  return groups;
}

function writeGroup(out: Uint8Array, index: number, group: number): void {
  out[index * 2] = group >> 8;
  out[index * 2 + 1] = group & 0xff;
}

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

/**
 * Formats 4 or 16 address bytes as text (dotted decimal, or full
 * uncompressed lower-case IPv6 groups), for messages and logs.
 *
 * @param bytes 4 or 16 bytes
 * @returns the text, or `"invalid"` for any other length
 * @example
 * ```ts
 * formatIp(Uint8Array.of(127, 0, 0, 1)); // "127.0.0.1"
 * ```
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length !== 16) return "invalid";
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  }
  return groups.join(":");
}

// --- classification -------------------------------------------------------

interface V4Range {
  readonly net: number;
  readonly mask: number;
  readonly cls: AddressClass;
}

function v4Range(
  a: number,
  b: number,
  c: number,
  d: number,
  prefix: number,
  cls: AddressClass,
): V4Range {
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return {
    net: (((a << 24) | (b << 16) | (c << 8) | d) & mask) >>> 0,
    mask,
    cls,
  };
}

/**
 * IPv4 special ranges, most specific first (first match wins). Sources:
 * RFC 6890 and the IANA special-purpose registry, plus cloud metadata
 * endpoints: 169.254.169.254 (AWS/GCP/Azure/OCI), 169.254.170.2 (AWS ECS
 * task credentials), 100.100.100.200 (Alibaba), 168.63.129.16 (Azure
 * WireServer, a public-looking address only reachable from inside Azure),
 * 192.0.0.192 (Oracle legacy).
 */
const v4Ranges: readonly V4Range[] = [
  v4Range(255, 255, 255, 255, 32, "broadcast"),
  v4Range(169, 254, 169, 254, 32, "metadata"),
  v4Range(169, 254, 170, 2, 32, "metadata"),
  v4Range(100, 100, 100, 200, 32, "metadata"),
  v4Range(168, 63, 129, 16, 32, "metadata"),
  v4Range(192, 0, 0, 192, 32, "metadata"),
  v4Range(0, 0, 0, 0, 8, "unspecified"),
  v4Range(127, 0, 0, 0, 8, "loopback"),
  v4Range(10, 0, 0, 0, 8, "private"),
  v4Range(172, 16, 0, 0, 12, "private"),
  v4Range(192, 168, 0, 0, 16, "private"),
  v4Range(169, 254, 0, 0, 16, "link-local"),
  v4Range(100, 64, 0, 0, 10, "cgnat"),
  v4Range(224, 0, 0, 0, 4, "multicast"),
  v4Range(240, 0, 0, 0, 4, "reserved"),
  v4Range(192, 0, 2, 0, 24, "documentation"),
  v4Range(198, 51, 100, 0, 24, "documentation"),
  v4Range(203, 0, 113, 0, 24, "documentation"),
  v4Range(198, 18, 0, 0, 15, "reserved"),
  v4Range(192, 0, 0, 0, 24, "reserved"),
  v4Range(192, 88, 99, 0, 24, "reserved"),
];

/** An IPv4 address as an unsigned 32-bit number, from four byte positions. */
function v4Value(b: Uint8Array, i: number, j: number, k: number, l: number): number {
  return ((b[i] << 24) | (b[j] << 16) | (b[k] << 8) | b[l]) >>> 0;
}

function classifyV4Value(value: number): AddressClass {
  for (let i = 0; i < v4Ranges.length; i++) {
    const r = v4Ranges[i];
    if (((value & r.mask) >>> 0) === r.net) return r.cls;
  }
  return "public";
}

/** Most alarming first: what an ambiguous embedding reports. */
const severity: Readonly<Record<AddressClass, number>> = {
  metadata: 0,
  loopback: 1,
  unspecified: 2,
  "link-local": 3,
  private: 4,
  cgnat: 5,
  broadcast: 6,
  multicast: 7,
  reserved: 8,
  documentation: 9,
  public: 10,
};

/** The more alarming of two classes. */
function worse(a: AddressClass, b: AddressClass): AddressClass {
  return severity[b] < severity[a] ? b : a;
}

function zeros(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>): boolean {
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false;
  }
  return true;
}

const nat64Prefix = Uint8Array.of(0, 0x64, 0xff, 0x9b);
const nat64LocalPrefix = Uint8Array.of(0, 0x64, 0xff, 0x9b, 0, 1);
const teredoPrefix = Uint8Array.of(0x20, 0x01, 0, 0);
const ec2MetadataPrefix = Uint8Array.of(0xfd, 0x00, 0x0e, 0xc2);
const docPrefix = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8);

/** Where an IPv6 address embeds IPv4: positions of the 4 bytes, and an XOR. */
type Embedding = readonly [number, number, number, number, number];

const at12: readonly Embedding[] = [[12, 13, 14, 15, 0]];
const nat64Local: readonly Embedding[] = [
  [12, 13, 14, 15, 0], // /96
  [9, 10, 11, 12, 0], // /64
  [7, 9, 10, 11, 0], // /56 (byte 8 is the u-octet)
  [6, 7, 9, 10, 0], // /48
];
const sixToFour: readonly Embedding[] = [[2, 3, 4, 5, 0]];
const teredo: readonly Embedding[] = [
  [12, 13, 14, 15, 0xffffffff], // client, stored inverted
  [4, 5, 6, 7, 0], // server
];

/** The IPv4 embeddings an IPv6 address may carry, or `null` (see below). */
function embeddings(b: Uint8Array): readonly Embedding[] | null {
  if (zeros(b, 0, 10)) {
    if ((b[10] === 0xff && b[11] === 0xff) || (b[10] === 0 && b[11] === 0)) {
      return at12; // mapped ::ffff:0:0/96, compatible ::/96
    }
  }
  if (zeros(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(b, 10, 12)) {
    return at12; // translated ::ffff:0:0:0/96
  }
  if (startsWith(b, nat64Prefix) && zeros(b, 4, 12)) return at12;
  if (startsWith(b, nat64LocalPrefix)) return nat64Local;
  if (b[0] === 0x20 && b[1] === 0x02) return sixToFour;
  if (startsWith(b, teredoPrefix)) return teredo;
  return null;
}

/**
 * Where an IPv6 address carries an IPv4 address, the IPv4 address(es) it
 * may stand for (more than one when the embedding is ambiguous), or `null`.
 * Covers IPv4-mapped `::ffff:0:0/96`, IPv4-compatible `::/96`,
 * IPv4-translated `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96` and the local-use
 * `64:ff9b:1::/48` (every RFC 6052 embedding from /48 to /96), 6to4
 * `2002::/16` and Teredo `2001::/32` (de-obfuscated client, then server).
 *
 * @param bytes 16 bytes
 * @returns candidate 4-byte addresses, or `null` if nothing is embedded
 * @example
 * ```ts
 * embeddedIPv4(parseIp("::ffff:10.0.0.1")!); // [Uint8Array [10, 0, 0, 1]]
 * ```
 */
export function embeddedIPv4(bytes: Uint8Array): Uint8Array[] | null {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16) return null;
  const found = embeddings(bytes);
  if (found === null) return null;
  return found.map(([i, j, k, l, xor]) => {
    const v = (v4Value(bytes, i, j, k, l) ^ xor) >>> 0;
    return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  });
}

/**
 * Classifies an address from its bytes. IPv6 forms embedding IPv4 take the
 * class of the embedded address (the most alarming one when ambiguous).
 * IPv6 outside `2000::/3` is `"reserved"`: only global unicast is
 * `"public"`. `0.0.0.0/8` is `"unspecified"` (connecting to it reaches the
 * local host on Linux). Never throws: a length other than 4 or 16 is
 * `"reserved"`. Allocates nothing.
 *
 * @param bytes 4 or 16 address bytes
 * @returns the address class
 * @example
 * ```ts
 * classify(Uint8Array.of(169, 254, 169, 254)); // "metadata"
 * classify(parseIp("::ffff:7f00:1")!); // "loopback"
 * ```
 */
export function classify(bytes: Uint8Array): AddressClass {
  if (!(bytes instanceof Uint8Array)) return "reserved";
  if (bytes.length === 4) return classifyV4Value(v4Value(bytes, 0, 1, 2, 3));
  if (bytes.length !== 16) return "reserved";
  if (zeros(bytes, 0, 15)) {
    if (bytes[15] === 0) return "unspecified";
    if (bytes[15] === 1) return "loopback";
  }
  const found = embeddings(bytes);
  if (found === null) return classifyV6(bytes);
  let cls: AddressClass = "public";
  for (let n = 0; n < found.length; n++) {
    const e = found[n];
    const value = (v4Value(bytes, e[0], e[1], e[2], e[3]) ^ e[4]) >>> 0;
    cls = worse(cls, classifyV4Value(value));
  }
  return cls;
}

/** IPv6 ranges (most specific first), for addresses with no embedded IPv4. */
function classifyV6(b: Uint8Array): AddressClass {
  if (startsWith(b, ec2MetadataPrefix) && zeros(b, 4, 14)) {
    if (b[14] === 0x02 && b[15] === 0x54) return "metadata"; // fd00:ec2::254
  }
  if (b[0] === 0xff) return "multicast";
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return "link-local"; // fe80::/10
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return "private"; // fec0::/10
  if ((b[0] & 0xfe) === 0xfc) return "private"; // fc00::/7
  if (startsWith(b, docPrefix)) return "documentation";
  if (b[0] === 0x3f && b[1] === 0xff && (b[2] & 0xf0) === 0) {
    return "documentation"; // 3fff::/20
  }
  if (b[0] === 0x20 && b[1] === 0x01 && (b[2] & 0xfe) === 0) {
    return "reserved"; // 2001::/23 IETF protocol assignments
  }
  if (b[0] === 0x5f && b[1] === 0x00) return "reserved"; // 5f00::/16 SRv6
  if ((b[0] & 0xe0) !== 0x20) return "reserved"; // outside 2000::/3
  return "public";
}

// --- CIDR -----------------------------------------------------------------

const mappedPrefix = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;
/** `::ffff:0.0.0.0`, the start of the IPv4-mapped block. */
const mappedBase = Uint8Array.of(...mappedPrefix, 0, 0, 0, 0);

/**
 * Parses CIDR text such as `10.0.0.0/8` or `fd00::/8`; a bare address is a
 * host-length block. Host bits must be zero (`10.0.0.1/8` is rejected as
 * a likely typo), IPv4 must be strict dotted decimal.
 *
 * @param text the CIDR
 * @returns the block, or `null` if `text` is not a valid CIDR
 * @example
 * ```ts
 * parseCidr("127.0.0.0/8"); // { family: 4, bytes: [127,0,0,0], prefix: 8 }
 * parseCidr("127.0.0.1/8"); // null: host bits set
 * ```
 */
export function parseCidr(text: string): Cidr | null {
  if (typeof text !== "string" || text.length > 64) return null;
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(addrText);
  if (bytes === null) return null;
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || +p > bits) return null;
    prefix = +p;
  }
  for (let i = 0; i < bits; i++) {
    if (i >= prefix && bitAt(bytes, i) === 1) return null;
  }
  if (bits === 128 && prefix >= 96 && startsWith(bytes, mappedPrefix)) {
    return { family: 4, bytes: bytes.slice(12), prefix: prefix - 96 };
  }
  return { family: bits === 32 ? 4 : 6, bytes, prefix };
}

function bitAt(bytes: Uint8Array, i: number): number {
  return (bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

/** Do the first `prefix` bits of `a` (from offset `at`) equal those of `net`? */
function prefixEqual(
  a: Uint8Array,
  at: number,
  net: ArrayLike<number>,
  prefix: number,
): boolean {
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (a[at + i] !== net[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[at + full] ^ net[full]) & mask) === 0;
}

/**
 * Does `cidr` contain `addr`? IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
 * are the same address as `a.b.c.d` (they reach the same host on a
 * dual-stack socket), so `127.0.0.0/8` contains `::ffff:127.0.0.1` and
 * `::/0` contains `127.0.0.1`. Other embeddings (NAT64, 6to4) are distinct
 * addresses here; {@linkcode classify} is what sees through them.
 *
 * @param cidr a block from {@linkcode parseCidr}
 * @param addr 4 or 16 address bytes
 * @returns whether the block contains the address; `false` for bad lengths
 * @example
 * ```ts
 * cidrContains(parseCidr("10.0.0.0/8")!, Uint8Array.of(10, 1, 2, 3)); // true
 * ```
 */
export function cidrContains(cidr: Cidr, addr: Uint8Array): boolean {
  let v4At = -1;
  if (addr.length === 4) v4At = 0;
  else if (addr.length !== 16) return false;
  else if (startsWith(addr, mappedPrefix)) v4At = 12;
  if (cidr.family === 4) {
    return v4At >= 0 && prefixEqual(addr, v4At, cidr.bytes, cidr.prefix);
  }
  if (v4At < 0) return prefixEqual(addr, 0, cidr.bytes, cidr.prefix);
  // An IPv4 address against an IPv6 block: the block has prefix < 96 (see
  // parseCidr), so it contains the address iff it contains ::ffff:0:0/96.
  return prefixEqual(mappedBase, 0, cidr.bytes, cidr.prefix);
}

/**
 * The egress address gate: is a connection to `addr` allowed? Public
 * addresses are; any other class only if a CIDR in `allowCidrs` contains
 * it, and a `"metadata"` address only if that CIDR is a single host
 * (`/32` or `/128`), so a broad `169.254.0.0/16` or `0.0.0.0/0` never opens
 * the cloud metadata service by accident.
 *
 * @param addr 4 or 16 address bytes
 * @param allowCidrs blocks the policy explicitly opens
 * @returns whether the address may be connected to
 * @example
 * ```ts
 * isAllowedAddress(Uint8Array.of(127, 0, 0, 1), []); // false
 * isAllowedAddress(Uint8Array.of(127, 0, 0, 1), [parseCidr("127.0.0.1")!]); // true
 * ```
 */
export function isAllowedAddress(
  addr: Uint8Array,
  allowCidrs: readonly Cidr[],
): boolean {
  const cls = classify(addr);
  if (cls === "public") return true;
  for (const cidr of allowCidrs) {
    if (!cidrContains(cidr, addr)) continue;
    const hostBits = cidr.family === 4 ? 32 : 128;
    if (cls === "metadata" && cidr.prefix !== hostBits) continue;
    return true;
  }
  return false;
}
