/**
 * Egress confinement: turn a guest-supplied host into bytes the way a
 * browser would, classify every address from its bytes, and gate
 * connections on the class and the policy's explicit CIDRs; endpoints of
 * agentos itself ({@linkcode ReservedEndpoints}) are never reachable.
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

export {
  type AddressClass,
  type Cidr,
  cidrContains,
  classify,
  embeddedIPv4,
  formatIp,
  hostCharsMax,
  hostNameCharsMax,
  isAllowedAddress,
  parseCidr,
  type ParsedHost,
  parseHost,
  parseIp,
} from "./address.ts";
export { type ListenAddress, ReservedEndpoints, reservedEndpointsMax } from "./reserved.ts";
