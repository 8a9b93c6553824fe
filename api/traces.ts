/**
 * Traces that outlive the agent: every event the hub kept for an agent of
 * the API (lifecycle, the syscalls the sampler kept — errors and denials
 * always —, output, limits, exit) is stored in the SQLite file, per agent,
 * and read back by the agent's SSE stream and `GET /v1/agents/:id/trace`.
 *
 * - **Written in batches.** {@linkcode Traces} reads the ring behind the
 *   hub (no copy in the kernel's path; it catches up on its timer, when a
 *   stream connects, when an agent's end is written, and early when it
 *   falls half a ring behind) and buffers each agent's events as the JSON
 *   SSE streams. Every `traceFlushMs` one transaction writes what is
 *   buffered for all agents. An agent's end joins the transaction of its
 *   final record ({@linkcode Traces.writeAgent} from `writeFinal`), so the
 *   exit event is durable before an answer reports the end.
 * - **Only recorded agents.** An agent's events are written once its
 *   record is durable (`recorded`); a spawn the store refused is forgotten.
 * - **Bounded.** Per agent `eventsPerAgentMax` events and
 *   `traceCharsPerAgentMax` characters; past either, its events are dropped
 *   and counted in one `truncated` marker (stored at the seq of the first
 *   event dropped, its count rewritten as it grows). `limit` and `exit`
 *   events are always kept. For all agents at most `traceEventsBufferedMax`
 *   events wait to be written: when the store refuses them (a full disk)
 *   they stay buffered and are written again at the next flush; past the
 *   bound further events are dropped into the marker (`storage`).
 * - **Ids never repeat.** The hub's ids continue above a reservation kept
 *   in the store (`traceSeqReserveBlock` ahead, written with the batches).
 *
 * @module
 */

import { EventKind, EventView, type ObservabilityHub } from "../observability/mod.ts";
import { callMatches, type EventFeed, type EventFilter, type StreamEvent } from "./events.ts";
import {
  traceBufferedCharsMax,
  traceCharsPerAgentMax,
  traceEventsBufferedMax,
  traceEventsPerAgentMaxDefault,
  traceFlushMs,
  traceSeqReserveBlock,
} from "./limits.ts";
import type { Store, TraceRow } from "./store.ts";
import type { StoreErrors } from "./store_errors.ts";

/** The marker event's type. */
export const truncatedType = "truncated";

/** Options of {@linkcode Traces}; the defaults are api/limits.ts's. */
export interface TracesOptions {
  /** Events stored per agent (0: none are stored). @default traceEventsPerAgentMaxDefault */
  eventsPerAgentMax?: number;
  /** Characters of event JSON stored per agent. @default traceCharsPerAgentMax */
  charsPerAgentMax?: number;
  /** Events buffered for all agents. @default traceEventsBufferedMax */
  bufferedMax?: number;
  /** Time between two batches, ms. @default traceFlushMs */
  flushMs?: number;
}

/** Counters of the trace writer (for `/metrics` and tests). */
export interface TraceStats {
  /** Events written to the store. */
  stored: number;
  /** Events dropped over an agent's bound. */
  droppedLimit: number;
  /** Events dropped because too many waited to be written (the store refused them). */
  droppedStorage: number;
  /** Ring events overwritten before the writer read them (whose they were is unknown). */
  ringLost: number;
  /** Batches written, and batches the store refused. */
  flushes: number;
  flushFailures: number;
}

/** One agent's trace while this process follows it. */
interface AgentTrace {
  id: string;
  /** Events not yet written, in seq order. */
  buffered: TraceRow[];
  /** Events kept (written or buffered), and their characters. */
  kept: number;
  chars: number;
  marker: Marker | undefined;
  markerDirty: boolean;
  recorded: boolean;
  finished: boolean;
}

/** The `truncated` marker of an agent: where its first dropped event was, and how many went. */
interface Marker {
  event: StreamEvent;
  limit: number;
  storage: number;
}

const everything: EventFilter = { tenant: null };

/** The trace writer and reader. See the module documentation. */
export class Traces {
  readonly stats: TraceStats = {
    stored: 0,
    droppedLimit: 0,
    droppedStorage: 0,
    ringLost: 0,
    flushes: 0,
    flushFailures: 0,
  };
  readonly eventsPerAgentMax: number;
  #store: Store;
  #hub: ObservabilityHub;
  #feed: EventFeed;
  #errors: StoreErrors;
  #agentIds: (uid: number) => string | undefined;
  #charsMax: number;
  #bufferedMax: number;
  #flushMs: number;
  #traces = new Map<string, AgentTrace>();
  #buffered = 0;
  #bufferedChars = 0;
  #cursor: number;
  #reserved: number;
  #view = new EventView();
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param store where traces go (its `traces` tables)
   * @param feed the event feed (materialises ring events as streamed)
   * @param hub the kernel's hub, whose ring is read
   * @param agentIds the API id of an agent incarnation (uid)
   * @param errors where store failures are counted and logged
   * @param options bounds and timing
   */
  constructor(
    store: Store,
    feed: EventFeed,
    hub: ObservabilityHub,
    agentIds: (uid: number) => string | undefined,
    errors: StoreErrors,
    options: TracesOptions = {},
  ) {
    this.#store = store;
    this.#feed = feed;
    this.#hub = hub;
    this.#agentIds = agentIds;
    this.#errors = errors;
    this.eventsPerAgentMax = options.eventsPerAgentMax ?? traceEventsPerAgentMaxDefault;
    this.#charsMax = options.charsPerAgentMax ?? traceCharsPerAgentMax;
    this.#bufferedMax = options.bufferedMax ?? traceEventsBufferedMax;
    this.#flushMs = options.flushMs ?? traceFlushMs;
    this.#cursor = hub.ring.nextSeq;
    this.#reserved = hub.ring.nextSeq;
    // A burst that would outrun the ring before the next flush is read early.
    hub.onEmit(() => {
      if (hub.ring.nextSeq - this.#cursor > hub.ring.slots / 2) this.catchUp();
    });
  }

  /** Events waiting to be written. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Write the first reservation and flush on a timer. */
  start(): void {
    this.flush();
    this.#timer ??= setInterval(() => this.flush(), this.#flushMs);
  }

  /** Stop the timer and write what is buffered (what the store refuses now is lost). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
  }

  /** Agent `id`'s record is durable: its events may be written. */
  recorded(id: string): void {
    if (this.eventsPerAgentMax > 0) this.#trace(id).recorded = true;
  }

  /** Agent `id` is gone: its state goes once everything of it is written. */
  finished(id: string): void {
    const t = this.#traces.get(id);
    if (t !== undefined) t.finished = true;
  }

  /** Agent `id` will never have a record (its spawn was refused): drop what is buffered of it. */
  forget(id: string): void {
    const t = this.#traces.get(id);
    if (t === undefined) return;
    this.#release(t, t.buffered.length);
    this.#traces.delete(id);
  }

  /**
   * Read the ring up to now into the agents' buffers.
   *
   * @returns the id of the newest event: every event of an agent up to it is in its trace (or counted as dropped)
   */
  catchUp(): number {
    const ring = this.#hub.ring;
    const next = ring.nextSeq;
    if (this.eventsPerAgentMax === 0) return this.#cursor = next;
    let seq = this.#cursor;
    if (seq < ring.oldestSeq) {
      this.stats.ringLost += ring.oldestSeq - seq;
      seq = ring.oldestSeq;
    }
    const view = this.#view;
    for (; seq < next; seq++) {
      ring.read(seq, view);
      if (view.subject === 0) continue;
      const id = this.#agentIds(view.subject);
      if (id === undefined) continue;
      const t = this.#trace(id);
      if (t.marker !== undefined && t.kept >= this.eventsPerAgentMax && !alwaysStored(view.kind)) {
        // Over its bound and marked already: counted, never made into JSON (a full trace costs the writer little).
        this.#count(t, "limit");
        continue;
      }
      const event = this.#feed.toStreamEvent(view, everything)!;
      const json = JSON.stringify(event);
      const row = { seq: event.seq, at: event.ts, kind: event.type, error: this.#hub.kinds.error(view), json };
      this.#admit(t, row, event, view.kind);
    }
    view.detail = undefined;
    return this.#cursor = next;
  }

  /**
   * Inside the transaction of agent `id`'s final record: write everything
   * buffered of it (its exit event included); the buffer lets go of it once
   * that transaction commits.
   */
  writeAgent(id: string): void {
    this.catchUp();
    const t = this.#traces.get(id);
    if (t === undefined) return;
    t.recorded = true;
    this.#write(t);
  }

  /**
   * Write every recorded agent's buffered events in one transaction.
   *
   * @returns whether nothing of it was refused
   */
  flush(): boolean {
    this.catchUp();
    const due = [...this.#traces.values()].filter((t) => t.recorded && (t.buffered.length > 0 || t.markerDirty));
    const next = this.#hub.ring.nextSeq;
    const reserve = next + traceSeqReserveBlock / 2 > this.#reserved ? next + traceSeqReserveBlock : undefined;
    if (due.length > 0 || reserve !== undefined) {
      try {
        this.#store.transaction(() => {
          for (const t of due) this.#write(t);
          if (reserve === undefined) return;
          this.#store.traces.reserve(reserve);
          this.#store.afterCommit(() => this.#reserved = reserve);
        });
        this.stats.flushes++;
      } catch (err) {
        this.stats.flushFailures++;
        if (this.#errors.failed(`trace events (${this.#buffered} waiting)`, err) === undefined) {
          // Not the store's failure but a bug: writing them again would fail again.
          console.error(`trace events dropped unwritten: ${err instanceof Error ? err.stack : err}`);
          for (const t of due) this.#dropBuffered(t);
        }
        return false;
      }
    }
    for (const t of this.#traces.values()) {
      if (t.finished && t.buffered.length === 0 && !t.markerDirty) this.#traces.delete(t.id);
    }
    return true;
  }

  /**
   * At most `limit` events of agent `id` with `afterSeq < seq <= uptoSeq`, in
   * seq order: what is stored and what is still buffered. Synchronous, so no
   * flush moves events between the two while it reads.
   */
  page(id: string, afterSeq: number, uptoSeq: number, limit: number): TraceRow[] {
    const rows = this.#store.traces.page(id, afterSeq, uptoSeq, limit);
    const t = this.#traces.get(id);
    if (t === undefined) return rows;
    const inRange = (r: TraceRow) => r.seq > afterSeq && r.seq <= uptoSeq;
    const memory = t.buffered.filter(inRange);
    if (t.marker !== undefined && inRange(markerRow(t.marker))) memory.push(markerRow(t.marker));
    if (memory.length === 0) return rows;
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    for (const r of memory) bySeq.set(r.seq, r);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(0, limit);
  }

  #trace(id: string): AgentTrace {
    let t = this.#traces.get(id);
    if (t === undefined) {
      t = {
        id,
        buffered: [],
        kept: 0,
        chars: 0,
        marker: undefined,
        markerDirty: false,
        recorded: false,
        finished: false,
      };
      this.#traces.set(id, t);
    }
    return t;
  }

  /** Keep one event in its agent's buffer, or count it in the agent's marker. */
  #admit(t: AgentTrace, row: TraceRow, event: StreamEvent, kind: number): void {
    const always = alwaysStored(kind);
    const chars = row.json.length;
    if (!always && (t.kept >= this.eventsPerAgentMax || t.chars + chars > this.#charsMax)) {
      return this.#drop(t, event, "limit");
    }
    if (!always && (this.#buffered >= this.#bufferedMax || this.#bufferedChars + chars > traceBufferedCharsMax)) {
      return this.#drop(t, event, "storage");
    }
    t.buffered.push(row);
    t.kept++;
    t.chars += chars;
    this.#buffered++;
    this.#bufferedChars += chars;
  }

  #drop(t: AgentTrace, event: StreamEvent, why: "limit" | "storage"): void {
    t.marker ??= { event, limit: 0, storage: 0 };
    this.#count(t, why);
  }

  /** Count one more dropped event in `t`'s marker (which exists). */
  #count(t: AgentTrace, why: "limit" | "storage"): void {
    t.marker![why]++;
    t.markerDirty = true;
    if (why === "limit") this.stats.droppedLimit++;
    else this.stats.droppedStorage++;
  }

  /** Insert `t`'s buffered events (and its marker); its buffer lets go of them once the transaction commits. */
  #write(t: AgentTrace): void {
    if (!this.#store.traces.hasRecord(t.id)) {
      // Its record was deleted (retention) after the agent ended: what came after it goes too.
      this.#release(t, t.buffered.length);
      t.markerDirty = false;
      t.finished = true;
      return;
    }
    const n = t.buffered.length;
    const marker = t.markerDirty ? t.marker : undefined;
    if (n > 0) this.#store.traces.insert(t.id, t.buffered);
    if (marker !== undefined) this.#store.traces.insert(t.id, [markerRow(marker)]);
    this.#store.afterCommit(() => {
      this.#release(t, n);
      this.stats.stored += n;
      if (marker !== undefined && t.marker === marker) t.markerDirty = false;
    });
  }

  /** Let go of the first `n` buffered events of `t`. */
  #release(t: AgentTrace, n: number): void {
    for (const r of t.buffered.splice(0, n)) {
      this.#buffered--;
      this.#bufferedChars -= r.json.length;
    }
  }

  /** Drop what is buffered of `t`, counted (a bug refused it: writing it again would fail again). */
  #dropBuffered(t: AgentTrace): void {
    const lost = t.buffered.length;
    if (lost === 0) return;
    const first = JSON.parse(t.buffered[0].json) as StreamEvent;
    this.#release(t, lost);
    t.marker ??= { event: first, limit: 0, storage: 0 };
    t.marker.storage += lost;
    t.markerDirty = true;
    this.stats.droppedStorage += lost;
  }
}

/** The stored form of a marker: the first dropped event's header, typed `truncated`, with the counts. */
function markerRow(m: Marker): TraceRow {
  const { seq, ts, tenant, agentId, pid, causality } = m.event;
  const data = { dropped: m.limit + m.storage, overLimit: m.limit, storage: m.storage };
  const event: StreamEvent = { seq, ts, type: truncatedType, tenant, agentId, pid, causality, data };
  return { seq, at: ts, kind: truncatedType, error: false, json: JSON.stringify(event) };
}

/**
 * Whether a stored event passes a stream's filter (the same filter the
 * live feed applies: types, errors, calls, causality).
 */
export function traceRowMatches(row: TraceRow, filter: EventFilter): boolean {
  if (filter.types !== undefined && !filter.types.includes(row.kind)) return false;
  if (filter.errors && !row.error) return false;
  if (filter.calls === undefined && filter.causality === undefined) return true;
  const event = JSON.parse(row.json) as StreamEvent;
  if (filter.causality !== undefined && event.causality !== filter.causality) return false;
  if (filter.calls === undefined) return true;
  const call = event.data.call;
  return typeof call === "string" && callMatches(filter.calls, call);
}

/** Kinds stored past every bound: an agent's end is always in its trace. */
function alwaysStored(kind: number): boolean {
  return kind === EventKind.exit || kind === EventKind.limit;
}
