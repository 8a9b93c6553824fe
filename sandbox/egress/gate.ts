/**
 * The egress address gate: an address is allowed if its class is
 * `"public"` or a CIDR the policy explicitly opens contains it (a single
 * host, for the cloud metadata service).
 *
 * @module
 */

import { type Cidr, cidrContains } from "./cidr.ts";
import { classify } from "./classify.ts";

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
