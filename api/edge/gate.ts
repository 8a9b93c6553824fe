/**
 * The connection gate: our own accept loop in front of the HTTP server,
 * because `Deno.serve` has no accept hook, no connection cap, no header,
 * body or idle timeout, and exits the process when `accept` fails with
 * EMFILE (measured on Deno 2.9.6).
 *
 * Every accepted TCP connection is checked against the caps (total, per
 * client address) synchronously; an admitted one is piped, byte for byte,
 * to the internal `Deno.serve` on a unix socket ({@linkcode InnerServer}),
 * with a {@linkcode RequestFramer} on the request side that holds heads back
 * until complete, adds the client's address and tracks where bodies end.
 * One sweep timer enforces the deadlines (no timer per connection or per
 * chunk). Failed accepts (EMFILE, ENFILE, ...) back off and are logged once
 * per episode; a spare descriptor, freed for the moment, lets the gate
 * answer the connections waiting in the backlog instead of leaving them
 * hanging.
 *
 * This file holds the accept loop, the caps, the byte pipes and the
 * deadlines; descriptor exhaustion is `descriptors.ts`, the canned answers
 * and the writes are `wire.ts`.
 *
 * @module
 */

import {
  acceptBackoffMsMax,
  acceptBackoffMsMin,
  bodyReadBytes,
  clientReadBytes,
  type EdgeLimits,
  headersBytesMax,
  serverReadBytes,
  sweepMsMax,
  sweepMsMin,
} from "../limits.ts";
import { DescriptorGuard, isFdExhaustion } from "./descriptors.ts";
import { type FrameError, RequestFramer } from "./framer.ts";
import { canned, closesEarly, concat, refuse, writeAll } from "./wire.ts";

/** What the gate accepts from: a `Deno.Listener`, or a test double of one. */
export interface GateListener {
  accept(): Promise<Deno.Conn>;
  close(): void;
}

/** Options of a {@linkcode ConnectionGate}. */
export interface GateOptions {
  listener: GateListener;
  /** Opens a connection to the internal HTTP server. */
  connectInner: () => Promise<Deno.Conn>;
  limits: EdgeLimits;
  /** A file or directory to hold open as the spare descriptor (see the module doc). */
  sparePath?: string;
  /** Where episodes are told (once each). @default console.error */
  log?: (line: string) => void;
}

/** Counters of a gate (exposed in `/metrics`). */
export interface GateStats {
  open: number;
  accepted: number;
  refused: { connections: number; address: number; fds: number; inner: number; bad: number };
  timedOut: { headers: number; body: number; idle: number };
  acceptErrors: number;
  fdEpisodes: number;
  /** Connections that never completed a request, closed to give descriptors back. */
  shed: number;
  /** The cap learned from descriptor exhaustion (Infinity until the first episode). */
  fdCap: number;
}

interface Connection {
  client: Deno.Conn;
  inner: Deno.Conn | undefined;
  address: string;
  framer: RequestFramer;
  /** Start of the head being waited for (from accept for the first request), ms. */
  headAtMs: number | undefined;
  bodyAtMs: number | undefined;
  activeAtMs: number;
  /** A request is complete and its answer has not started. */
  awaiting: boolean;
  /** The server answered a request whose body was still coming, and will close: drop the rest. */
  discarding: boolean;
  closed: boolean;
}

/**
 * The accept loop with caps and deadlines.
 *
 * @example
 * ```ts
 * const gate = new ConnectionGate({ listener: Deno.listen({ port: 0 }), connectInner, limits: edgeLimits() });
 * gate.start();
 * ```
 */
export class ConnectionGate {
  readonly stats: GateStats = {
    open: 0,
    accepted: 0,
    refused: { connections: 0, address: 0, fds: 0, inner: 0, bad: 0 },
    timedOut: { headers: 0, body: 0, idle: 0 },
    acceptErrors: 0,
    fdEpisodes: 0,
    shed: 0,
    fdCap: Infinity,
  };
  #options: GateOptions;
  #limits: EdgeLimits;
  #log: (line: string) => void;
  #conns = new Set<Connection>();
  #perAddress = new Map<string, number>();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #busy: Uint8Array;
  #tooMany: Uint8Array;
  #fds: DescriptorGuard<Connection>;

  /** @param options listener, inner connector, limits */
  constructor(options: GateOptions) {
    this.#options = options;
    this.#limits = options.limits;
    this.#log = options.log ?? ((line) => console.error(line));
    const l = options.limits;
    this.#busy = canned(503, "server_busy", `over connectionsMax (${l.connectionsMax} open connections)`, 1);
    this.#tooMany = canned(
      429,
      "too_many_connections",
      `over connectionsPerAddressMax (${l.connectionsPerAddressMax} open connections from one address)`,
      1,
    );
    this.#fds = new DescriptorGuard({
      stats: this.stats,
      limits: l,
      conns: this.#conns,
      close: (c, answer) => this.#close(c, answer),
      accept: () => options.listener.accept(),
      busy: this.#busy,
      sparePath: options.sparePath,
      log: this.#log,
    });
  }

  /** Start accepting. */
  start(): void {
    this.#fds.openSpare();
    const l = this.#limits;
    const shortestMs = Math.min(l.headersMsMax, l.bodyMsMax, l.idleMsMax);
    const sweepMs = Math.max(sweepMsMin, Math.min(sweepMsMax, Math.floor(shortestMs / 4)));
    this.#sweep = setInterval(() => this.#sweepDeadlines(), sweepMs);
    this.#loop = this.#acceptLoop();
  }

  /** Open connections from `address`. */
  openFrom(address: string): number {
    return this.#perAddress.get(address) ?? 0;
  }

  /** Stop accepting (the open connections go on). Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    try {
      this.#options.listener.close();
    } catch { /* closed */ }
    clearInterval(this.#sweep);
    await this.#loop;
    this.#fds.closeSpare();
  }

  /** Close every open connection (after a graceful shutdown). */
  closeAll(): void {
    for (const c of [...this.#conns]) this.#end(c);
  }

  async #acceptLoop(): Promise<void> {
    let backoffMs = 0;
    while (!this.#stopped) {
      let conn: Deno.Conn;
      try {
        conn = await this.#options.listener.accept();
      } catch (err) {
        if (this.#stopped || err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) break;
        this.stats.acceptErrors++;
        if (isFdExhaustion(err)) {
          this.#fds.exhausted(err);
          // Answering one waiting client with the spare is progress: no back-off then.
          if (await this.#fds.refuseWithSpare()) continue;
        }
        backoffMs = backoffMs === 0 ? acceptBackoffMsMin : Math.min(acceptBackoffMsMax, backoffMs * 2);
        await new Promise((r) => setTimeout(r, backoffMs));
        continue;
      }
      backoffMs = 0;
      this.#admit(conn);
    }
  }

  /** Caps, checked synchronously so that no burst can pass them. */
  #admit(conn: Deno.Conn): void {
    this.stats.accepted++;
    const address = peerAddress(conn.remoteAddr);
    if (this.#conns.size >= this.#limits.connectionsMax) {
      this.stats.refused.connections++;
      return refuse(conn, this.#busy);
    }
    if (this.#conns.size >= this.stats.fdCap) {
      this.stats.refused.fds++;
      return refuse(conn, this.#fds.answer);
    }
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= this.#limits.connectionsPerAddressMax) {
      this.stats.refused.address++;
      return refuse(conn, this.#tooMany);
    }
    const now = Date.now();
    const c: Connection = {
      client: conn,
      inner: undefined,
      address,
      framer: new RequestFramer(address, headersBytesMax),
      headAtMs: now,
      bodyAtMs: undefined,
      activeAtMs: now,
      awaiting: false,
      discarding: false,
      closed: false,
    };
    this.#conns.add(c);
    this.#perAddress.set(address, fromAddress + 1);
    this.stats.open = this.#conns.size;
    void this.#serve(c);
  }

  async #serve(c: Connection): Promise<void> {
    try {
      (c.client as Deno.TcpConn).setNoDelay?.(true);
      c.inner = await this.#options.connectInner();
      (c.inner as Deno.TcpConn).setNoDelay?.(true);
    } catch (err) {
      if (isFdExhaustion(err)) {
        this.#fds.exhausted(err);
        this.stats.refused.fds++;
      } else {
        this.stats.refused.inner++;
      }
      this.#forget(c);
      return refuse(c.client, this.#busy);
    }
    if (c.closed) {
      c.inner.close();
      return;
    }
    await Promise.all([this.#upstream(c, c.inner), this.#downstream(c, c.inner)]);
  }

  /** Client → server: frame, forward. */
  async #upstream(c: Connection, inner: Deno.Conn): Promise<void> {
    const small = new Uint8Array(clientReadBytes);
    let buf = small;
    try {
      for (;;) {
        const n = await c.client.read(buf);
        if (n === null) break;
        const now = Date.now();
        c.activeAtMs = now;
        // Answered early with `connection: close` (e.g. 429 before the body): the rest is not forwarded.
        if (c.discarding) continue;
        const before = c.framer.completed;
        const out = c.framer.push(buf.subarray(0, n));
        if (!Array.isArray(out)) return this.#badRequest(c, out);
        if (c.framer.completed !== before) c.awaiting = true;
        const phase = c.framer.phase;
        c.headAtMs = phase === "head"
          ? c.headAtMs ?? now
          : phase === "idle" && c.framer.completed === 0
          ? c.headAtMs
          : undefined;
        c.bodyAtMs = phase === "body" ? c.bodyAtMs ?? now : undefined;
        // Bodies are read in bigger chunks (fewer reads and writes per byte), heads in small ones.
        buf = phase === "body" ? (buf === small ? new Uint8Array(bodyReadBytes) : buf) : small;
        // One write per read (a head comes in three parts): small writes on TCP would wait on delayed ACKs.
        if (out.length === 1) await writeAll(inner, out[0]);
        else if (out.length > 1) await writeAll(inner, concat(out));
      }
      await inner.closeWrite();
    } catch {
      this.#end(c);
    }
  }

  /** Server → client, as is. */
  async #downstream(c: Connection, inner: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(serverReadBytes);
    try {
      for (;;) {
        const n = await inner.read(buf);
        if (n === null) break;
        c.activeAtMs = Date.now();
        c.awaiting = false;
        if (c.framer.phase === "body" && closesEarly(buf.subarray(0, n))) c.discarding = true;
        await writeAll(c.client, buf.subarray(0, n));
      }
    } catch { /* either side went away */ }
    this.#end(c);
  }

  #badRequest(c: Connection, err: FrameError): void {
    this.stats.refused.bad++;
    this.#close(c, c.framer.completed === 0 ? canned(err.status, err.code, err.message) : undefined);
  }

  #sweepDeadlines(): void {
    const now = Date.now();
    this.#fds.sweep(now);
    const l = this.#limits;
    for (const c of this.#conns) {
      if (c.headAtMs !== undefined) {
        if (now - c.headAtMs <= l.headersMsMax) continue;
        this.stats.timedOut.headers++;
        const answer = c.framer.completed === 0
          ? canned(408, "header_timeout", `request head not complete within ${l.headersMsMax} ms`)
          : undefined;
        this.#close(c, answer);
      } else if (c.bodyAtMs !== undefined) {
        if (now - c.bodyAtMs <= l.bodyMsMax) continue;
        this.stats.timedOut.body++;
        this.#end(c);
      } else if (!c.awaiting && now - c.activeAtMs > l.idleMsMax) {
        this.stats.timedOut.idle++;
        this.#end(c);
      }
    }
  }

  /** Answer (if given) and close. */
  #close(c: Connection, answer: Uint8Array | undefined): void {
    if (answer === undefined || c.closed) return this.#end(c);
    this.#forget(c);
    try {
      c.inner?.close();
    } catch { /* closed */ }
    refuse(c.client, answer);
  }

  #end(c: Connection): void {
    if (c.closed) return;
    this.#forget(c);
    for (const conn of [c.client, c.inner]) {
      try {
        conn?.close();
      } catch { /* closed */ }
    }
  }

  #forget(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    this.#conns.delete(c);
    const n = (this.#perAddress.get(c.address) ?? 1) - 1;
    if (n === 0) this.#perAddress.delete(c.address);
    else this.#perAddress.set(c.address, n);
    this.stats.open = this.#conns.size;
  }
}

/** The client address a connection counts under (IPv4-mapped IPv6 as IPv4). */
export function peerAddress(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return "local";
  const host = addr.hostname;
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}
