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
 * @module
 */

import { ERRNO, type Errno } from "../kernel/mod.ts";
import { type ExitReason, exitReasons, type ProcState, procStates } from "../kernel/process/mod.ts";
import { type BoundCounter, type BoundHistogram, type Counter, exponentialBuckets, type Registry } from "./metrics.ts";
import type { EventView, Interner } from "./ring.ts";

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
export type Meter = (view: EventView) => void;

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

function kind<const Id extends number, const Name extends string, C extends KindCodec>(
  spec: KindSpec<Id, Name, C>,
): KindSpec<Id, Name, C> {
  return spec;
}

/** Errno strings indexed by errno id; id 0 is "ok" (no error). The `errnoId` column's code. */
export const errnoNames: readonly ("" | Errno)[] = Object.freeze(["", ...(Object.keys(ERRNO) as Errno[])]);

const errnoIds: ReadonlyMap<string, number> = new Map(errnoNames.map((name, id) => [name, id]));

/**
 * The errno id stored in the ring for an errno code (0 for success).
 *
 * @param code an errno string such as `"EACCES"`, or `undefined` for success
 * @returns the stable id (1-based position in `ERRNO`), or 0 for `undefined`
 * @throws {Error} when `code` is not a known errno (a programmer error)
 * @example
 * ```ts
 * import { errnoId } from "./event_kinds.ts";
 * errnoId(undefined); // 0
 * errnoId("EACCES"); // 1
 * ```
 */
export function errnoId(code: Errno | undefined): number {
  if (code === undefined) return 0;
  const id = errnoIds.get(code);
  if (id === undefined) throw new Error(`errnoId: unknown errno ${code}`);
  return id;
}

/** The errno of an `errnoId` column value, `null` for 0 (success). */
function errnoOf(id: number): Errno | null {
  return errnoNames[id] || null;
}

/** What names outside a closed set decode to. */
export const unknownName = "(unknown)";

/** The layers a denial names, in the order their index is stored (`DenialLayer` of the dispatcher). */
export const denialLayers = ["capability", "path", "policy", "rate", "quota"] as const;
const denialLayerIndex: ReadonlyMap<string, number> = new Map(denialLayers.map((layer, i) => [layer, i]));

/** Exit reasons that are also `limit` events. */
export const limitExitReasons: readonly ExitReason[] = ["cpu", "memory", "timeout", "output"];

/** Scopes of a policy change. */
export const policyScopes = ["tenant", "agent"] as const;
/** The scope of a policy change. */
export type PolicyScope = (typeof policyScopes)[number];

/**
 * A closed set of values stored as interned names: `id(i)` is the name id
 * of `values[i]`, `value(nameId)` the value back.
 */
export class Vocabulary<V> {
  readonly #ids: Uint32Array;
  readonly #values = new Map<number, V>();

  /**
   * @param names the table the labels are interned in
   * @param values the set, in index order
   * @param label the name each value is stored under
   * @throws {Error} when two values share a label, or the table is full (programmer errors)
   */
  constructor(names: Interner, values: readonly V[], label: (value: V) => string) {
    this.#ids = new Uint32Array(values.length);
    values.forEach((value, i) => {
      const id = names.intern(label(value));
      if (id < 2 || this.#values.has(id)) throw new Error(`assertion failed: vocabulary label ${label(value)}`);
      this.#ids[i] = id;
      this.#values.set(id, value);
    });
  }

  /** The name id of the value at `index` (of the constructor's `values`). */
  id(index: number): number {
    return this.#ids[index];
  }

  /** The value stored under `nameId`, or undefined for a name outside the set. */
  value(nameId: number): V | undefined {
    return this.#values.get(nameId);
  }
}

const never = (): boolean => false;
const stateIndex: ReadonlyMap<string, number> = new Map(procStates.map((state, i) => [state, i]));
const reasonIndex: ReadonlyMap<string, number> = new Map(exitReasons.map((reason, i) => [reason, i]));
const transitions = procStates.flatMap((from) => procStates.map((to) => ({ from, to })));

/** The table. */
export const eventKinds = {
  lifecycle: kind({
    id: 0,
    name: "lifecycle",
    columns: { nameId: "the transition, named `from>to` (a vocabulary of every pair of `procStates`)" },
    attach: ({ names, unknownId }, id) => {
      const vocabulary = new Vocabulary(names, transitions, (t) => `${t.from}>${t.to}`);
      const n = procStates.length;
      const unknown = { from: unknownName, to: unknownName };
      const transition = (view: EventView) => vocabulary.value(view.nameId) ?? unknown;
      return {
        encode(sink: EventSink, now: number, s: Subject, from: ProcState, to: ProcState): void {
          const f = stateIndex.get(from);
          const t = stateIndex.get(to);
          sink.put(
            now,
            id,
            s,
            f === undefined || t === undefined ? unknownId : vocabulary.id(f * n + t),
            0,
            0,
            0,
            undefined,
          );
        },
        decode: (view) => {
          const { from, to } = transition(view);
          return { from, to };
        },
        error: never,
        meter(registry) {
          const spawnSeconds = registry.histogram(
            "agentos_spawn_seconds",
            "Time from spawn to Running, seconds.",
            [],
            exponentialBuckets(0.000_5, 2, 14),
          ).labels();
          const initializing = new Map<number, number>();
          return (view) => {
            const { to } = transition(view);
            if (to === "Initializing") initializing.set(view.pid, performance.now());
            if (to !== "Running" && to !== "Exiting") return;
            const started = initializing.get(view.pid);
            initializing.delete(view.pid);
            if (started !== undefined && to === "Running") spawnSeconds.observe((performance.now() - started) / 1000);
          };
        },
      };
    },
  }),

  syscall: kind({
    id: 1,
    name: "syscall",
    columns: {
      nameId: "the call: a syscall-table name, or `(unknown)`",
      errnoId: "its errno, 0 for success",
      latencyUs: "service time in the kernel, µs",
      bytes: "bytes moved",
      detail: "the argument summary",
    },
    attach: ({ names, tenants, unknownId }, id) => ({
      encode(
        sink: EventSink,
        now: number,
        s: Subject,
        callId: number,
        errno: Errno | null,
        latencyUs: number,
        bytes: number,
        args?: string,
      ) {
        sink.put(now, id, s, callId, errno === null ? 0 : errnoId(errno), latencyUs, bytes, args);
      },
      decode: (view) => ({
        call: names.name(view.nameId),
        errno: errnoOf(view.errnoId),
        latencyUs: view.latencyUs,
        bytes: view.bytes,
        args: view.detail,
      }),
      error: (view) => view.errnoId !== 0,
      meter(registry, { callLabel = (call) => call }) {
        const calls = registry.counter(
          "agentos_syscalls_total",
          "Syscalls served, by call and errno (ok on success).",
          [
            "call",
            "errno",
          ],
        );
        const latency = registry.histogram(
          "agentos_syscall_latency_seconds",
          "Syscall service time in the kernel, seconds.",
          ["call"],
          exponentialBuckets(0.000_005, 4, 10),
        );
        const perTenant = registry.counter("agentos_tenant_syscalls_total", "Syscalls served per tenant.", ["tenant"]);
        // Bound handles by name id (kernel-defined names only) and tenant id: counting does not allocate.
        const byCall = new Map<
          number,
          { label: string; latency: BoundHistogram; byErrno: Map<number, BoundCounter> }
        >();
        const byTenant = new Map<number, BoundCounter>();
        return (view) => {
          let call = byCall.get(view.nameId);
          if (call === undefined) {
            const label = view.nameId === unknownId ? "unknown" : callLabel(names.name(view.nameId));
            call = { label, latency: latency.labels({ call: label }), byErrno: new Map() };
            byCall.set(view.nameId, call);
          }
          let count = call.byErrno.get(view.errnoId);
          if (count === undefined) {
            count = calls.labels({ call: call.label, errno: errnoOf(view.errnoId) ?? "ok" });
            call.byErrno.set(view.errnoId, count);
          }
          count.inc();
          call.latency.observe(view.latencyUs / 1e6);
          tenantCounter(byTenant, perTenant, tenants, view.tenantId).inc();
        };
      },
    }),
  }),

  denial: kind({
    id: 2,
    name: "denial",
    columns: {
      nameId: "the call: a syscall-table name, or `(unknown)`",
      errnoId: "its errno",
      bytes: "the refusing layer: its index in `denialLayers` (-1: not one of them)",
      detail: "the refusal message",
    },
    attach: ({ names }, id) => ({
      encode(
        sink: EventSink,
        now: number,
        s: Subject,
        callId: number,
        layer: string,
        errno: Errno,
        message: string,
      ): void {
        sink.put(now, id, s, callId, errnoId(errno), 0, denialLayerIndex.get(layer) ?? -1, message);
      },
      decode: (view) => ({
        call: names.name(view.nameId),
        errno: errnoOf(view.errnoId),
        layer: denialLayers[view.bytes] ?? unknownName,
        message: view.detail ?? "",
      }),
      error: () => true,
      meter(registry) {
        const denials = registry.counter("agentos_denials_total", "Syscalls refused, by layer.", ["layer"]);
        const byLayer = [...denialLayers, unknownName].map((layer) => denials.labels({ layer }));
        return (view) => byLayer[view.bytes < 0 ? denialLayers.length : view.bytes].inc();
      },
    }),
  }),

  limit: kind({
    id: 3,
    name: "limit",
    columns: {
      nameId: "the limit: an exit reason of `limitExitReasons`, or a kernel-made name (`quota:<name>`)",
      detail: "what was refused or ended, if said",
    },
    attach: ({ names }, id) => {
      const reasons = new Vocabulary(names, limitExitReasons, (reason) => reason);
      const reasonIds = new Map(limitExitReasons.map((reason, i) => [reason, reasons.id(i)]));
      return {
        /** The name id of an exit reason that is a limit, undefined for the others. */
        reasonId: (reason: ExitReason): number | undefined => reasonIds.get(reason),
        encode(sink: EventSink, now: number, s: Subject, limitId: number, message: string | undefined): void {
          sink.put(now, id, s, limitId, 0, 0, 0, message);
        },
        decode: (view) => ({ limit: names.name(view.nameId), message: view.detail ?? null }),
        error: never,
      };
    },
  }),

  output: kind({
    id: 4,
    name: "output",
    columns: {
      nameId: "the fd: 1 (stdout) or 2 (stderr) — a number, not a name",
      bytes: "characters written",
      detail: "the text (a copied head once the ring's output budget is spent)",
    },
    attach: ({ tenants }, id) => ({
      encode(sink: EventSink, now: number, s: Subject, fd: 1 | 2, written: number, text: string): void {
        sink.put(now, id, s, fd, 0, 0, written, text);
      },
      decode: (view) => ({ fd: view.nameId, bytes: view.bytes, data: view.detail }),
      error: never,
      meter(registry) {
        const bytes = registry.counter("agentos_output_bytes_total", "Agent stdout+stderr bytes captured.", ["tenant"]);
        const byTenant = new Map<number, BoundCounter>();
        return (view) => {
          tenantCounter(byTenant, bytes, tenants, view.tenantId).inc(view.bytes);
        };
      },
    }),
  }),

  cleanup: kind({
    id: 5,
    name: "cleanup",
    columns: {
      nameId: "`cleanup`",
      errnoId: "EIO when some resource failed to clean up, else 0",
      latencyUs: "resources released (a count)",
      bytes: "bytes released",
    },
    attach: ({ names }, id) => {
      const cleanupId = names.intern("cleanup");
      return {
        encode(sink: EventSink, now: number, s: Subject, resources: number, bytes: number, errors: number): void {
          sink.put(now, id, s, cleanupId, errors > 0 ? errnoId("EIO") : 0, resources, bytes, undefined);
        },
        decode: (view) => ({ bytes: view.bytes, errors: view.errnoId !== 0, detail: `${view.latencyUs} resources` }),
        error: never,
      };
    },
  }),

  anomaly: kind({
    id: 6,
    name: "anomaly",
    columns: { nameId: "`anomaly`", bytes: "the window's value", detail: "`<series> value=… mean=… z=…`" },
    attach: ({ names }, id) => {
      const anomalyId = names.intern("anomaly");
      return {
        encode(sink: EventSink, now: number, s: Subject, series: string, value: number, mean: number, z: number): void {
          const detail = `${series} value=${value.toFixed(1)} mean=${mean.toFixed(1)} z=${z.toFixed(1)}`;
          sink.put(now, id, s, anomalyId, 0, 0, value, detail);
        },
        decode: (view) => ({ detail: view.detail, value: view.bytes }),
        error: never,
      };
    },
  }),

  policy: kind({
    id: 7,
    name: "policy",
    columns: { nameId: "the scope, named `policy:<scope>` (`policyScopes`)", bytes: "the new policy epoch" },
    attach: ({ names, unknownId }, id) => {
      const scopes = new Vocabulary(names, policyScopes, (scope) => `policy:${scope}`);
      return {
        encode(sink: EventSink, now: number, s: Subject, scope: PolicyScope, epoch: number): void {
          const i = policyScopes.indexOf(scope);
          sink.put(now, id, s, i < 0 ? unknownId : scopes.id(i), 0, 0, epoch, undefined);
        },
        decode: (view) => ({ scope: scopes.value(view.nameId) ?? unknownName, epoch: view.bytes }),
        error: never,
      };
    },
  }),

  exit: kind({
    id: 8,
    name: "exit",
    columns: {
      nameId: "the reason, named `exit:<reason>` (`exitReasons`)",
      bytes: "the exit code",
      detail: "the message, if any",
    },
    attach: ({ names, tenants, unknownId }, id) => {
      const reasons = new Vocabulary(names, exitReasons, (reason) => `exit:${reason}`);
      return {
        encode(
          sink: EventSink,
          now: number,
          s: Subject,
          reason: ExitReason,
          exitCode: number,
          message: string | undefined,
        ): void {
          const i = reasonIndex.get(reason);
          sink.put(now, id, s, i === undefined ? unknownId : reasons.id(i), 0, 0, exitCode, message);
        },
        decode: (view) => ({
          reason: reasons.value(view.nameId) ?? unknownName,
          exitCode: view.bytes,
          message: view.detail ?? null,
        }),
        error: never,
        meter(registry) {
          const exits = registry.counter("agentos_agent_exits_total", "Agents ended, by exit reason.", ["reason"]);
          const perTenant = registry.counter(
            "agentos_tenant_agent_exits_total",
            "Agents ended per tenant and reason.",
            [
              "tenant",
              "reason",
            ],
          );
          for (const reason of exitReasons) exits.inc({ reason }, 0);
          return (view) => {
            const reason = reasons.value(view.nameId) ?? unknownName;
            exits.inc({ reason });
            perTenant.inc({ tenant: tenants.name(view.tenantId), reason });
          };
        },
      };
    },
  }),
};

/** The bound handle of a tenant's series of a `tenant`-labelled counter, made once per tenant id. */
function tenantCounter(
  handles: Map<number, BoundCounter>,
  counter: Counter,
  tenants: Interner,
  tenantId: number,
): BoundCounter {
  let handle = handles.get(tenantId);
  if (handle === undefined) {
    handle = counter.labels({ tenant: tenants.name(tenantId) });
    handles.set(tenantId, handle);
  }
  return handle;
}

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
 * import { EventView, Interner } from "./ring.ts";
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
