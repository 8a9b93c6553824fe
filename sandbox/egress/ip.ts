/**
 * IP literals as bytes: the strict parser every address decision starts
 * from, and the formatter for messages. Strict means dotted-decimal IPv4
 * without leading zeros and RFC 4291 IPv6 text without brackets or zone id;
 * the many spellings a guest may type are canonicalised first by
 * `parseHost` (`host.ts`).
 *
 * DNS answers (`Deno.resolveDns`) are bare literals: parse them with
 * {@linkcode parseIp} and classify every one of them; connect only to an
 * address that passed.
 *
 * @module
 */

const hexGroupPattern = /^[0-9a-fA-F]{1,4}$/;

/**
 * Strictly parses a bare IP literal: dotted-decimal IPv4 without leading
 * zeros (`127.0.0.1`, not `0177.0.0.1` or `127.1`) or RFC 4291 IPv6 text
 * (`::1`, `::ffff:1.2.3.4`) without brackets or zone id. This is the
 * parser for DNS answers, policy CIDRs and canonical URL hostnames; use
 * `parseHost` for anything a guest typed.
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

/**
 * Strict dotted decimal: four parts 0–255, no leading zeros, no signs.
 *
 * @param text the literal
 * @returns 4 fresh bytes, or `null` if `text` is not strict dotted decimal
 */
export function parseIPv4(text: string): Uint8Array | null {
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

/**
 * Strict RFC 4291 IPv6 text, a dotted IPv4 allowed as the last 32 bits.
 *
 * @param text the literal, without brackets or zone id
 * @returns 16 fresh bytes, or `null` if `text` is not such a literal
 */
export function parseIPv6(text: string): Uint8Array | null {
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

/**
 * Are `bytes[from]` up to (not including) `bytes[to]` all zero?
 *
 * @param bytes the address
 * @param from first index
 * @param to index after the last
 * @returns whether every byte in the range is zero
 */
export function zeros(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Do the first bytes of `bytes` equal `prefix`?
 *
 * @param bytes the address
 * @param prefix the leading bytes to compare
 * @returns whether `bytes` starts with `prefix`
 */
export function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>): boolean {
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false;
  }
  return true;
}
