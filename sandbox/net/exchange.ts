/**
 * One hop: connect to the pinned address, TLS with the original name, one
 * HTTP/1.1 request and response, connection closed whatever happens.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { DeadlineError, raceAbort } from "../../lib/mod.ts";
import type { Destination } from "./destination.ts";
import { readBody, readHead, type ResponseHead, type WireRequest, writeRequest } from "./http1.ts";
import { ByteReader } from "./reader.ts";
import type { Target } from "./target.ts";

/** What one hop returns. */
export interface HopResult {
  readonly head: ResponseHead;
  /** The body, or `null` when the caller asked to skip it (a redirect to follow). */
  readonly body: Uint8Array | null;
}

/** Where a hop failed, for the errno message. */
export type HopPhase = "connect" | "tls" | "exchange";

/** An I/O failure of a hop, tagged with its phase (never shown raw to agents). */
export class HopError extends Error {
  /** @param phase where it failed @param cause the original error */
  constructor(readonly phase: HopPhase, override readonly cause: unknown) {
    super(`hop failed during ${phase}`);
    this.name = "HopError";
  }
}

/** Options of one hop. */
export interface HopOptions {
  readonly signal: AbortSignal;
  /** Body ceiling, bytes. */
  readonly limit: number;
  /** Extra trusted root certificates (PEM). */
  readonly caCerts?: readonly string[];
  /** Read the head only (a redirect that will be followed). */
  readonly skipBody: (head: ResponseHead) => boolean;
}

/**
 * Perform one exchange with `dest` for `target`.
 *
 * Deno layer: `Deno.connect` checks `--allow-net` against the IP literal
 * `dest.connectHost` (and port), never the name, so the operator's
 * allowlist must list every destination IP (optionally `ip:port`; Deno has
 * no CIDR syntax). A server meant to reach arbitrary public hosts needs a
 * bare `--allow-net`, which leaves this module as the only egress gate.
 * `startTls` needs no further permission.
 *
 * @throws {HopError} for I/O failures, {@linkcode DeadlineError} on abort,
 * `KernelError` for protocol and size errors
 */
export async function exchange(
  dest: Destination,
  target: Target,
  req: WireRequest,
  opts: HopOptions,
): Promise<HopResult> {
  const { signal } = opts;
  if (signal.aborted) throw new DeadlineError();
  let conn: Deno.Conn | null = null;
  const close = () => {
    if (conn !== null) closeQuietly(conn);
    conn = null;
  };
  signal.addEventListener("abort", close, { once: true });
  try {
    const tcp = await step("connect", signal, Deno.connect({ hostname: dest.connectHost, port: target.port, signal }));
    conn = tcp;
    if (target.tls) {
      const pending = Deno.startTls(tcp, { hostname: target.tlsName, caCerts: opts.caCerts && [...opts.caCerts] });
      pending.then((late) => signal.aborted && closeQuietly(late), () => {});
      const tls = await step("tls", signal, pending);
      conn = tls;
      await step("tls", signal, tls.handshake()); // fail here, not at the first write, on a bad certificate
    }
    const live: Deno.Conn = conn;
    return await step("exchange", signal, talk(live, req, opts));
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

async function talk(conn: Deno.Conn, req: WireRequest, opts: HopOptions): Promise<HopResult> {
  await writeRequest(conn, req);
  const reader = new ByteReader(conn);
  const head = await readHead(reader);
  if (opts.skipBody(head)) return { head, body: null };
  const body = await readBody(reader, head, req.method, opts.limit);
  return { head, body };
}

/** Await `p` bounded by `signal`; wrap non-kernel failures with the phase. */
async function step<T>(phase: HopPhase, signal: AbortSignal, p: Promise<T>): Promise<T> {
  try {
    return await raceAbort(p, signal);
  } catch (err) {
    if (signal.aborted) throw new DeadlineError();
    if (err instanceof KernelError) throw err;
    throw new HopError(phase, err);
  }
}
