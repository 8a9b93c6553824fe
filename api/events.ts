/**
 * The SSE feed, read straight from the kernel's event ring: every
 * subscriber is a ring reader with its own cursor, so the feed keeps no copy
 * of events and no per-subscriber queue. Resume (`Last-Event-ID`) is a
 * cursor position; a reader that falls more than the ring's 65,536 slots
 * behind loses the oldest events and is told how many (`dropped`). The
 * kernel never waits for a reader.
 *
 * Event ids are the ring's sequence numbers plus one (so `Last-Event-ID: 0`
 * means "from the oldest event still held").
 *
 * @module
 */

import type { ObservabilityHub } from "../observability/hub.ts";
import { errnoNames, EventKind, type EventView, type RingReader } from "../observability/ring.ts";

/** Most events one `take` returns; the SSE loop comes back for more. */
export const takeEventsMax = 1024;

/** One event as streamed. */
export interface StreamEvent {
  seq: number;
  ts: number;
  type: string;
  tenant: string;
  agentId: string | null;
  pid: number;
  causality: number;
  data: Record<string, unknown>;
}

/** What a subscriber wants. */
export interface EventFilter {
  tenant: string | null;
  agentId?: string;
  /** Call patterns: exact (`fs.readText`) or prefix (`fs.*`). */
  calls?: string[];
  /** Only errors and denials. */
  errors?: boolean;
  types?: string[];
  causality?: number;
}

const typeOfKind = [
  "lifecycle",
  "syscall",
  "denial",
  "limit",
  "output",
  "ipc",
  "arena",
  "cleanup",
  "anomaly",
  "sched",
  "policy",
  "dropped",
];

/** A subscriber: a ring reader plus its filter. */
export class Subscription {
  readonly filter: EventFilter;
  #reader: RingReader;
  #feed: EventFeed;
  #view: EventView;
  #droppedSeen = 0;
  #wake: (() => void) | undefined;
  #closed = false;
  #unsubscribe: () => void;

  /** @internal */
  constructor(feed: EventFeed, reader: RingReader, filter: EventFilter, view: EventView, unsubscribe: () => void) {
    this.#feed = feed;
    this.#reader = reader;
    this.filter = filter;
    this.#view = view;
    this.#unsubscribe = unsubscribe;
  }

  /** Whether the subscription was closed (by the reader or the feed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal Called when new events are in the ring. */
  wake(): void {
    this.#wake?.();
  }

  /** Wait until the ring has something past this cursor, the signal aborts, or `ms` passes. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#reader.lag > 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.#wake = done;
    });
  }

  /** Read what is there (bounded), filtered, and the drop count since the last take. */
  take(): { events: StreamEvent[]; dropped: number } {
    const events: StreamEvent[] = [];
    const view = this.#view;
    let read = 0;
    while (read < takeEventsMax && this.#reader.next(view)) {
      read++;
      const event = this.#feed.toStreamEvent(view, this.filter);
      if (event !== undefined) events.push(event);
    }
    const dropped = this.#reader.dropped - this.#droppedSeen;
    this.#droppedSeen = this.#reader.dropped;
    return { events, dropped };
  }

  /** Stop receiving. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
    this.#unsubscribe();
  }
}

/** Fan-out from the ring to SSE subscribers. */
export class EventFeed {
  #hub: ObservabilityHub;
  #subs = new Set<Subscription>();
  #agentIds: (uid: number) => string | undefined;

  /**
   * @param hub the kernel's observability hub (its ring is the history)
   * @param agentIds maps an agent incarnation (uid) to its API id
   */
  constructor(hub: ObservabilityHub, agentIds: (uid: number) => string | undefined) {
    this.#hub = hub;
    this.#agentIds = agentIds;
    hub.onEmit(() => {
      for (const sub of this.#subs) sub.wake();
    });
  }

  /** The id of the newest event. */
  get seq(): number {
    return this.#hub.ring.nextSeq;
  }

  /** Events written to the ring. */
  get published(): number {
    return this.#hub.ring.emitted;
  }

  /** Open subscribers. */
  get subscribers(): number {
    return this.#subs.size;
  }

  /** Subscribe from now, or after event id `afterSeq` (what `Last-Event-ID` carries). */
  subscribe(filter: EventFilter, afterSeq?: number): Subscription {
    const reader = this.#hub.ring.reader(afterSeq === undefined ? undefined : afterSeq);
    const sub: Subscription = new Subscription(this, reader, filter, this.#hub.view(), () => this.#subs.delete(sub));
    this.#subs.add(sub);
    return sub;
  }

  /** Close every subscription (server shutdown). */
  closeAll(): void {
    for (const sub of [...this.#subs]) sub.close();
  }

  /** @internal Materialise and filter one ring event; undefined if filtered out. */
  toStreamEvent(view: EventView, filter: EventFilter): StreamEvent | undefined {
    const hub = this.#hub;
    const tenant = hub.tenants.name(view.tenantId);
    if (filter.tenant !== null && tenant !== filter.tenant) return undefined;
    if (filter.causality !== undefined && view.causality !== filter.causality) return undefined;
    const agentId = view.subject === 0 ? null : this.#agentIds(view.subject) ?? null;
    if (filter.agentId !== undefined && agentId !== filter.agentId) return undefined;
    const { type, data } = describe(view, hub);
    if (filter.types !== undefined && !filter.types.includes(type)) return undefined;
    if (filter.errors && !(type === "denial" || (type === "syscall" && data.errno !== null))) return undefined;
    if (filter.calls !== undefined) {
      const call = data.call;
      if (typeof call !== "string") return undefined;
      if (!filter.calls.some((p) => p === "*" || (p.endsWith(".*") ? call.startsWith(p.slice(0, -1)) : p === call))) {
        return undefined;
      }
    }
    return {
      seq: view.seq + 1,
      ts: view.timestampMs,
      type,
      tenant,
      agentId,
      pid: view.pid,
      causality: view.causality,
      data,
    };
  }
}

function describe(view: EventView, hub: ObservabilityHub): { type: string; data: Record<string, unknown> } {
  const name = view.kind === EventKind.output ? "" : hub.names.name(view.nameId);
  const errno = errnoNames[view.errnoId] || null;
  switch (view.kind) {
    case EventKind.syscall:
      return {
        type: "syscall",
        data: { call: name, errno, latencyUs: view.latencyUs, bytes: view.bytes, args: view.detail },
      };
    case EventKind.denial: {
      const [layer, ...rest] = (view.detail ?? "").split(": ");
      return { type: "denial", data: { call: name, errno, layer, message: rest.join(": ") } };
    }
    case EventKind.lifecycle: {
      if (name.startsWith("exit:")) {
        return { type: "exit", data: { reason: name.slice(5), exitCode: view.bytes, message: view.detail ?? null } };
      }
      const [from, to] = name.split(">");
      return { type: "lifecycle", data: { from, to } };
    }
    case EventKind.output:
      return { type: "output", data: { fd: view.nameId, bytes: view.bytes, data: view.detail } };
    case EventKind.limit:
      return { type: "limit", data: { limit: name, message: view.detail ?? null } };
    case EventKind.anomaly:
      return { type: "anomaly", data: { detail: view.detail, value: view.bytes } };
    case EventKind.cleanup:
      return { type: "cleanup", data: { bytes: view.bytes, errors: errno !== null, detail: view.detail } };
    default:
      return { type: typeOfKind[view.kind] ?? "event", data: { name, detail: view.detail ?? null, value: view.bytes } };
  }
}
