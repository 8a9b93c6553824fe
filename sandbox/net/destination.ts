/**
 * From a parsed target to the one address the kernel will connect to:
 * resolve (once), classify every address, ask the policy, and pin the
 * address that passed. The caller connects to `connectHost`, an IP literal,
 * never to the name, so a rebinding DNS server cannot change the answer
 * between check and use.
 *
 * Deno layer: `Deno.resolveDns` (the default resolver) needs
 * `--allow-net=<nameserver ip>:53` for every nameserver in the host's
 * resolver configuration (`/etc/resolv.conf`), not the queried name.
 *
 * @module
 */

import { type Errno, KernelError } from "../../kernel/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import { type Cidr, classify, formatIp, isAllowedAddress, parseIp } from "../egress/mod.ts";
import { DeadlineError, raceAbort } from "../../lib/mod.ts";
import { resolvedAddressesMax } from "./limits.ts";
import type { Target } from "./target.ts";

/** What the policy layer is asked about each connection. */
export interface EgressRequest {
  /** The DNS name, or the canonical IP text for a literal. */
  readonly host: string;
  /** The address that will be connected to: 4 or 16 bytes (a copy). */
  readonly addr: Uint8Array;
  /** Effective port. */
  readonly port: number;
  /** HTTP method of this hop. */
  readonly method: string;
}

/**
 * The answer about one connection: `null` to allow, an errno (`EPERM` to
 * refuse, `EAGAIN` for a rate limit), or an errno with the reason to tell
 * the agent.
 */
export type EgressVerdict = Errno | { readonly errno: Errno; readonly message: string } | null;

/** Resolves a DNS name to 4- or 16-byte addresses. */
export type Resolver = (name: string, signal?: AbortSignal) => Promise<Uint8Array[]>;

/** The checks a destination must pass (a subset of `NetDeps`). */
export interface DestinationChecks {
  decide(proc: Process, req: EgressRequest): EgressVerdict;
  allowCidrs(proc: Process): readonly Cidr[];
  resolve: Resolver;
}

/** The pinned destination of one hop. */
export interface Destination {
  /** The checked address (owned copy). */
  readonly addr: Uint8Array;
  /** IP text to hand to `Deno.connect` (IPv4-mapped IPv6 is connected as IPv4). */
  readonly connectHost: string;
}

/**
 * Resolve `target`'s host (one lookup), refuse if any address is not
 * allowed, ask `decide` about the address that will be used, and pin it.
 *
 * @throws {KernelError} `ENOENT` when the name does not resolve, `EPERM`
 * for a refused address or policy, `EAGAIN` for a policy rate limit
 * @example
 * ```ts
 * const dest = await checkDestination(checks, proc, parseTarget("http://127.0.0.1/"), "GET");
 * ```
 */
export async function checkDestination(
  checks: DestinationChecks,
  proc: Process,
  target: Target,
  method: string,
  signal?: AbortSignal,
): Promise<Destination> {
  const host = target.host;
  const addrs = host.kind === "address" ? [host.bytes.slice()] : await lookup(checks, host.name, signal);
  const allow = checks.allowCidrs(proc);
  for (const addr of addrs) {
    if (!isAllowedAddress(addr, allow)) throw new KernelError("EPERM", refusedMessage(target, addr));
  }
  const addr = addrs[0];
  const hostText = host.kind === "name" ? host.name : host.canonical;
  const verdict = checks.decide(proc, { host: hostText, addr: addr.slice(), port: target.port, method });
  if (verdict === "EAGAIN") throw new KernelError("EAGAIN", "net.fetch: rate limited by policy");
  if (typeof verdict === "string") throw new KernelError(verdict, "net.fetch: denied by policy");
  if (verdict !== null) throw new KernelError(verdict.errno, `net.fetch: ${verdict.message}`);
  return { addr, connectHost: connectText(addr) };
}

/**
 * Why a non-public address is refused and which knobs open it: an allow
 * rule of the tenant's policy naming its CIDR, and the supervisor's
 * network allowlist (`AGENTOS_EGRESS_HOSTS`). For a DNS name the resolved
 * address is not told (only its class): the agent learns nothing of the
 * server's DNS it could not see anyway.
 */
function refusedMessage(target: Target, addr: Uint8Array): string {
  const kind = classify(addr);
  const who = "set by an admin with PUT /v1/tenants/:id/policy; an agent's own policy cannot open it";
  if (target.host.kind === "name") {
    return `net.fetch: egress to ${target.host.name} refused: it resolves to a ${kind} address, which opens only ` +
      `through a tenant policy rule allowing net.fetch to that address's CIDR (${who}) and the server started ` +
      `with AGENTOS_EGRESS_HOSTS including that address`;
  }
  const ip = formatIp(addr);
  const entry = addr.length === 4 ? ip : `[${ip}]`;
  return `net.fetch: egress to ${entry} (a ${kind} address) needs a tenant policy rule allowing ` +
    `${ip}/${
      addr.length * 8
    } for net.fetch (${who}) and the server started with AGENTOS_EGRESS_HOSTS including ${entry}`;
}

/** One lookup; every answer copied and validated. */
async function lookup(checks: DestinationChecks, name: string, signal?: AbortSignal): Promise<Uint8Array[]> {
  let answer: unknown;
  try {
    const pending = checks.resolve(name, signal);
    answer = await (signal === undefined ? pending : raceAbort(pending, signal));
  } catch (err) {
    if (err instanceof KernelError || err instanceof DeadlineError || signal?.aborted) throw err;
    throw new KernelError("ENOENT", "net.fetch: host name does not resolve");
  }
  if (!Array.isArray(answer) || answer.length === 0) {
    throw new KernelError("ENOENT", "net.fetch: host name does not resolve");
  }
  if (answer.length > resolvedAddressesMax) throw new KernelError("EPERM", "net.fetch: too many DNS answers");
  return answer.map((a) => {
    if (!(a instanceof Uint8Array) || (a.length !== 4 && a.length !== 16)) {
      throw new KernelError("EIO", "net.fetch: resolver returned a bad address");
    }
    return a.slice(); // own copy: a resolver cannot change it after the check
  });
}

const mappedPrefix = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** IP text for `Deno.connect`; `::ffff:a.b.c.d` becomes `a.b.c.d` (same host, and what allowlists name). */
function connectText(addr: Uint8Array): string {
  if (addr.length === 16 && mappedPrefix.every((b, i) => addr[i] === b)) return formatIp(addr.subarray(12));
  return formatIp(addr);
}

/**
 * The default resolver: `Deno.resolveDns` A and AAAA, in that order.
 *
 * @throws {KernelError} `ENOENT` when neither query answers
 */
export async function resolveSystem(name: string, signal?: AbortSignal): Promise<Uint8Array[]> {
  const answers = await Promise.allSettled([
    Deno.resolveDns(name, "A", { signal }),
    Deno.resolveDns(name, "AAAA", { signal }),
  ]);
  const out: Uint8Array[] = [];
  for (const answer of answers) {
    if (answer.status !== "fulfilled") continue;
    for (const text of answer.value) {
      const bytes = parseIp(text);
      if (bytes === null) throw new KernelError("EIO", "net.fetch: unparseable DNS answer");
      out.push(bytes);
    }
  }
  if (out.length === 0) throw new KernelError("ENOENT", "net.fetch: host name does not resolve");
  return out;
}
