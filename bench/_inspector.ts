/**
 * A minimal Chrome DevTools Protocol client for a process started with
 * `--inspect=127.0.0.1:<port>`: force a garbage collection, read
 * `Deno.memoryUsage()`, take a heap snapshot and summarise it by
 * constructor, so a soak can tell retained heap from native growth and name
 * what is retained. Not a benchmark itself (the runner skips `_` files).
 *
 * @module
 */

/** One connection to a process's inspector. */
export class Inspector {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #chunks: string[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data));
      if (msg.method === "HeapProfiler.addHeapSnapshotChunk") this.#chunks.push(msg.params.chunk);
      if (msg.id === undefined) return;
      const waiter = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error) waiter?.reject(new Error(JSON.stringify(msg.error)));
      else waiter?.resolve(msg.result);
    };
  }

  /** Connect to the inspector listening on `port` (retries until `timeoutMs`). */
  static async connect(port: number, timeoutMs = 30_000): Promise<Inspector> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
          webSocketDebuggerUrl: string;
        }[];
        const ws = new WebSocket(list[0].webSocketDebuggerUrl);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error("inspector websocket failed"));
        });
        const inspector = new Inspector(ws);
        await inspector.send("Runtime.enable");
        await inspector.send("HeapProfiler.enable");
        return inspector;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`no inspector on port ${port}: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Send one CDP command; resolves to its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#pending.set(id, { resolve, reject });
    this.#ws.send(JSON.stringify({ id, method, params }));
    return promise;
  }

  /** Full garbage collection in the inspected process. */
  async gc(): Promise<void> {
    await this.send("HeapProfiler.collectGarbage");
  }

  /** `Deno.memoryUsage()` of the inspected process. */
  async memory(): Promise<{ rss: number; heapTotal: number; heapUsed: number; external: number }> {
    const r = await this.send("Runtime.evaluate", {
      expression: "JSON.stringify(Deno.memoryUsage())",
      returnByValue: true,
    }) as { result: { value: string } };
    return JSON.parse(r.result.value);
  }

  /** A heap snapshot (after the collection the snapshot itself forces). */
  async snapshot(): Promise<HeapSnapshot> {
    this.#chunks = [];
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false });
    const snap = new HeapSnapshot(JSON.parse(this.#chunks.join("")));
    this.#chunks = [];
    return snap;
  }

  /** Close the connection. */
  close(): void {
    this.#ws.close();
  }
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

type NodeFieldIndex = Record<"type" | "name" | "id" | "self_size" | "edge_count", number>;

/** Size and count of a group of heap objects. */
export interface Tally {
  count: number;
  bytes: number;
}

/**
 * A parsed heap snapshot: objects grouped by "type: constructor", and the
 * objects that are new since an earlier snapshot (V8 keeps object ids
 * across snapshots) grouped by what holds them.
 */
export class HeapSnapshot {
  #raw: RawSnapshot;
  #width: number;
  #at: NodeFieldIndex;
  #types: string[];

  constructor(raw: RawSnapshot) {
    this.#raw = raw;
    const fields = raw.snapshot.meta.node_fields;
    this.#width = fields.length;
    this.#at = Object.fromEntries(
      ["type", "name", "id", "self_size", "edge_count"].map((f) => [f, fields.indexOf(f)]),
    ) as NodeFieldIndex;
    this.#types = raw.snapshot.meta.node_types[0];
  }

  /** "type: constructor" of the node at `i` (strings and code collapsed). */
  key(i: number): string {
    const n = this.#raw.nodes;
    const type = this.#types[n[i + this.#at.type]];
    let name = this.#raw.strings[n[i + this.#at.name]];
    if (type === "string" || type === "concatenated string" || type === "sliced string") name = "(string)";
    else if (type === "code") name = "(code)";
    else if (name.length > 60) name = name.slice(0, 57) + "...";
    return `${type}: ${name}`;
  }

  /** Count and self size per group. */
  summary(): Map<string, Tally> {
    const out = new Map<string, Tally>();
    for (let i = 0; i < this.#raw.nodes.length; i += this.#width) {
      add(out, this.key(i), this.#raw.nodes[i + this.#at.self_size]);
    }
    return out;
  }

  /** The first `n` string values of group `key` among the objects not in `before` (what they say). */
  samples(before: Set<number>, key: string, n = 5): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#raw.nodes.length && out.length < n; i += this.#width) {
      if (before.has(this.#raw.nodes[i + this.#at.id]) || this.key(i) !== key) continue;
      out.push(this.#raw.strings[this.#raw.nodes[i + this.#at.name]].slice(0, 160));
    }
    return out;
  }

  /** Every object id. */
  ids(): Set<number> {
    const out = new Set<number>();
    for (let i = 0; i < this.#raw.nodes.length; i += this.#width) out.add(this.#raw.nodes[i + this.#at.id]);
    return out;
  }

  /**
   * Objects not in `before`, grouped as "object ← holder.edge" by their
   * first strong retainer; through strings (ropes, slices) and code the
   * chain is followed up to the first holder of another kind, so a rope is
   * charged to what holds the whole rope.
   */
  newByHolder(before: Set<number>): Map<string, Tally> {
    const { nodes, edges, strings } = this.#raw;
    const meta = this.#raw.snapshot.meta;
    const ew = meta.edge_fields.length;
    const [etype, ename, eto] = ["type", "name_or_index", "to_node"].map((f) => meta.edge_fields.indexOf(f));
    const edgeTypes = meta.edge_types[0];
    const holder = new Map<number, { from: number; edge: string }>();
    let e = 0;
    for (let i = 0; i < nodes.length; i += this.#width) {
      const count = nodes[i + this.#at.edge_count];
      for (let k = 0; k < count; k++, e += ew) {
        const kind = edgeTypes[edges[e + etype]];
        if (kind === "weak" || kind === "shortcut") continue;
        const to = edges[e + eto];
        if (holder.has(to)) continue;
        // Element indices are collapsed: what matters is which array holds them.
        const name = kind === "element"
          ? "[]"
          : kind === "hidden"
          ? `[${edges[e + ename]}]`
          : strings[edges[e + ename]];
        holder.set(to, { from: i, edge: String(name).slice(0, 40) });
      }
    }
    const passThrough = (i: number) =>
      /^(concatenated string|sliced string|string|code|native: system \/ WeakArrayList)/.test(this.key(i));
    const out = new Map<string, Tally>();
    for (let i = 0; i < nodes.length; i += this.#width) {
      if (before.has(nodes[i + this.#at.id])) continue;
      let h = holder.get(i);
      for (let steps = 0; h && passThrough(h.from) && steps < 10_000; steps++) h = holder.get(h.from) ?? h;
      let held = h ? `${this.key(h.from)}.${h.edge}` : "(root)";
      // An array is named by what holds it.
      const up = h && /^(object: Array|array: )/.test(this.key(h.from)) ? holder.get(h.from) : undefined;
      if (up) held += ` ← ${this.key(up.from)}.${up.edge}`;
      add(out, `${this.key(i)} ← ${held}`, nodes[i + this.#at.self_size]);
    }
    return out;
  }
}

function add(map: Map<string, Tally>, key: string, bytes: number): void {
  const t = map.get(key) ?? { count: 0, bytes: 0 };
  t.count++;
  t.bytes += bytes;
  map.set(key, t);
}

/** The `top` groups that grew most (bytes) from `a` to `b`. */
export function growth(a: Map<string, Tally>, b: Map<string, Tally>, top = 15): ({ key: string } & Tally)[] {
  const rows: ({ key: string } & Tally)[] = [];
  for (const [key, v] of b) {
    const before = a.get(key) ?? { count: 0, bytes: 0 };
    rows.push({ key, count: v.count - before.count, bytes: v.bytes - before.bytes });
  }
  return rows.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}

/** The `top` largest groups of `m`. */
export function largest(m: Map<string, Tally>, top = 15): ({ key: string } & Tally)[] {
  return [...m].map(([key, t]) => ({ key, ...t })).sort((x, y) => y.bytes - x.bytes).slice(0, top);
}

/** A free TCP port on 127.0.0.1 (for `--inspect`). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}
