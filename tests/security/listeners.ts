/**
 * Raw TCP listeners on 127.0.0.1 for the egress tests: they count every
 * connection they accept, so "the agent never reached it" is a count of
 * zero, not a missing response. A listener either answers at once
 * (`200 ok`) or holds every connection open until `release()`.
 *
 * @module
 */

/** A counting listener. */
export interface CountingListener {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open right now. */
  readonly open: number;
  /** Most connections open at once. */
  readonly openMax: number;
  /** Answer every held connection (and every later one) with `200 ok`. */
  release(): void;
  close(): Promise<void>;
}

const response = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
);

/**
 * Listen on 127.0.0.1, port 0.
 *
 * @param hold hold connections open until `release()` (default: answer at once)
 */
export function countingListener(hold = false): CountingListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held = new Set<Deno.Conn>();
  let accepted = 0, open = 0, openMax = 0, releasing = !hold;
  const answer = async (conn: Deno.Conn) => {
    try {
      await conn.write(response);
    } catch { /* the client went away */ }
    try {
      conn.close();
    } catch { /* closed */ }
    open--;
  };
  const serve = async (conn: Deno.Conn) => {
    accepted++;
    openMax = Math.max(openMax, ++open);
    // Read the request head (and ignore it).
    const buf = new Uint8Array(4096);
    await conn.read(buf).catch(() => null);
    if (releasing) return void answer(conn);
    held.add(conn);
  };
  const loop = (async () => {
    for await (const conn of listener) void serve(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    get open() {
      return open;
    },
    get openMax() {
      return openMax;
    },
    release() {
      releasing = true;
      for (const conn of held) void answer(conn);
      held.clear();
    },
    async close() {
      this.release();
      try {
        listener.close();
      } catch { /* closed */ }
      await loop;
    },
  };
}
