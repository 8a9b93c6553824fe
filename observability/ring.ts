/**
 * The event ring: one preallocated, struct-of-arrays circular buffer that
 * every kernel subsystem writes typed events into.
 *
 * Writing never allocates and never blocks: the ring overwrites its oldest
 * slot and counts it. Readers keep their own cursor; a reader that falls more
 * than `slots` events behind jumps forward and counts what it lost in
 * `reader.dropped`. Nothing a reader does (or fails to do) slows the writer.
 *
 * @module
 */

import { eventKindCount } from "./event_kinds.ts";
import { assert } from "../lib/mod.ts";

// The kinds and the errno column's code live in the event kind table; re-exported for the ring's readers.
export { errnoId, errnoNames, EventKind, eventKindCount, type EventKindName, eventKindNames } from "./event_kinds.ts";
// The name table and the plain-object form of an event, re-exported beside the ring they serve.
export { internedCharsMax, internedMax, Interner } from "./interner.ts";
export { type EventJson, toJSON } from "./event_json.ts";

/** A module constant (not an imported binding): `emitAt`'s bound check stays a compare with a literal. */
const kindsMax: number = eventKindCount;

/** Slots in a ring unless told otherwise; a power of two. */
export const ringSlotsDefault = 65_536;

/** Largest ring we accept (2^24 slots, about 0.7 GB of columns): a sanity bound. */
export const ringSlotsMax = 16_777_216;

/** Options for {@linkcode EventRing}. */
export interface EventRingOptions {
  /**
   * Number of slots; a power of two.
   * @default {65536}
   */
  slots?: number;
  /**
   * Wall clock in milliseconds since the epoch (fractional).
   * @default {() => performance.now() + performance.timeOrigin}
   */
  clock?: () => number;
  /**
   * Sequence number of the first event (a restarted server continues above
   * the ids it handed out before; see `api/traces.ts`).
   * @default {0}
   */
  firstSeq?: number;
}

/**
 * A reusable view of one event, filled in place by {@linkcode RingReader.next}.
 * Allocate one per reader loop and reuse it.
 *
 * The header (`seq` … `subject`) means the same for every event. The five
 * payload columns are generic: they are named after what a syscall keeps in
 * them, and each kind of `observability/event_kinds.ts` declares what they
 * mean for it (and decodes them).
 */
export class EventView {
  /** Sequence number (event id), unique and increasing per ring. */
  seq = 0;
  /** Milliseconds since the epoch. */
  timestampMs = 0;
  /** Event kind id, see {@linkcode EventKind}. */
  kind = 0;
  /** Agent pid (0 for the kernel itself). */
  pid = 0;
  /** Tenant id. */
  tenantId = 0;
  /** Causality id linking spawn → syscalls → child spawn → exit. */
  causality = 0;
  /** The agent incarnation the event is about (unique per spawn; pids are recycled). */
  subject = 0;
  /** Payload, u32: an interned name id for most kinds (the call of a syscall). */
  nameId = 0;
  /** Payload, u16: an errno id (0 = ok) for the kinds that have one; see {@linkcode errnoNames}. */
  errnoId = 0;
  /** Payload, float32 (the latency of a syscall, µs). */
  latencyUs = 0;
  /** Payload, float64 (the bytes of a syscall). */
  bytes = 0;
  /** Payload: one short detail string (stored by reference), or undefined. */
  detail: string | undefined = undefined;
}

/**
 * The ring itself. See the module documentation.
 *
 * @example
 * ```ts
 * import { EventKind, EventRing, EventView } from "./ring.ts";
 * const ring = new EventRing({ slots: 8 });
 * const reader = ring.reader();
 * ring.emit(EventKind.syscall, 7, 1, 42, 2, 0, 13.5, 128);
 * const view = new EventView();
 * reader.next(view); // true; view.pid === 7
 * ```
 */
export class EventRing {
  /** Number of slots (a power of two). */
  readonly slots: number;
  /** `slots - 1`, for masking a sequence number into a slot index. */
  readonly mask: number;
  /** Timestamp column, ms since the epoch. */
  readonly timestampMs: Float64Array;
  /** Kind column. */
  readonly kind: Uint8Array;
  /** Pid column. */
  readonly pid: Int32Array;
  /** Tenant id column. */
  readonly tenantId: Uint32Array;
  /** Causality id column. */
  readonly causality: Float64Array;
  readonly subject: Float64Array;
  /** Payload column, u32 (see {@linkcode EventView.nameId}). */
  readonly nameId: Uint32Array;
  /** Payload column, u16 (see {@linkcode EventView.errnoId}). */
  readonly errnoId: Uint16Array;
  /** Payload column, float32 (see {@linkcode EventView.latencyUs}). */
  readonly latencyUs: Float32Array;
  /** Payload column, float64 (see {@linkcode EventView.bytes}). */
  readonly bytes: Float64Array;
  /** Payload column: references to existing strings, or undefined. */
  readonly detail: (string | undefined)[];
  /** Characters of all detail strings the ring holds now (what bounds its memory beyond the columns). */
  detailChars = 0;
  /** Events overwritten before the ring wrapped past them (oldest dropped). */
  overwritten = 0;
  readonly #clock: () => number;
  readonly #first: number;
  #next: number;

  /**
   * @param options slot count and clock
   * @throws {Error} when `slots` is not a power of two in [2, ringSlotsMax]
   */
  constructor(options: EventRingOptions = {}) {
    const slots = options.slots ?? ringSlotsDefault;
    assert(
      Number.isInteger(slots) && slots >= 2 && slots <= ringSlotsMax &&
        (slots & (slots - 1)) === 0,
      `ring slots must be a power of two in [2, ${ringSlotsMax}]`,
    );
    this.slots = slots;
    this.mask = slots - 1;
    this.timestampMs = new Float64Array(slots);
    this.kind = new Uint8Array(slots);
    this.pid = new Int32Array(slots);
    this.tenantId = new Uint32Array(slots);
    this.causality = new Float64Array(slots);
    this.subject = new Float64Array(slots);
    this.nameId = new Uint32Array(slots);
    this.errnoId = new Uint16Array(slots);
    this.latencyUs = new Float32Array(slots);
    this.bytes = new Float64Array(slots);
    this.detail = new Array<string | undefined>(slots).fill(undefined);
    this.#clock = options.clock ?? defaultClock();
    const first = options.firstSeq ?? 0;
    assert(Number.isSafeInteger(first) && first >= 0, "ring firstSeq must be a whole number ≥ 0");
    this.#first = first;
    this.#next = first;
  }

  /** Events emitted so far (by this ring: `nextSeq - firstSeq`). */
  get emitted(): number {
    return this.#next - this.#first;
  }

  /** Sequence number of this ring's first event. */
  get firstSeq(): number {
    return this.#first;
  }

  /** Sequence number the next `emit` will return. */
  get nextSeq(): number {
    return this.#next;
  }

  /** Sequence number of the oldest event still held. */
  get oldestSeq(): number {
    return this.#next - this.#first > this.slots ? this.#next - this.slots : this.#first;
  }

  /**
   * Append one event, stamped with the ring's clock. Does not allocate.
   *
   * Values are stored in fixed-width columns: out-of-range integers wrap
   * like typed-array stores, `latencyUs` is rounded to float32.
   *
   * @param kind event kind id, below `eventKindCount`
   * @param pid agent pid (0 = kernel)
   * @param tenantId tenant id
   * @param causality causality id
   * @param nameId interned name id
   * @param errnoId errno id, 0 = ok
   * @param latencyUs latency in microseconds
   * @param bytes bytes moved or charged
   * @param detail optional reference to an existing string
   * @returns the event's sequence number
   * @throws {Error} when `kind` is not an event kind (a programmer error)
   */
  emit(
    kind: number,
    pid: number,
    tenantId: number,
    causality: number,
    nameId: number,
    errnoId: number,
    latencyUs: number,
    bytes: number,
    detail?: string,
  ): number {
    return this.emitAt(
      this.#clock(),
      kind,
      pid,
      tenantId,
      causality,
      nameId,
      errnoId,
      latencyUs,
      bytes,
      detail,
    );
  }

  /**
   * Like {@linkcode EventRing.emit} with a timestamp the caller already has
   * (the dispatcher reads the clock anyway to measure latency), which saves
   * one clock read. Does not allocate.
   *
   * @param timestampMs milliseconds since the epoch
   * @returns the event's sequence number
   * @throws {Error} when `kind` is not an event kind (a programmer error)
   */
  emitAt(
    timestampMs: number,
    kind: number,
    pid: number,
    tenantId: number,
    causality: number,
    nameId: number,
    errnoId: number,
    latencyUs: number,
    bytes: number,
    detail?: string,
    subject = 0,
  ): number {
    if (!(kind >= 0 && kind < kindsMax)) {
      throw new Error(`assertion failed: event kind ${kind}`);
    }
    const seq = this.#next;
    const i = seq & this.mask; // exact: seq < 2^53 and mask < 2^31
    this.timestampMs[i] = timestampMs;
    this.kind[i] = kind;
    this.pid[i] = pid;
    this.tenantId[i] = tenantId;
    this.causality[i] = causality;
    this.nameId[i] = nameId;
    this.errnoId[i] = errnoId;
    this.latencyUs[i] = latencyUs;
    this.bytes[i] = bytes;
    this.detailChars += (detail?.length ?? 0) - (this.detail[i]?.length ?? 0);
    this.detail[i] = detail;
    this.subject[i] = subject;
    if (seq - this.#first >= this.slots) this.overwritten++;
    this.#next = seq + 1;
    return seq;
  }

  /**
   * A new reader with its own cursor.
   *
   * @param fromSeq first sequence number to read; defaults to `nextSeq`
   *   (only events emitted from now on). Pass `ring.oldestSeq` for the
   *   backlog. Older sequence numbers count as dropped on the first read;
   *   future ones are clamped to `nextSeq`.
   * @returns the reader
   * @throws {Error} when `fromSeq` is not a non-negative integer
   */
  reader(fromSeq?: number): RingReader {
    const start = fromSeq ?? this.#next;
    assert(Number.isSafeInteger(start) && start >= 0, "reader fromSeq");
    return new RingReader(this, Math.min(start, this.#next));
  }

  /**
   * Copy the event with sequence number `seq` into `out` if it is still held.
   *
   * @param seq sequence number
   * @param out view to fill
   * @returns `false` when the event was overwritten or not emitted yet
   */
  read(seq: number, out: EventView): boolean {
    if (seq < this.oldestSeq || seq >= this.#next) return false;
    const i = seq & this.mask;
    out.seq = seq;
    out.timestampMs = this.timestampMs[i];
    out.kind = this.kind[i];
    out.pid = this.pid[i];
    out.tenantId = this.tenantId[i];
    out.causality = this.causality[i];
    out.subject = this.subject[i];
    out.nameId = this.nameId[i];
    out.errnoId = this.errnoId[i];
    out.latencyUs = this.latencyUs[i];
    out.bytes = this.bytes[i];
    out.detail = this.detail[i];
    return true;
  }
}

/**
 * A cursor over an {@linkcode EventRing}. Readers never block the writer: a
 * reader that falls behind by more than `slots` events skips to the oldest
 * event still held and adds the gap to `dropped`.
 */
export class RingReader {
  /** Events this reader lost because the ring overwrote them first. */
  dropped = 0;
  readonly #ring: EventRing;
  readonly #view = new EventView();
  #cursor: number;

  /**
   * Use {@linkcode EventRing.reader} instead.
   *
   * @param ring the ring to read
   * @param cursor first sequence number to read
   */
  constructor(ring: EventRing, cursor: number) {
    this.#ring = ring;
    this.#cursor = cursor;
  }

  /** Sequence number this reader will read next. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Events emitted but not read yet (may exceed what the ring still holds). */
  get lag(): number {
    return this.#ring.nextSeq - this.#cursor;
  }

  /**
   * Fill `out` with the next event. Does not allocate.
   *
   * @param out a caller-owned view, reused across calls
   * @returns `false` when the reader has caught up with the writer
   */
  next(out: EventView): boolean {
    const ring = this.#ring;
    const oldest = ring.oldestSeq;
    if (this.#cursor < oldest) {
      this.dropped += oldest - this.#cursor;
      this.#cursor = oldest;
    }
    if (!ring.read(this.#cursor, out)) return false;
    this.#cursor++;
    return true;
  }

  /**
   * Read up to `max` events, calling `fn` with a view reused between calls
   * (copy what you keep).
   *
   * @param max most events to read
   * @param fn called once per event
   * @returns the number of events read
   */
  readBatch(max: number, fn: (view: EventView) => void): number {
    let count = 0;
    while (count < max && this.next(this.#view)) {
      fn(this.#view);
      count++;
    }
    return count;
  }
}

function defaultClock(): () => number {
  const origin = performance.timeOrigin;
  return () => performance.now() + origin;
}
