/**
 * The event hub behind the SSE streams: every runtime event gets a sequence
 * number and a place in a bounded history (for `Last-Event-ID` resume); each
 * subscriber has a bounded queue. Publishing never blocks and never waits for
 * a reader: a reader that falls behind loses events, and the next thing it
 * reads is a `dropped` event carrying the count.
 *
 * @module
 */

/** Events kept for resume. */
export const historyEventsMax = 16_384;
/** Events one subscriber may have queued before it starts losing them. */
export const subscriberQueueMax = 2_048;

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

/** A subscriber's queue. */
export class Subscription {
  readonly filter: EventFilter;
  queue: StreamEvent[] = [];
  dropped = 0;
  #wake: (() => void) | undefined;
  #closed = false;
  #onClose: () => void;

  /** @internal */
  constructor(filter: EventFilter, onClose: () => void) {
    this.filter = filter;
    this.#onClose = onClose;
  }

  /** @internal Offer an event; drops (and counts) when the queue is full. */
  offer(event: StreamEvent): void {
    if (this.queue.length >= subscriberQueueMax) {
      this.dropped++;
    } else {
      this.queue.push(event);
    }
    this.#wake?.();
  }

  /** Wait until something is queued, the signal aborts, or `ms` passes. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.queue.length > 0 || this.dropped > 0 || this.#closed) return Promise.resolve();
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

  /** Take everything queued, and the drop count since the last take. */
  take(): { events: StreamEvent[]; dropped: number } {
    const events = this.queue;
    const dropped = this.dropped;
    this.queue = [];
    this.dropped = 0;
    return { events, dropped };
  }

  /** Whether the subscription was closed (by the reader or the hub). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stop receiving. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
    this.#onClose();
  }
}

/** Fan-out of events to subscribers, with bounded history. */
export class EventHub {
  #history: (StreamEvent | undefined)[] = new Array(historyEventsMax);
  #seq = 0;
  #subs = new Set<Subscription>();
  /** Events published since start. */
  published = 0;

  /** Publish an event; returns its sequence number. Never blocks. */
  publish(event: Omit<StreamEvent, "seq">): number {
    const seq = ++this.#seq;
    const full = event as StreamEvent;
    full.seq = seq;
    this.#history[seq % historyEventsMax] = full;
    this.published++;
    for (const sub of this.#subs) if (matches(sub.filter, full)) sub.offer(full);
    return seq;
  }

  /** The newest sequence number. */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Subscribe. With `afterSeq`, events after it still in history are queued
   * first; events already evicted from history count as dropped.
   */
  subscribe(filter: EventFilter, afterSeq?: number): Subscription {
    const sub = new Subscription(filter, () => this.#subs.delete(sub));
    if (afterSeq !== undefined && afterSeq < this.#seq) {
      const oldest = Math.max(1, this.#seq - historyEventsMax + 1);
      if (afterSeq + 1 < oldest) sub.dropped += oldest - afterSeq - 1;
      for (let seq = Math.max(afterSeq + 1, oldest); seq <= this.#seq; seq++) {
        const event = this.#history[seq % historyEventsMax];
        if (event !== undefined && event.seq === seq && matches(filter, event)) sub.offer(event);
      }
    }
    this.#subs.add(sub);
    return sub;
  }

  /** Close every subscription (server shutdown). */
  closeAll(): void {
    for (const sub of [...this.#subs]) sub.close();
  }

  /** Live subscribers. */
  get subscribers(): number {
    return this.#subs.size;
  }
}

/** Whether `event` passes `filter`. */
export function matches(filter: EventFilter, event: StreamEvent): boolean {
  if (filter.tenant !== null && event.tenant !== filter.tenant) return false;
  if (filter.agentId !== undefined && event.agentId !== filter.agentId) return false;
  if (filter.causality !== undefined && event.causality !== filter.causality) return false;
  if (filter.types !== undefined && !filter.types.includes(event.type)) return false;
  if (filter.errors && !(event.type === "denial" || (event.type === "syscall" && event.data.errno !== null))) {
    return false;
  }
  if (filter.calls !== undefined) {
    const call = event.data.call;
    if (typeof call !== "string") return false;
    return filter.calls.some((p) => p.endsWith(".*") ? call.startsWith(p.slice(0, -1)) : p === "*" || p === call);
  }
  return true;
}
