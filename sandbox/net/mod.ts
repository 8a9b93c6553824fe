/**
 * `net.fetch`: HTTP(S) egress for agents, decided from address bytes.
 *
 * Per hop (the first URL and every followed redirect): parse the URL
 * (`http:`/`https:` only, no userinfo), canonicalise the host as a browser
 * would, resolve a name exactly once, refuse if **any** answer is not
 * public and not inside an explicit `allowCidrs` block, ask `decide`, then
 * connect to the checked IP literal (never the name again, so DNS
 * rebinding cannot swap the address), TLS with the original name for SNI
 * and certificate checks, and speak HTTP/1.1 with `Connection: close` and
 * bounded, strict parsing.
 *
 * | errno       | when                                                                                   |
 * | ----------- | -------------------------------------------------------------------------------------- |
 * | `EACCES`    | the agent lacks capability `net.fetch` (dispatcher)                                    |
 * | `EINVAL`    | bad args: URL, scheme, userinfo, port, headers, body with GET/HEAD                     |
 * | `ENOENT`    | the host name does not resolve                                                         |
 * | `EPERM`     | refused address class, agentos's own endpoint, policy denial, bad redirect, too many redirects |
 * | `EAGAIN`    | policy rate or step budget; too many calls in flight (agent, tenant share, server)     |
 * | `E2BIG`     | request body over `requestBytesMax`, response body over the limit                      |
 * | `ETIMEDOUT` | the whole call (DNS, connect, TLS, every hop) took over `timeoutMs`                    |
 * | `EIO`       | connection refused/reset, TLS failure, malformed HTTP response                         |
 *
 * Slots: an agent holds at most `fetchesPerAgentMax` calls in flight, a
 * tenant (all its agents) at most `fetchesPerTenantMax` (default a quarter
 * of the server's), the server at most `fetchesMax`.
 *
 * Operator (Deno layer): the server runs with `--allow-net=<list>`.
 * `Deno.connect` is checked against the **IP literal** the kernel connects
 * to (IPv6 in full form, e.g. `[0:0:0:0:0:0:0:1]` matches `[::1]`), so
 * the list must hold every egress destination IP (Deno has no CIDR
 * syntax; a server that may reach the open internet needs `--allow-net`
 * without a list, and then this module is the only gate). With the
 * default resolver, `Deno.resolveDns` is checked against each configured
 * nameserver as `<ip>:53` (from `/etc/resolv.conf`), not the queried
 * name. An address Deno refuses surfaces as `EPERM`.
 *
 * @example
 * ```ts
 * const rows = netSyscalls({
 *   decide: () => null,
 *   allowCidrs: () => [],
 * });
 * ```
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../../kernel/mod.ts";
import { defineSyscall, type SyscallDef } from "../../kernel/syscall/mod.ts";
import { type FetchArgs, type NetDeps, netFetch, type Outgoing } from "./fetch.ts";
import { checkRequestHeaders } from "./headers.ts";
import {
  fetchesMaxDefault,
  fetchesPerAgentMaxDefault,
  fetchesPerTenantMaxDefault,
  requestBytesMaxDefault,
  requestHeaderNameCharsMax,
  requestHeadersMax,
  requestHeaderValueCharsMax,
  urlCharsMax,
} from "./limits.ts";

export type { EgressRequest, EgressVerdict, Resolver } from "./destination.ts";
export { resolveSystem } from "./destination.ts";
export type { FetchArgs, FetchResult, NetDeps } from "./fetch.ts";
export { reservedRequestHeaders } from "./headers.ts";
// One checked HTTP/1.1 exchange, for the server's own egress (webhook deliveries, api/webhooks/): the same
// target parsing, pinned connection and bounded parser as agents' `net.fetch`.
export { exchange, HopError, type HopResult } from "./exchange.ts";
export type { Destination } from "./destination.ts";
export type { ResponseHead, WireRequest } from "./http1.ts";
export { parseTarget, type Target } from "./target.ts";
export * from "./limits.ts";

/** Methods an agent may use. */
export const fetchMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/** The strict args schema of `net.fetch`. */
export const fetchArgsSchema = z.strictObject({
  url: z.string().min(1).max(urlCharsMax),
  method: z.enum(fetchMethods).optional(),
  headers: z.record(z.string().min(1).max(requestHeaderNameCharsMax), z.string().max(requestHeaderValueCharsMax))
    .refine((h) => Object.keys(h).length <= requestHeadersMax, `at most ${requestHeadersMax} headers`)
    .optional(),
  body: z.string().optional(),
  bodyBase64: z.string().optional(),
  timeoutMs: z.int().min(1).optional(),
  maxResponseBytes: z.int().min(0).optional(),
  redirect: z.enum(["follow", "manual"]).optional(),
});

/**
 * The egress rows: `net.fetch` (capability `net.fetch`).
 *
 * Args: `{ url, method?, headers?, body? | bodyBase64?, timeoutMs?,
 * maxResponseBytes?, redirect? }`. Result: `{ status, statusText,
 * headers, bodyBase64, url, redirects }`.
 *
 * @param deps policy, allowed CIDRs, resolver and ceilings
 * @returns the rows to add to a `SyscallTable`
 * @example
 * ```ts
 * const table = new SyscallTable([...netSyscalls({ decide: () => null, allowCidrs: () => [] })]);
 * ```
 */
export function netSyscalls(deps: NetDeps): SyscallDef[] {
  const perAgentMax = deps.fetchesPerAgentMax ?? fetchesPerAgentMaxDefault;
  const perTenantMax = deps.fetchesPerTenantMax ?? fetchesPerTenantMaxDefault;
  const totalMax = deps.fetchesMax ?? fetchesMaxDefault;
  const byAgent = new Slots<number>();
  const byTenant = new Slots<string>();
  let total = 0;
  return [
    defineSyscall({
      name: "net.fetch",
      blocking: true,
      args: fetchArgsSchema,
      capability: "net.fetch",
      handler: async ({ proc, args, addBytes }) => {
        const out = outgoing(deps, args);
        if (byAgent.held(proc.pid) >= perAgentMax) {
          throw new KernelError("EAGAIN", `net.fetch: over ${perAgentMax} calls in flight`);
        }
        if (byTenant.held(proc.tenant) >= perTenantMax) {
          throw new KernelError("EAGAIN", `net.fetch: tenant holds its share of ${perTenantMax} server egress slots`);
        }
        if (total >= totalMax) throw new KernelError("EAGAIN", "net.fetch: server egress is busy");
        byAgent.take(proc.pid);
        byTenant.take(proc.tenant);
        total++;
        try {
          return await netFetch(deps, proc, args, out, addBytes);
        } finally {
          total--;
          byTenant.give(proc.tenant);
          byAgent.give(proc.pid);
        }
      },
    }),
  ];
}

/** Slots held per key; a key holding none has no entry (bounded by the calls in flight). */
class Slots<K> {
  readonly #held = new Map<K, number>();

  held(key: K): number {
    return this.#held.get(key) ?? 0;
  }

  take(key: K): void {
    this.#held.set(key, this.held(key) + 1);
  }

  give(key: K): void {
    const left = this.held(key) - 1;
    if (left <= 0) this.#held.delete(key);
    else this.#held.set(key, left);
  }
}

/** Method, checked headers and body bytes of the first hop. */
function outgoing(deps: NetDeps, args: FetchArgs): Outgoing {
  const method = args.method ?? "GET";
  const headers = checkRequestHeaders(args.headers);
  if (args.body !== undefined && args.bodyBase64 !== undefined) invalid("give body or bodyBase64, not both");
  let body: Uint8Array | null = null;
  if (args.body !== undefined) body = new TextEncoder().encode(args.body);
  if (args.bodyBase64 !== undefined) {
    try {
      body = Uint8Array.fromBase64(args.bodyBase64);
    } catch {
      invalid("bodyBase64 is not base64");
    }
  }
  if (body !== null && (method === "GET" || method === "HEAD")) invalid(`${method} takes no body`);
  const max = deps.requestBytesMax ?? requestBytesMaxDefault;
  if (body !== null && body.length > max) throw new KernelError("E2BIG", `net.fetch: request body over ${max} bytes`);
  return { method, headers, body };
}

function invalid(why: string): never {
  throw new KernelError("EINVAL", `net.fetch: ${why}`);
}
