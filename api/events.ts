/**
 * The SSE feed, read straight from the kernel's event ring: every
 * subscriber is a cursor into the ring, so the feed keeps no copy of events
 * and no per-subscriber queue. An event wakes only the subscribers of its
 * tenant (and the admin ones that watch all). Resume (`Last-Event-ID`) is a
 * cursor position; a reader that falls more than the ring's 65,536 slots
 * behind loses the oldest events and is told how many (`dropped`). The
 * kernel never waits for a reader.
 *
 * Event ids are the ring's sequence numbers plus one (so `Last-Event-ID: 0`
 * means "from the oldest event still held").
 *
 * @module
 */

import type { ObservabilityHub } from "../observability/mod.ts";
import { EventKind, type EventRing, EventView } from "../observability/mod.ts";

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
  /** With `agentId`: stop after that agent's `exit` event (nothing after it is taken; `ended` says so). */
  untilExit?: boolean;
}

/**
 * Whether a call matches one of `patterns`: exact (`fs.readText`), prefix
 * (`fs.*`) or `*`.
 */
export function callMatches(patterns: readonly string[], call: string): boolean {
  return patterns.some((p) => p === "*" || (p.endsWith(".*") ? call.startsWith(p.slice(0, -1)) : p === call));
}

/**
 * The subscribers of one tenant, and the newest event of that tenant the
 * feed has routed (`lastOwnSeq`): a subscriber whose cursor is past it has
 * nothing of its own to read, whatever other tenants emit.
 */
interface TenantGroup {
  tenantId: number;
  subs: Set<FeedSubscription>;
  lastOwnSeq: number;
}

/** A subscriber: a cursor into the ring plus its filter. */
export class FeedSubscription {
  readonly filter: EventFilter;
  #ring: EventRing;
  #cursor: number;
  #dropped = 0;
  #feed: EventFeed;
  #group: TenantGroup | undefined;
  #view: EventView;
  #wake: (() => void) | undefined;
  #closed = false;
  #ended = false;
  #unsubscribe: () => void;

  /** @internal */
  constructor(
    feed: EventFeed,
    ring: EventRing,
    cursor: number,
    filter: EventFilter,
    group: TenantGroup | undefined,
    unsubscribe: () => void,
  ) {
    this.#feed = feed;
    this.#ring = ring;
    this.#cursor = cursor;
    this.filter = filter;
    this.#group = group;
    this.#view = new EventView();
    this.#unsubscribe = unsubscribe;
  }

  /** Whether the subscription was closed (by the reader or the feed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the agent's `exit` event was taken (with `untilExit`): nothing more comes. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether there may be something to take now. */
  get pending(): boolean {
    if (this.#ended) return false;
    const group = this.#group;
    return group === undefined ? this.#ring.nextSeq > this.#cursor : group.lastOwnSeq >= this.#cursor;
  }

  /** @internal Called when new events of this subscriber's tenant (or any, for a watch-all one) are in the ring. */
  wake(): void {
    this.#wake?.();
  }

  /** Wait until there is something to take, the signal aborts, or `ms` passes. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pending || this.#closed || this.#ended) return Promise.resolve();
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

  /**
   * Read what is there (at most `takeEventsMax` events of this subscriber's
   * tenant), filtered, and the drop count since the last take. Other
   * tenants' events are stepped over by their tenant id alone.
   */
  take(): { events: StreamEvent[]; dropped: number } {
    const events: StreamEvent[] = [];
    const ring = this.#ring;
    const group = this.#group;
    if (group !== undefined && group.lastOwnSeq < this.#cursor) {
      // Nothing of ours since the cursor: skip to what the feed has routed.
      this.#cursor = Math.max(this.#cursor, this.#feed.routedSeq);
      return { events, dropped: this.#takeDropped() };
    }
    const oldest = ring.oldestSeq;
    if (this.#cursor < oldest) {
      this.#dropped += oldest - this.#cursor;
      this.#cursor = oldest;
    }
    const next = ring.nextSeq;
    const tenantIds = ring.tenantId;
    const mask = ring.mask;
    const view = this.#view;
    let read = 0;
    const until = this.filter.untilExit === true ? this.filter.agentId : undefined;
    while (read < takeEventsMax && this.#cursor < next && !this.#ended) {
      const seq = this.#cursor++;
      if (group !== undefined && tenantIds[seq & mask] !== group.tenantId) continue;
      read++;
      ring.read(seq, view);
      const event = this.#feed.toStreamEvent(view, this.filter);
      if (event !== undefined) events.push(event);
      if (until !== undefined && view.kind === EventKind.exit && this.#feed.agentIdOf(view.subject) === until) {
        this.#ended = true;
      }
    }
    return { events, dropped: this.#takeDropped() };
  }

  #takeDropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }

  /** Stop receiving. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#unsubscribe();
  }
}

/**
 * Fan-out from the ring to SSE subscribers. Subscribers are grouped by
 * tenant: after each burst of events the feed reads the new events' tenant
 * ids (one typed-array read each) and wakes only the groups that have
 * events, plus the watch-all (admin) subscribers.
 */
export class EventFeed {
  #hub: ObservabilityHub;
  #subs = new Set<FeedSubscription>();
  #watchAll = new Set<FeedSubscription>();
  #groups = new Map<number, TenantGroup>();
  #agentIds: (uid: number) => string | undefined;
  #routed: number;

  /**
   * @param hub the kernel's observability hub (its ring is the history)
   * @param agentIds maps an agent incarnation (uid) to its API id
   */
  constructor(hub: ObservabilityHub, agentIds: (uid: number) => string | undefined) {
    this.#hub = hub;
    this.#agentIds = agentIds;
    this.#routed = hub.ring.nextSeq;
    hub.onEmit(() => this.#route());
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

  /** The API id of agent incarnation `uid`, if known. */
  agentIdOf(uid: number): string | undefined {
    return uid === 0 ? undefined : this.#agentIds(uid);
  }

  /** @internal Sequence number up to which events were routed to their tenant's subscribers. */
  get routedSeq(): number {
    return this.#routed;
  }

  /** Subscribe from now, or after event id `afterSeq` (what `Last-Event-ID` carries). */
  subscribe(filter: EventFilter, afterSeq?: number): FeedSubscription {
    const ring = this.#hub.ring;
    const cursor = afterSeq === undefined ? ring.nextSeq : Math.min(afterSeq, ring.nextSeq);
    const group = filter.tenant === null ? undefined : this.#group(this.#hub.tenants.intern(filter.tenant));
    const sub: FeedSubscription = new FeedSubscription(this, ring, cursor, filter, group, () => {
      this.#subs.delete(sub);
      this.#watchAll.delete(sub);
      if (group === undefined) return;
      group.subs.delete(sub);
      if (group.subs.size === 0) this.#groups.delete(group.tenantId);
    });
    this.#subs.add(sub);
    if (group === undefined) this.#watchAll.add(sub);
    else group.subs.add(sub);
    return sub;
  }

  #group(tenantId: number): TenantGroup {
    let group = this.#groups.get(tenantId);
    if (group === undefined) {
      // Whether the history holds events of this tenant is unknown: assume it does.
      group = { tenantId, subs: new Set(), lastOwnSeq: this.#hub.ring.nextSeq - 1 };
      this.#groups.set(tenantId, group);
    }
    return group;
  }

  /** New events are in the ring: note whose they are, wake their tenant's subscribers. */
  #route(): void {
    const ring = this.#hub.ring;
    const next = ring.nextSeq;
    let from = this.#routed;
    this.#routed = next;
    for (const sub of this.#watchAll) sub.wake();
    if (this.#groups.size === 0) return;
    if (from < ring.oldestSeq) {
      // Overwritten before they were routed: whose they were is unknown.
      from = ring.oldestSeq;
      for (const group of this.#groups.values()) {
        group.lastOwnSeq = Math.max(group.lastOwnSeq, from - 1);
        for (const sub of group.subs) sub.wake();
      }
    }
    const tenantIds = ring.tenantId;
    const mask = ring.mask;
    let last = -1;
    let group: TenantGroup | undefined;
    const woken: TenantGroup[] = [];
    for (let seq = from; seq < next; seq++) {
      const id = tenantIds[seq & mask];
      if (id !== last) {
        last = id;
        group = this.#groups.get(id);
        if (group !== undefined && !woken.includes(group)) woken.push(group);
      }
      if (group !== undefined) group.lastOwnSeq = seq;
    }
    for (const g of woken) for (const sub of g.subs) sub.wake();
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
    // Every kind answers for itself (observability/event_kinds.ts): its type, whether it is an error, its data.
    const kinds = hub.kinds;
    if (filter.types !== undefined && !filter.types.includes(kinds.name(view.kind))) return undefined;
    if (filter.errors && !kinds.error(view)) return undefined;
    const { type, data } = kinds.decode(view);
    if (filter.calls !== undefined) {
      const call = data.call;
      if (typeof call !== "string" || !callMatches(filter.calls, call)) return undefined;
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
