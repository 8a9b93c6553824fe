/**
 * Where the hub's kinds put its events ({@linkcode HubSink}): the ring, whose
 * readers are woken once per microtask, and, once the hub is metered, the
 * view its meters read. What the hub's two sinks share is a
 * {@linkcode SinkShared}.
 *
 * @module
 */

import type { Interner } from "./interner.ts";
import type { EventSink, Meter, Subject } from "./kind_spec.ts";
import type { EventRing, EventView } from "./ring.ts";

/** What the hub's two sinks share. */
export interface SinkShared {
  /** Told (once per microtask) that the ring has new events. */
  readonly wakers: Set<() => void>;
  wakeScheduled: boolean;
  /** Each kind's meter by kind id, once `ObservabilityHub.meter` attached a registry. */
  meters: readonly (Meter | undefined)[] | undefined;
  /** The last event put, when metered: what `#count` hands its kind's meter. */
  readonly out: EventView;
}

/**
 * Where kinds hand the hub's events: the ring when `keep` (and its readers
 * are woken), then, when metered, the view the meters read. One class for
 * both sinks, so a kind's `sink.put` stays a monomorphic call.
 */
export class HubSink implements EventSink {
  readonly #ring: EventRing;
  readonly #tenants: Interner;
  readonly #shared: SinkShared;
  readonly #keep: boolean;

  /**
   * @param ring where kept events go
   * @param tenants the hub's tenant table (what `tenantId` is interned in)
   * @param shared what this sink shares with the hub and its other sink
   * @param keep whether events go into the ring (else only into the meters' view)
   */
  constructor(ring: EventRing, tenants: Interner, shared: SinkShared, keep: boolean) {
    this.#ring = ring;
    this.#tenants = tenants;
    this.#shared = shared;
    this.#keep = keep;
  }

  /** Put one event: into the ring when kept (waking its readers), then into the meters' view when metered. */
  put(
    now: number,
    kind: number,
    s: Subject,
    nameId: number,
    errno: number,
    latencyUs: number,
    bytes: number,
    detail: string | undefined,
  ): void {
    const tenantId = this.#tenants.intern(s.tenant);
    const shared = this.#shared;
    let seq = -1;
    if (this.#keep) {
      seq = this.#ring.emitAt(now, kind, s.pid, tenantId, s.causality, nameId, errno, latencyUs, bytes, detail, s.uid);
      if (shared.wakers.size > 0 && !shared.wakeScheduled) {
        shared.wakeScheduled = true;
        queueMicrotask(() => {
          shared.wakeScheduled = false;
          for (const wake of shared.wakers) wake();
        });
      }
    }
    if (shared.meters === undefined) return;
    const v = shared.out;
    v.seq = seq;
    v.timestampMs = now;
    v.kind = kind;
    v.pid = s.pid;
    v.tenantId = tenantId;
    v.causality = s.causality;
    v.subject = s.uid;
    v.nameId = nameId;
    v.errnoId = errno;
    v.latencyUs = latencyUs;
    v.bytes = bytes;
    v.detail = detail;
  }
}
