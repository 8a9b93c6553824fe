/**
 * Egress confinement: turn a guest-supplied host into bytes the way a
 * browser would, classify every address from its bytes, and gate
 * connections on the class and the policy's explicit CIDRs; endpoints of
 * agentos itself ({@linkcode ReservedEndpoints}) are never reachable.
 * The rule throughout: **decide from bytes, never from text.**
 *
 * - `host.ts`: guest host text, canonicalised as a browser would;
 * - `ip.ts`: strict IP literals (DNS answers, policy CIDRs) to bytes and back;
 * - `classify.ts`: what an address is, seeing through embedded IPv4;
 * - `cidr.ts`: CIDR blocks and containment;
 * - `gate.ts`: the allow decision from class and explicit CIDRs;
 * - `reserved.ts`: agentos's own endpoints, never reachable.
 *
 * @example
 * ```ts
 * import { classify, parseHost } from "./mod.ts";
 * const host = parseHost("0177.0.0.1");
 * if (host.kind === "address") classify(host.bytes); // "loopback"
 * ```
 *
 * @module
 */

export { type Cidr, cidrContains, parseCidr } from "./cidr.ts";
export { type AddressClass, classify, embeddedIPv4 } from "./classify.ts";
export { isAllowedAddress } from "./gate.ts";
export { hostCharsMax, hostNameCharsMax, type ParsedHost, parseHost } from "./host.ts";
export { formatIp, parseIp } from "./ip.ts";
export { type ListenAddress, ReservedEndpoints, reservedEndpointsMax } from "./reserved.ts";
