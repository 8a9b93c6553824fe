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
 * @module
 */

import {
  acceptBackoffMsMax,
  acceptBackoffMsMin,
  bodyReadBytes,
  clientReadBytes,
  type EdgeLimits,
  fdCapConnectionsMin,
  fdCapShrinkRatio,
  fdEpisodeQuietMs,
  headersBytesMax,
  refuseWriteMsMax,
  serverReadBytes,
  sweepMsMax,
  sweepMsMin,
} from "../limits.ts";
import { type FrameError, RequestFramer } from "./framer.ts";

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
  #spare: Deno.FsFile | undefined;
  /** Start of the current fd episode, ms, and what was refused in it. */
  #episode: { atMs: number; lastMs: number; refused: number } | undefined;
  #fdErrorAtMs = 0;
  #busy: Uint8Array;
  #tooMany: Uint8Array;
  #fdBusy = canned(503, "server_busy", "out of file descriptors; try again", 1);

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
  }

  /** Start accepting. */
  start(): void {
    this.#openSpare();
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
    this.#spare?.close();
    this.#spare = undefined;
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
          this.#fdExhausted(err);
          // Answering one waiting client with the spare is progress: no back-off then.
          if (await this.#refuseWithSpare()) continue;
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
      return refuse(conn, this.#fdBusy);
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
        this.#fdExhausted(err);
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
    this.#fdRecovered(now);
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

  #fdExhausted(err: unknown): void {
    const now = Date.now();
    this.#fdErrorAtMs = now;
    if (this.#episode !== undefined) {
      this.#episode.refused++;
      this.#episode.lastMs = now;
      if (this.#conns.size >= this.stats.fdCap) this.#shed();
      return;
    }
    this.stats.fdEpisodes++;
    this.#episode = { atMs: now, lastMs: now, refused: 1 };
    const open = this.#conns.size;
    this.#shed();
    this.#log(
      `agentos http: out of file descriptors (${(err as { code?: string }).code ?? errText(err)}) with ` +
        `${open} connections open; refusing new connections, serving the open ones (at most ` +
        `${this.stats.fdCap} from now on; ${this.stats.shed} that never completed a request closed)`,
    );
  }

  /**
   * Out of descriptors with `open` connections: from now on admit at most
   * `fdCapShrinkRatio` of them (headroom for the server behind the gate and the
   * cells), and close the connections beyond that which never completed a
   * request, oldest first (a slow-loris attacker's; a client that was served
   * keeps its connection). The cap grows back while descriptors last.
   */
  #shed(): void {
    const cap = Math.max(fdCapConnectionsMin, Math.floor(this.#conns.size * fdCapShrinkRatio));
    this.stats.fdCap = Math.min(this.stats.fdCap, cap);
    let excess = this.#conns.size - this.stats.fdCap;
    for (const c of this.#conns) {
      if (excess <= 0) break;
      if (c.framer.completed > 0 || c.awaiting) continue;
      this.stats.shed++;
      excess--;
      this.#close(c, this.#fdBusy);
    }
  }

  /** Additive increase of the learned cap once descriptors have lasted `limits.fdCapGrowQuietMs`. */
  #growFdCap(now: number): void {
    const cap = this.stats.fdCap;
    if (cap === Infinity || now - this.#fdErrorAtMs < this.#options.limits.fdCapGrowQuietMs) return;
    const next = cap + Math.max(1, Math.floor(cap / 8));
    this.stats.fdCap = next >= this.#limits.connectionsMax ? Infinity : next;
  }

  /** An episode ends after `fdEpisodeQuietMs` without a descriptor error (checked by the sweep). */
  #fdRecovered(now: number): void {
    this.#growFdCap(now);
    const episode = this.#episode;
    if (episode === undefined || now - episode.lastMs < fdEpisodeQuietMs) return;
    this.#episode = undefined;
    this.#log(
      `agentos http: accepting again; descriptors ran out for ${episode.lastMs - episode.atMs} ms ` +
        `(${episode.refused} accepts failed or refused)`,
    );
    if (this.#spare === undefined) this.#openSpare();
  }

  /**
   * Free the spare descriptor for one accept, refuse that connection, take
   * the spare back. Returns whether a waiting client was answered.
   */
  async #refuseWithSpare(): Promise<boolean> {
    if (this.#spare === undefined) {
      this.#openSpare();
      return false;
    }
    this.#spare.close();
    this.#spare = undefined;
    let answered = false;
    try {
      const conn = await this.#options.listener.accept();
      this.stats.refused.fds++;
      if (this.#episode !== undefined) this.#episode.refused++;
      refuse(conn, this.#busy);
      answered = true;
    } catch { /* still none */ }
    this.#openSpare();
    return answered;
  }

  #openSpare(): void {
    const path = this.#options.sparePath;
    if (path === undefined || this.#spare !== undefined) return;
    try {
      this.#spare = Deno.openSync(path, { read: true });
    } catch { /* no descriptor yet; tried again on the next failed accept */ }
  }
}

/** Whether an error is the process or the system running out of descriptors. */
export function isFdExhaustion(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "EMFILE" || code === "ENFILE") return true;
  return err instanceof Error && /too many open files/i.test(err.message);
}

/** The client address a connection counts under (IPv4-mapped IPv6 as IPv4). */
export function peerAddress(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return "local";
  const host = addr.hostname;
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}

const encoder = new TextEncoder();
const reasons: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/** A complete `connection: close` JSON error answer. */
function canned(status: number, code: string, message: string, retryAfterSec?: number): Uint8Array {
  const body = JSON.stringify({ error: { code, message } });
  const reason = reasons[status] ?? "Error";
  const retry = retryAfterSec === undefined ? "" : `retry-after: ${retryAfterSec}\r\n`;
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      `connection: close\r\n${retry}\r\n${body}`,
  );
}

/** Write a canned answer and close, without waiting on a client that does not read. */
function refuse(conn: Deno.Conn, answer: Uint8Array): void {
  const close = () => {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const timer = setTimeout(close, refuseWriteMsMax);
  conn.write(answer).then(close, close);
}

const closeHeader = encoder.encode("\r\nconnection: close\r\n");
const responseStart = encoder.encode("HTTP/1.1 ");

/** Whether `chunk` starts a response head that says `connection: close` (hyper writes it in lower case). */
function closesEarly(chunk: Uint8Array): boolean {
  for (let i = 0; i < responseStart.length; i++) if (chunk[i] !== responseStart[i]) return false;
  let end = Math.min(chunk.length, headersBytesMax);
  for (let i = 3; i < end; i++) {
    if (chunk[i] === 10 && chunk[i - 1] === 13 && chunk[i - 2] === 10 && chunk[i - 3] === 13) {
      end = i + 1;
      break;
    }
  }
  outer: for (let i = 0; i + closeHeader.length <= end; i++) {
    for (let j = 0; j < closeHeader.length; j++) if (chunk[i + j] !== closeHeader[j]) continue outer;
    return true;
  }
  return false;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let off = 0;
  for (const part of parts) {
    out.set(part, off);
    off += part.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
