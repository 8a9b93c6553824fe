/**
 * The server's own egress for webhook deliveries, under the same checks as
 * agents' `net.fetch`: `http:`/`https:` only, no userinfo; a name is
 * resolved once and **every** answer must be public or inside the
 * operator's allowlist (`webhooks.allowHosts`, `AGENTOS_WEBHOOK_ALLOW_HOSTS`;
 * a cloud metadata address only by a single-host entry); agentos's own
 * endpoints are never reachable; the connection goes to the address that
 * passed (never the name again); redirects are not followed. Deno's
 * `--allow-net` is the outer layer: an address it refuses is an error
 * naming the knob.
 *
 * @module
 */

import { type Cidr, classify, formatIp, isAllowedAddress, parseCidr } from "../../sandbox/egress/mod.ts";
import { exchange, HopError, parseTarget, type Resolver, resolveSystem, type Target } from "../../sandbox/net/mod.ts";
import { ApiError } from "../api_error.ts";

/** What the egress needs from the server. */
export interface EgressOptions {
  /** IPs or CIDRs a non-public destination must fall in (default none: loopback and private refused). */
  allowHosts?: readonly string[];
  /** agentos's own endpoints (the runtime's reserved list): a description, or null. */
  reserved?: (addr: Uint8Array, port: number) => string | null;
  /** DNS (default `Deno.resolveDns` A + AAAA). */
  resolve?: Resolver;
}

/** How one POST ended. */
export type PostResult =
  | { kind: "answered"; status: number }
  | { kind: "failed"; error: string; retry: boolean };

/** The knob named in refusals. */
const knob = "webhooks.allowHosts (AGENTOS_WEBHOOK_ALLOW_HOSTS)";

/** The checked egress of deliveries. */
export class WebhookEgress {
  readonly #allow: readonly Cidr[];
  readonly #reserved: (addr: Uint8Array, port: number) => string | null;
  readonly #resolve: Resolver;

  /** @throws {RangeError} for an `allowHosts` entry that is not an IP or CIDR */
  constructor(options: EgressOptions = {}) {
    this.#allow = (options.allowHosts ?? []).map((text) => {
      const cidr = parseCidr(text.trim());
      if (cidr === null) throw new RangeError(`${knob}: ${JSON.stringify(text)} is not an IP address or CIDR`);
      return cidr;
    });
    this.#reserved = options.reserved ?? (() => null);
    this.#resolve = options.resolve ?? resolveSystem;
  }

  /**
   * Check a URL at registration: shape, and (for an IP literal) its address.
   * A name is checked at every delivery, when it is resolved.
   *
   * @returns the canonical URL
   * @throws {ApiError} 400 `invalid_url`, 400 `egress_refused`
   */
  checkUrl(text: string): string {
    let target: Target;
    try {
      target = parseTarget(text);
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(/^net\.fetch: /, "") : "bad URL";
      throw new ApiError(400, "invalid_url", `url: ${why}; give an http: or https: URL without userinfo`);
    }
    if (target.host.kind === "name" && /(^|\.)localhost$/.test(target.host.name)) {
      throw new ApiError(400, "egress_refused", `url: localhost is a loopback name; ${this.#howToOpen()}`);
    }
    if (target.host.kind === "address") {
      const refused = this.#refusal(target.host.bytes, target.port);
      if (refused !== null) throw new ApiError(400, "egress_refused", `url: ${refused}`);
    }
    return target.url.href;
  }

  /**
   * POST `body` to `url` with `headers`, within `timeoutMs` (DNS, connect,
   * TLS and the response head together); `stop` abandons it. Never throws.
   */
  async post(
    url: string,
    headers: [string, string][],
    body: Uint8Array,
    timeoutMs: number,
    stop?: AbortSignal,
  ): Promise<PostResult> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const abandon = () => ctl.abort();
    stop?.addEventListener("abort", abandon, { once: true });
    try {
      const target = parseTarget(url);
      const addr = await this.#pin(target, ctl.signal);
      if (typeof addr === "string") return { kind: "failed", error: addr, retry: false };
      const dest = { addr, connectHost: connectText(addr) };
      const wire = { method: "POST", path: target.path, hostHeader: target.hostHeader, headers, body };
      const hop = await exchange(dest, target, wire, { signal: ctl.signal, limit: 0, skipBody: () => true });
      return { kind: "answered", status: hop.head.status };
    } catch (err) {
      if (stop?.aborted) return { kind: "failed", error: "server stopping: attempt abandoned", retry: false };
      if (ctl.signal.aborted) {
        return { kind: "failed", error: `timeout: no answer within ${timeoutMs} ms`, retry: true };
      }
      return failure(err);
    } finally {
      clearTimeout(timer);
      stop?.removeEventListener("abort", abandon);
    }
  }

  /** Resolve once and check every answer; the address to connect to, or why not. */
  async #pin(target: Target, signal: AbortSignal): Promise<Uint8Array | string> {
    if (target.host.kind === "address") return this.#refusal(target.host.bytes, target.port) ?? target.host.bytes;
    const addrs = await this.#resolve(target.host.name, signal);
    if (addrs.length === 0) throw new Error("no address");
    for (const addr of addrs) {
      const refused = this.#refusal(addr, target.port);
      if (refused !== null) return `${target.host.name} resolves to ${refused}`;
    }
    return addrs[0].slice();
  }

  #refusal(addr: Uint8Array, port: number): string | null {
    const own = this.#reserved(addr, port);
    if (own !== null) return `${own} is agentos's own endpoint; webhooks never reach it`;
    if (isAllowedAddress(addr, this.#allow)) return null;
    return `${formatIp(addr)} is a ${classify(addr)} address; ${this.#howToOpen()}`;
  }

  #howToOpen(): string {
    return `only public addresses are allowed unless the operator lists the address in ${knob}`;
  }
}

function failure(err: unknown): PostResult {
  const cause = err instanceof HopError ? err.cause : err;
  if (cause instanceof Deno.errors.NotCapable || cause instanceof Deno.errors.PermissionDenied) {
    return {
      kind: "failed",
      error: "the server's network allowlist refuses this address: start it with AGENTOS_EGRESS_HOSTS listing it",
      retry: false,
    };
  }
  if (cause instanceof Deno.errors.ConnectionRefused) {
    return { kind: "failed", error: "connection refused", retry: true };
  }
  if (err instanceof HopError) return { kind: "failed", error: `connection failed (${err.phase})`, retry: true };
  const message = err instanceof Error ? err.message.replace(/^net\.fetch: /, "") : String(err);
  if (/resolve|no address/.test(message)) return { kind: "failed", error: "host name does not resolve", retry: true };
  return { kind: "failed", error: `bad response: ${message.slice(0, 200)}`, retry: true };
}

const mappedPrefix = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** IP text to connect to; `::ffff:a.b.c.d` is connected as `a.b.c.d`. */
function connectText(addr: Uint8Array): string {
  if (addr.length === 16 && mappedPrefix.every((b, i) => addr[i] === b)) return formatIp(addr.subarray(12));
  return formatIp(addr);
}
