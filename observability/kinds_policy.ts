/**
 * The rows of the event kind table about what the kernel enforces and flags:
 * a limit hit (`limit`), a policy change (`policy`) and an anomaly its
 * detectors raised (`anomaly`). `event_kinds.ts` assembles the table.
 *
 * @module
 */

import type { ExitReason } from "../kernel/process/mod.ts";
import { never, unknownName, Vocabulary } from "./kind_codes.ts";
import { type EventSink, kind, type Subject } from "./kind_spec.ts";

/** Exit reasons that are also `limit` events. */
export const limitExitReasons: readonly ExitReason[] = ["cpu", "memory", "timeout", "output"];

/** Scopes of a policy change. */
export const policyScopes = ["tenant", "agent"] as const;
/** The scope of a policy change. */
export type PolicyScope = (typeof policyScopes)[number];

/** `limit`: a limit that ended an agent (an exit reason) or refused something (a quota). */
export const limitKind = kind({
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
});

/** `anomaly`: a window whose value the detectors flagged, with the mean and z. */
export const anomalyKind = kind({
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
});

/** `policy`: a tenant or agent policy changed; the new epoch. */
export const policyKind = kind({
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
});
