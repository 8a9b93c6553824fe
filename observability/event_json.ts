/**
 * An event's raw columns as a plain object ({@linkcode EventJson},
 * {@linkcode toJSON}): for traces and tests. The public form of an event
 * (what SSE streams) is `EventKinds.decode`.
 *
 * @module
 */

import type { Errno } from "../kernel/mod.ts";
import { errnoNames, type EventKindName, eventKindNames } from "./event_kinds.ts";
import type { Interner } from "./interner.ts";
import type { EventView } from "./ring.ts";

/**
 * An event's raw columns as a plain object (for traces and tests). The
 * payload fields are named after their syscall meaning whatever the kind;
 * the public form of an event (what SSE streams) is `EventKinds.decode`.
 */
export interface EventJson {
  /** Sequence number. */
  seq: number;
  /** Milliseconds since the epoch. */
  timestampMs: number;
  /** Kind name. */
  kind: EventKindName;
  /** Agent pid. */
  pid: number;
  /** Tenant id. */
  tenantId: number;
  /** Causality id. */
  causality: number;
  /** Interned name, e.g. the syscall name ("" when none). */
  name: string;
  /** Errno code, or `null` for success. */
  errno: Errno | null;
  /** Latency in microseconds. */
  latencyUs: number;
  /** Bytes moved or charged. */
  bytes: number;
  /** Detail string, when one was given. */
  detail?: string;
}

/**
 * Materialise an event's raw columns as a plain object (allocates; see {@linkcode EventJson}).
 *
 * @param view a filled view
 * @param interner the table that produced `view.nameId`
 * @returns a JSON-ready object
 * @example
 * ```ts
 * import { EventRing, EventView, Interner, toJSON } from "./ring.ts";
 * const names = new Interner();
 * const ring = new EventRing({ slots: 4 });
 * ring.emit(1, 7, 1, 0, names.intern("fs.read"), 0, 10, 64);
 * const view = new EventView();
 * ring.read(0, view);
 * JSON.stringify(toJSON(view, names));
 * ```
 */
export function toJSON(view: EventView, interner: Interner): EventJson {
  const json: EventJson = {
    seq: view.seq,
    timestampMs: view.timestampMs,
    kind: eventKindNames[view.kind],
    pid: view.pid,
    tenantId: view.tenantId,
    causality: view.causality,
    name: interner.name(view.nameId),
    errno: (errnoNames[view.errnoId] || null) as Errno | null,
    latencyUs: view.latencyUs,
    bytes: view.bytes,
  };
  if (view.detail !== undefined) json.detail = view.detail;
  return json;
}
