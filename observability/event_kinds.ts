/**
 * Event kinds as one table. Every kind declares, in one place:
 *
 * - its `id` (the ring's one-byte `kind` column) and `name` (also the SSE
 *   `type` of its events);
 * - its `columns`: what the ring's generic payload columns mean for it.
 *   Every event has the same columns — a u32 `nameId`, a u16 `errnoId`, a
 *   f32 `latencyUs`, a f64 `bytes` and one `detail` string, named after
 *   what they hold for a syscall — and a column a kind does not declare is
 *   0 (`detail`: undefined) in its events;
 * - `attach(context, id)`: its codec for one hub — `encode` (the hub's
 *   typed arguments → columns, handed to an {@linkcode EventSink}: the
 *   hub's ring and meters, or a view; it never allocates unless it builds a
 *   detail string), `decode` (columns → the `data` of the public
 *   `{type, data}` the SSE feed streams), `error` (whether `?errors=true`
 *   keeps it) and optionally `meter` (its Prometheus series, fed with every
 *   event of the kind, sampled out of the ring or not).
 *
 * Closed sets a kind stores by name (lifecycle transitions, exit reasons,
 * policy scopes) are a {@linkcode Vocabulary}: their labels are interned
 * once when the kind is attached, and decoding maps a name id back to the
 * typed value; no name is ever parsed. Shared code — the hub's sink, the
 * SSE feed, `/metrics` — never branches on a concrete kind: it looks the
 * kind up by id and asks it. Adding a kind = adding a row.
 *
 * The table is assembled here from its rows: `kinds_process.ts` (lifecycle,
 * output, cleanup, exit), `kinds_syscall.ts` (syscall, denial) and
 * `kinds_policy.ts` (limit, anomaly, policy). What a row is lives in
 * `kind_spec.ts`, the codes rows store (errno ids, vocabularies) in
 * `kind_codes.ts`; this file re-exports both.
 *
 * @module
 */

import type { Interner } from "./interner.ts";
import type { EventData, EventSink, KindCodec, KindContext, KindSpec, Meter, MeterOptions } from "./kind_spec.ts";
import { anomalyKind, limitKind, policyKind } from "./kinds_policy.ts";
import { cleanupKind, exitKind, lifecycleKind, outputKind } from "./kinds_process.ts";
import { approvalKind, denialKind, importKind, syscallKind } from "./kinds_syscall.ts";
import type { Registry } from "./metrics.ts";
import type { EventView } from "./ring.ts";

export type {
  ColumnMeanings,
  EventData,
  EventSink,
  KindCodec,
  KindContext,
  KindSpec,
  Meter,
  MeterOptions,
  PayloadColumn,
  Subject,
} from "./kind_spec.ts";
export { errnoId, errnoNames, unknownName, Vocabulary } from "./kind_codes.ts";
export { denialLayers } from "./kinds_syscall.ts";
export { limitExitReasons, type PolicyScope, policyScopes } from "./kinds_policy.ts";

/** The table, in id order. */
export const eventKinds = {
  lifecycle: lifecycleKind,
  syscall: syscallKind,
  denial: denialKind,
  limit: limitKind,
  output: outputKind,
  cleanup: cleanupKind,
  anomaly: anomalyKind,
  policy: policyKind,
  exit: exitKind,
  import: importKind,
  approval: approvalKind,
};

/** The table's rows. */
type Kinds = typeof eventKinds;

/** One event kind name, e.g. `"syscall"`; also the SSE `type` of its events. */
export type EventKindName = keyof Kinds;

/** Kind ids by name, e.g. `EventKind.syscall` (1). */
export const EventKind: { readonly [K in EventKindName]: Kinds[K]["id"] } = Object.freeze(
  Object.fromEntries(Object.values(eventKinds).map((k) => [k.name, k.id])),
) as { readonly [K in EventKindName]: Kinds[K]["id"] };

/** One event kind id. */
export type EventKind = (typeof EventKind)[EventKindName];

/** Kind names indexed by kind id. */
export const eventKindNames: readonly EventKindName[] = Object.freeze(
  Object.values(eventKinds).sort((a, b) => a.id - b.id).map((k) => k.name),
);

/** Number of event kinds; a ring `kind` must be below it. */
export const eventKindCount: number = eventKindNames.length;

for (const [name, spec] of Object.entries(eventKinds)) {
  if (spec.name !== name || eventKindNames[spec.id] !== name) {
    throw new Error(`assertion failed: event kind ${name} (id ${spec.id}) must have a unique id below the kind count`);
  }
}

/** The codecs of every kind for one hub. */
export type AttachedKinds = { readonly [K in EventKindName]: ReturnType<Kinds[K]["attach"]> };

/** An event in its public form: the SSE `type` and `data`. */
export interface DecodedEvent {
  type: EventKindName;
  data: EventData;
}

/**
 * The table attached to one hub: the typed codecs (`kinds.of.syscall.encode(...)`,
 * for the hub's methods) and lookups by id for shared code.
 *
 * @example
 * ```ts
 * import { EventKinds } from "./event_kinds.ts";
 * import { EventView } from "./ring.ts";
 * import { Interner } from "./interner.ts";
 * const names = new Interner();
 * const kinds = new EventKinds({ names, tenants: new Interner(), unknownId: names.intern("(unknown)") });
 * const view = new EventView();
 * kinds.of.policy.encode(kinds.into(view), Date.now(), { pid: 0, uid: 0, tenant: "t", causality: 0 }, "tenant", 3);
 * kinds.decode(view); // { type: "policy", data: { scope: "tenant", epoch: 3 } }
 * ```
 */
export class EventKinds {
  /** Each kind's codec, by name. */
  readonly of: AttachedKinds;
  readonly #byId: readonly KindCodec[];
  readonly #tenants: Interner;

  /** @param context the hub's name tables */
  constructor(context: KindContext) {
    this.#tenants = context.tenants;
    const of: Record<string, KindCodec> = {};
    const byId: KindCodec[] = [];
    for (const spec of Object.values(eventKinds) as KindSpec[]) {
      of[spec.name] = byId[spec.id] = spec.attach(context, spec.id);
    }
    this.of = of as unknown as AttachedKinds;
    this.#byId = byId;
  }

  /**
   * A sink that writes one event into `view` (header and payload; `seq` -1):
   * encode → view → decode without a ring.
   */
  into(view: EventView): EventSink {
    const tenants = this.#tenants;
    return {
      put(now, kind, s, nameId, errno, latencyUs, bytes, detail) {
        view.seq = -1;
        view.timestampMs = now;
        view.kind = kind;
        view.pid = s.pid;
        view.tenantId = tenants.intern(s.tenant);
        view.causality = s.causality;
        view.subject = s.uid;
        view.nameId = nameId;
        view.errnoId = errno;
        view.latencyUs = latencyUs;
        view.bytes = bytes;
        view.detail = detail;
      },
    };
  }

  /** The name (SSE type) of a kind id. */
  name(kind: number): EventKindName {
    return eventKindNames[kind];
  }

  /** The public form of a ring event. Allocates. */
  decode(view: EventView): DecodedEvent {
    return { type: eventKindNames[view.kind], data: this.#byId[view.kind].decode(view) };
  }

  /** Whether a ring event is an error (kept by `?errors=true`). */
  error(view: EventView): boolean {
    return this.#byId[view.kind].error(view);
  }

  /**
   * Register every kind's series in `registry`.
   *
   * @returns the meters by kind id (undefined for kinds without series)
   */
  meters(registry: Registry, options: MeterOptions = {}): readonly (Meter | undefined)[] {
    return this.#byId.map((codec) => codec.meter?.(registry, options));
  }
}
