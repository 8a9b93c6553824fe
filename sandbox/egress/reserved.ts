/**
 * Endpoints of agentos itself — the addresses its API listens on, and any
 * other part of its own data plane an operator registers — which no agent
 * may ever connect to, whatever any policy allows. The supervisor's Deno
 * `--allow-net` must contain its own listen address (to listen), and Deno
 * cannot tell a listen grant from a connect grant, so this check in the
 * kernel is what keeps `net.fetch` off the server's own API.
 *
 * One registered `host:port` reserves, at that port:
 * - the address itself (and its IPv4-mapped / embedded IPv6 spellings);
 * - every unspecified address (`0.0.0.0/8`, `::`): connecting to them
 *   reaches the local host;
 * - for a loopback host, all of loopback (`127.0.0.0/8`, `::1`);
 * - for a wildcard host (`0.0.0.0`, `::`), all of loopback plus every
 *   address of the machine's interfaces; if those cannot be read, every
 *   address at that port (fail closed).
 *
 * @example
 * ```ts
 * const reserved = new ReservedEndpoints();
 * reserved.add({ hostname: "127.0.0.1", port: 8787 }, "the agentos API");
 * reserved.match(Uint8Array.of(127, 0, 0, 1), 8787); // "127.0.0.1:8787 (the agentos API)"
 * reserved.match(Uint8Array.of(127, 0, 0, 1), 8788); // null
 * ```
 *
 * @module
 */

import { type Cidr, cidrContains, parseCidr } from "./cidr.ts";
import { classify, embeddedIPv4 } from "./classify.ts";
import { formatIp, parseIp } from "./ip.ts";

/** Most endpoints one registry holds (each a port with its blocks). */
export const reservedEndpointsMax = 64;

/** A listening address, as `Deno.serve(...).addr` gives it. */
export interface ListenAddress {
  /** An IP literal (IPv6 with or without brackets). */
  readonly hostname: string;
  /** The port, 1–65535. */
  readonly port: number;
}

interface Entry {
  readonly port: number;
  readonly label: string;
  readonly text: string;
  /** Every address at this port (the interfaces of a wildcard listener are unknown). */
  readonly anyAddress: boolean;
  readonly blocks: readonly Cidr[];
}

const always = ["0.0.0.0/8", "::/128"].map((c) => parseCidr(c)!);
const loopback = ["127.0.0.0/8", "::1/128"].map((c) => parseCidr(c)!);

/** The machine's interface addresses (needs `--allow-sys=networkInterfaces`). */
function interfaceAddresses(): string[] {
  return Deno.networkInterfaces().map((i) => i.address);
}

/** Endpoints of agentos that agents may never reach. */
export class ReservedEndpoints {
  readonly #entries: Entry[] = [];

  /**
   * Reserve a listening address.
   *
   * @param listen the address the server listens on
   * @param label what it is, for the refusal message
   * @param localAddresses the machine's addresses (wildcard listeners only; default: its interfaces)
   * @throws {RangeError} on a hostname that is not an IP literal, a bad port, or too many endpoints
   */
  add(listen: ListenAddress, label: string, localAddresses: () => readonly string[] = interfaceAddresses): void {
    const host = listen.hostname.replace(/^\[(.*)\]$/, "$1");
    const bytes = parseIp(host);
    if (bytes === null) throw new RangeError(`reserved endpoint: ${JSON.stringify(host)} is not an IP literal`);
    if (!Number.isInteger(listen.port) || listen.port < 1 || listen.port > 65535) {
      throw new RangeError(`reserved endpoint: bad port ${listen.port}`);
    }
    if (this.#entries.length >= reservedEndpointsMax) {
      throw new RangeError(`reserved endpoint: more than ${reservedEndpointsMax}`);
    }
    const cls = classify(bytes);
    const blocks: Cidr[] = [...always, parseCidr(formatIp(bytes))!];
    let anyAddress = false;
    if (cls === "loopback" || cls === "unspecified") blocks.push(...loopback);
    if (cls === "unspecified") {
      try {
        for (const text of localAddresses()) {
          const cidr = parseCidr(text.replace(/%.*$/, ""));
          if (cidr !== null) blocks.push(cidr);
        }
      } catch {
        anyAddress = true;
      }
    }
    const text = bytes.length === 16 ? `[${formatIp(bytes)}]:${listen.port}` : `${formatIp(bytes)}:${listen.port}`;
    this.#entries.push({ port: listen.port, label, text, anyAddress, blocks });
  }

  /**
   * Is a connection to `addr:port` one to agentos itself?
   *
   * @param addr 4 or 16 address bytes
   * @param port the destination port
   * @returns a description of the endpoint it reaches, or `null`
   */
  match(addr: Uint8Array, port: number): string | null {
    for (const entry of this.#entries) {
      if (entry.port !== port) continue;
      if (entry.anyAddress) return `${entry.text} (${entry.label})`;
      const candidates = addr.length === 16 ? [addr, ...(embeddedIPv4(addr) ?? [])] : [addr];
      for (const candidate of candidates) {
        for (const block of entry.blocks) {
          if (cidrContains(block, candidate)) return `${entry.text} (${entry.label})`;
        }
      }
    }
    return null;
  }

  /** Registered endpoints, as text. */
  list(): string[] {
    return this.#entries.map((e) => `${e.text} (${e.label})`);
  }
}
