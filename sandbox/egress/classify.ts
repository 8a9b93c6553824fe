/**
 * Address classification from bytes: what an address is (loopback,
 * private, metadata, ...), decided from its 4 or 16 bytes by the IPv4
 * special ranges and the IPv6 ranges below. IPv6 forms that carry an IPv4
 * address (mapped, compatible, translated, NAT64, 6to4, Teredo) are
 * classified by the IPv4 address they embed, so `[::ffff:169.254.169.254]`
 * is `"metadata"`, not `"public"`; where the embedding is ambiguous the
 * most alarming reading wins.
 *
 * @module
 */

import { startsWith, zeros } from "./ip.ts";

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
