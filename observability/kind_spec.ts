/**
 * What one row of the event kind table is: the ring's payload columns, what
 * a kind means by them ({@linkcode ColumnMeanings}), the codec a kind
 * attaches to one hub ({@linkcode KindCodec}) and the sink its `encode`
 * hands columns to ({@linkcode EventSink}). The rows are in `kinds_process.ts`,
 * `kinds_syscall.ts` and `kinds_policy.ts`; `event_kinds.ts` assembles them.
 *
 * @module
 */

import type { Interner } from "./interner.ts";
import type { Registry } from "./metrics.ts";
import type { EventView } from "./ring.ts";

/** The ring's payload columns (beside the header: time, kind, pid, tenant, causality, subject). */
export type PayloadColumn = "nameId" | "errnoId" | "latencyUs" | "bytes" | "detail";

/** What the payload columns mean for one kind; the ones it leaves out are 0 (or undefined). */
export type ColumnMeanings = Readonly<Partial<Record<PayloadColumn, string>>>;

/** The public body of one event (the SSE `data.data`). */
export type EventData = Record<string, unknown>;

/** What a kind gets from the hub it is attached to. */
export interface KindContext {
  /** The hub's table of kernel-defined names. */
  readonly names: Interner;
  /** The hub's tenant table (ids in the ring's `tenantId` column). */
  readonly tenants: Interner;
  /** The name id every name outside the kernel's sets is recorded under (`(unknown)`). */
  readonly unknownId: number;
}

/** Who an event is about. */
export interface Subject {
  pid: number;
  /** Unique per spawn (pids are recycled). */
  uid: number;
  tenant: string;
  causality: number;
  /** `full`: every syscall of the agent is recorded (`ProcessSpec.trace`); absent or `sampled`: the sampler decides. */
  trace?: "sampled" | "full";
}

/**
 * Where a kind's `encode` hands an event's columns: the hub's ring (and
 * meters), or a view ({@linkcode EventKinds.into}).
 */
export interface EventSink {
  /** Take one event: its header (`now`, `kind`, `s`) and its payload columns. */
  put(
    now: number,
    kind: number,
    s: Subject,
    nameId: number,
    errnoId: number,
    latencyUs: number,
    bytes: number,
    detail: string | undefined,
  ): void;
}

/** Options of a kind's meter. */
export interface MeterOptions {
  /**
   * The `call` label of a call name (the hub's own `(unknown)` is always `unknown`).
   * @default {(call) => call}
   */
  callLabel?: (call: string) => string;
}

/** Feeds one event (the view the hub just encoded) into a kind's series. */
/**
 * Counts an event (the view) into its kind's series; `count` events alike
 * at once (the hub hands a batch's identical syscalls over together).
 */
export type Meter = (view: EventView, count?: number) => void;

/** What every attached kind answers; shared code asks only this. */
export interface KindCodec {
  /** The public body of an event of this kind. Allocates (for SSE and APIs). */
  decode(view: EventView): EventData;
  /** Whether the event is an error (kept by `?errors=true`). */
  error(view: EventView): boolean;
  /** Register this kind's series in `registry`; returns what counts one event. */
  meter?(registry: Registry, options: MeterOptions): Meter;
}

/** One row of the table. */
export interface KindSpec<Id extends number = number, Name extends string = string, C extends KindCodec = KindCodec> {
  readonly id: Id;
  readonly name: Name;
  readonly columns: ColumnMeanings;
  /** The kind's codec for one hub; `id` is this row's id (what `encode` writes in `kind`). */
  attach(context: KindContext, id: Id): C;
}

/**
 * Declare one row of the table. The identity at run time; it keeps the row's
 * literal id and name and its codec's own type (its typed `encode`).
 *
 * @param spec the row
 * @returns `spec`
 */
export function kind<const Id extends number, const Name extends string, C extends KindCodec>(
  spec: KindSpec<Id, Name, C>,
): KindSpec<Id, Name, C> {
  return spec;
}
