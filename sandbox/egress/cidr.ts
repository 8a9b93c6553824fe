/**
 * CIDR blocks: parsing policy text such as `10.0.0.0/8` into a block, and
 * whether a block contains an address. An IPv4-mapped IPv6 address and its
 * IPv4 address are the same address here, in blocks and in addresses alike.
 *
 * @module
 */

import { parseIp, startsWith } from "./ip.ts";

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
