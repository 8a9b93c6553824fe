/**
 * The `net.fetch` handler: per hop parse → resolve → classify → decide →
 * connect to the pinned address → HTTP/1.1; redirects re-run every check.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import type { Cidr } from "../egress/mod.ts";
import { DeadlineError } from "../../lib/mod.ts";
import {
  checkDestination,
  type EgressRequest,
  type EgressVerdict,
  type Resolver,
  resolveSystem,
} from "./destination.ts";
import { exchange, HopError, type HopResult } from "./exchange.ts";
import type { HeaderPair } from "./headers.ts";
import { headerValues, type ResponseHead, type WireRequest } from "./http1.ts";
import {
  redirectsMaxDefault,
  responseBytesMaxDefault,
  timeoutMsDefault,
  timeoutMsMaxDefault,
  urlCharsMax,
} from "./limits.ts";
import { parseTarget, type Target } from "./target.ts";

/** What `net.fetch` needs from the host. */
export interface NetDeps {
  /**
   * Policy for one connection (called once per hop, for the address that
   * will be connected to, after classification passed). Return `EPERM` to
   * refuse, `EAGAIN` for a rate limit, `null` to allow, or an errno with
   * the reason.
   */
  decide(proc: Process, req: EgressRequest): EgressVerdict;
  /** CIDRs the policy explicitly allows for non-public addresses. */
  allowCidrs(proc: Process): readonly Cidr[];
  /** DNS (default: `Deno.resolveDns` A + AAAA). Called exactly once per hop that names a host. */
  resolve?: Resolver;
  /** Request body ceiling, bytes (default `requestBytesMaxDefault`). */
  requestBytesMax?: number;
  /** Response body ceiling, bytes (default {@linkcode responseBytesMaxDefault}). */
  responseBytesMax?: number;
  /** Ceiling of an agent's `timeoutMs` (default {@linkcode timeoutMsMaxDefault}); larger asks are clamped. */
  timeoutMsMax?: number;
  /** Redirects followed per call (default {@linkcode redirectsMaxDefault}); one more is `EPERM`. */
  redirectsMax?: number;
  /** Calls of one agent in flight at once (default `fetchesPerAgentMaxDefault`); more are `EAGAIN`. */
  fetchesPerAgentMax?: number;
  /** Extra trusted root certificates (PEM), e.g. a private CA; the system roots always apply. */
  caCerts?: readonly string[];
  /** Calls of all agents in flight at once (default `fetchesMaxDefault`); more are `EAGAIN`. */
  fetchesMax?: number;
  /** Calls of one tenant's agents in flight at once (default `fetchesPerTenantMaxDefault`); more are `EAGAIN`. */
  fetchesPerTenantMax?: number;
}

/** The validated args of `net.fetch`. */
export interface FetchArgs {
  url: string;
  method?: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  body?: string;
  bodyBase64?: string;
  timeoutMs?: number;
  maxResponseBytes?: number;
  redirect?: "follow" | "manual";
}

/** What `net.fetch` returns. */
export interface FetchResult {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with `", "`. */
  headers: Record<string, string>;
  bodyBase64: string;
  /** The URL of the final hop. */
  url: string;
  /** Redirects followed. */
  redirects: number;
}

/** One hop's request before it meets a target (method, checked headers, body). */
export interface Outgoing {
  method: string;
  headers: HeaderPair[];
  body: Uint8Array | null;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** Dropped when a redirect leaves the origin: credentials the agent meant for the first origin. */
const crossOriginDropped = new Set(["authorization", "cookie", "proxy-authorization"]);
/** Dropped when a redirect drops the body. */
const bodyHeaders = new Set(["content-type", "content-encoding", "content-language", "content-location"]);

/**
 * Serve one `net.fetch` call with the hop loop and the call's deadline.
 *
 * @throws {KernelError} see the errno table in `mod.ts`
 */
export async function netFetch(
  deps: NetDeps,
  proc: Process,
  args: FetchArgs,
  out: Outgoing,
  addBytes: (n: number) => void,
): Promise<FetchResult> {
  const timeoutMs = Math.min(args.timeoutMs ?? timeoutMsDefault, deps.timeoutMsMax ?? timeoutMsMaxDefault);
  const limit = Math.min(
    args.maxResponseBytes ?? Number.MAX_SAFE_INTEGER,
    deps.responseBytesMax ?? responseBytesMaxDefault,
  );
  const redirectsMax = deps.redirectsMax ?? redirectsMaxDefault;
  const follow = (args.redirect ?? "follow") === "follow";
  const checks = { decide: deps.decide, allowCidrs: deps.allowCidrs, resolve: deps.resolve ?? resolveSystem };
  let target = parseTarget(args.url);
  let redirects = 0;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const signal = ctl.signal;
  try {
    for (;;) {
      const dest = await checkDestination(checks, proc, target, out.method, signal);
      if (out.body !== null) addBytes(out.body.length);
      const wire: WireRequest = { ...out, path: target.path, hostHeader: target.hostHeader };
      const skipBody = (h: ResponseHead) => follow && nextLocation(h) !== null;
      const hop: HopResult = await exchange(dest, target, wire, { signal, limit, skipBody, caCerts: deps.caCerts });
      const location = follow ? nextLocation(hop.head) : null;
      if (location === null || hop.body !== null) return result(hop, target, redirects, addBytes);
      if (++redirects > redirectsMax) throw new KernelError("EPERM", `net.fetch: more than ${redirectsMax} redirects`);
      const next = redirectTarget(location, target);
      out = redirectRequest(out, hop.head.status, sameOrigin(target, next));
      target = next;
    }
  } catch (err) {
    throw toFetchErrno(err, signal, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

function nextLocation(head: ResponseHead): string | null {
  if (!redirectStatuses.has(head.status)) return null;
  const values = headerValues(head, "location");
  return values.length === 1 ? values[0] : null;
}

function result(hop: HopResult, target: Target, redirects: number, addBytes: (n: number) => void): FetchResult {
  const body = hop.body ?? new Uint8Array(0);
  addBytes(body.length);
  const headers: Record<string, string> = Object.create(null);
  for (const [name, value] of hop.head.headers) {
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${value}` : value;
  }
  return {
    status: hop.head.status,
    statusText: hop.head.statusText,
    headers,
    bodyBase64: body.toBase64(),
    url: target.url.href,
    redirects,
  };
}

/** Parse a redirect's Location against the current URL; anything unusable is `EPERM`. */
function redirectTarget(location: string, from: Target): Target {
  let href: string;
  try {
    href = new URL(location, from.url).href;
  } catch {
    throw new KernelError("EPERM", "net.fetch: redirect to an invalid URL");
  }
  if (href.length > urlCharsMax) throw new KernelError("EPERM", "net.fetch: redirect URL too long");
  try {
    return parseTarget(href);
  } catch (err) {
    const why = err instanceof KernelError ? err.message.replace(/^net\.fetch: /, "") : "bad URL";
    throw new KernelError("EPERM", `net.fetch: redirect refused: ${why}`);
  }
}

function sameOrigin(a: Target, b: Target): boolean {
  return a.url.origin === b.url.origin;
}

/** Fetch-spec method rewriting: 303 (non-HEAD) and 301/302 after POST become GET without a body. */
function redirectRequest(out: Outgoing, status: number, keepCredentials: boolean): Outgoing {
  const toGet = (status === 303 && out.method !== "HEAD") ||
    ((status === 301 || status === 302) && out.method === "POST");
  let headers = out.headers;
  if (!keepCredentials) headers = headers.filter(([n]) => !crossOriginDropped.has(n.toLowerCase()));
  if (!toGet) return { ...out, headers };
  headers = headers.filter(([n]) => !bodyHeaders.has(n.toLowerCase()));
  return { method: "GET", headers, body: null };
}

/** Map any failure to a guest-safe errno; raw host errors never pass through. */
function toFetchErrno(err: unknown, signal: AbortSignal, timeoutMs: number): KernelError {
  if (err instanceof DeadlineError || (signal.aborted && !(err instanceof KernelError && err.code === "E2BIG"))) {
    return new KernelError("ETIMEDOUT", `net.fetch: no complete response within ${timeoutMs} ms`);
  }
  if (err instanceof KernelError) return err;
  if (!(err instanceof HopError)) return new KernelError("EIO", "net.fetch: internal error");
  const cause = err.cause;
  if (cause instanceof Deno.errors.NotCapable || cause instanceof Deno.errors.PermissionDenied) {
    return new KernelError(
      "EPERM",
      "net.fetch: egress to this address is not enabled on this server: " +
        "the server must be started with AGENTOS_EGRESS_HOSTS listing the destination (its network allowlist)",
    );
  }
  if (cause instanceof Deno.errors.ConnectionRefused) return new KernelError("EIO", "net.fetch: connection refused");
  if (cause instanceof Deno.errors.TimedOut) return new KernelError("ETIMEDOUT", "net.fetch: connect timed out");
  if (err.phase === "tls") return new KernelError("EIO", "net.fetch: TLS handshake or certificate check failed");
  if (err.phase === "connect") return new KernelError("EIO", "net.fetch: could not connect");
  return new KernelError("EIO", "net.fetch: connection failed mid-exchange");
}
