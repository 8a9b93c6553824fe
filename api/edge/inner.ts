/**
 * The HTTP server behind the connection gate: `Deno.serve` on a unix socket
 * under the data dir, reached only through the gate (the socket file is
 * mode 0600). `Deno.serve` stops listening for good when its accept fails
 * (EMFILE); this wrapper starts it again on the same path with a back-off,
 * while the connections it already holds keep being served.
 *
 * A unix socket needs `--allow-net=unix:<path>` besides read/write on the
 * path (Deno 2.9). `deno task start` grants it (cli/launch.ts); where it is
 * not granted (the test task's flags) the server falls back to
 * `127.0.0.1:<ephemeral port>`, which local processes could reach without
 * passing the gate, and says so once.
 *
 * @module
 */

import { acceptBackoffMsMin, innerRestartMsMax, socketPathBytesMax } from "../limits.ts";

/** Options of an {@linkcode InnerServer}. */
export interface InnerServerOptions {
  /** Unix socket path. */
  path: string;
  handler: Deno.ServeHandler;
  /** Where the server's own troubles are told. */
  log: (line: string) => void;
  /** Told the loopback address once, when the server falls back to TCP (it must be kept from agents). */
  onTcpListen?: (addr: Deno.NetAddr) => void;
}

/**
 * A `Deno.serve` on a unix socket that comes back when it dies.
 *
 * @example
 * ```ts
 * const inner = new InnerServer({ path: "/tmp/x.sock", handler: () => new Response("ok"), log: console.error });
 * inner.start();
 * await inner.shutdown();
 * ```
 */
export class InnerServer {
  /** Times the server was started again after it stopped listening. */
  restarts = 0;
  readonly path: string;
  /** Where it listens: the unix socket, or loopback TCP when unix sockets are not permitted. */
  transport: "unix" | "tcp" = "unix";
  #port = 0;
  #options: InnerServerOptions;
  #servers: Deno.HttpServer[] = [];
  #stopping = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param options path, handler, log */
  constructor(options: InnerServerOptions) {
    if (new TextEncoder().encode(options.path).length > socketPathBytesMax) {
      throw new RangeError(
        `internal socket path ${options.path} is over ${socketPathBytesMax} bytes: use a shorter data dir`,
      );
    }
    this.path = options.path;
    this.#options = options;
  }

  /**
   * Listen (removing a stale socket file left by a killed process).
   *
   * @throws {Deno.errors.PermissionDenied} without read and write on the socket path
   */
  start(): void {
    try {
      this.#listen();
    } catch (err) {
      if (!(err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied)) throw err;
      this.transport = "tcp";
      this.#listen();
      this.#options.log(
        `agentos http: no permission for unix:${this.path} (--allow-net); the internal server listens on ` +
          `127.0.0.1:${this.#port} instead`,
      );
    }
  }

  /** Open a connection to the server (the gate's end of a client connection). */
  connect(): Promise<Deno.Conn> {
    return this.transport === "unix"
      ? Deno.connect({ transport: "unix", path: this.path })
      : Deno.connect({ hostname: "127.0.0.1", port: this.#port });
  }

  #listen(): void {
    const server = this.transport === "unix" ? this.#listenUnix() : this.#listenTcp();
    this.#servers.push(server);
    server.finished.then(
      () => this.#forget(server),
      (err) => {
        this.#forget(server);
        if (this.#stopping) return;
        this.#options.log(`agentos http: internal server stopped listening (${errText(err)}); restarting`);
        this.#restart(acceptBackoffMsMin);
      },
    );
  }

  #listenUnix(): Deno.HttpServer {
    try {
      Deno.removeSync(this.path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const server = Deno.serve({ path: this.path, onListen: () => {} }, this.#options.handler);
    Deno.chmodSync(this.path, 0o600);
    return server;
  }

  #listenTcp(): Deno.HttpServer<Deno.NetAddr> {
    // A restart keeps the port, so what was reserved against agents stays reserved.
    const server = Deno.serve({ hostname: "127.0.0.1", port: this.#port, onListen: () => {} }, this.#options.handler);
    if (this.#port === 0) {
      this.#port = server.addr.port;
      this.#options.onTcpListen?.(server.addr);
    }
    return server;
  }

  #restart(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopping) return;
      try {
        this.#listen();
        this.restarts++;
      } catch (err) {
        const next = Math.min(innerRestartMsMax, delayMs * 2);
        if (delayMs === acceptBackoffMsMin) this.#options.log(`agentos http: restart failed (${errText(err)})`);
        this.#restart(next);
      }
    }, delayMs);
  }

  #forget(server: Deno.HttpServer): void {
    this.#servers = this.#servers.filter((s) => s !== server);
  }

  /** Stop listening; resolves when every request in flight was answered. Idempotent. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#servers.map((s) => s.shutdown().catch(() => {})));
    if (this.transport !== "unix") return;
    try {
      Deno.removeSync(this.path);
    } catch { /* gone */ }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
