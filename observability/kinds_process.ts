/**
 * The rows of the event kind table about an agent's process: its lifecycle
 * transitions, the output it writes, how it exited and what its cleanup
 * released. `event_kinds.ts` assembles the table.
 *
 * @module
 */

import { type ExitReason, exitReasons, type ProcState, procStates } from "../kernel/process/mod.ts";
import { errnoId, never, tenantCounter, unknownName, Vocabulary } from "./kind_codes.ts";
import { type EventSink, kind, type Subject } from "./kind_spec.ts";
import { type BoundCounter, exponentialBuckets } from "./metrics.ts";
import type { EventView } from "./ring.ts";

const stateIndex: ReadonlyMap<string, number> = new Map(procStates.map((state, i) => [state, i]));
const reasonIndex: ReadonlyMap<string, number> = new Map(exitReasons.map((reason, i) => [reason, i]));
const transitions = procStates.flatMap((from) => procStates.map((to) => ({ from, to })));

/** `lifecycle`: a transition of an agent, `from>to`; its meter times spawn → Running. */
export const lifecycleKind = kind({
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
});

/** `output`: what an agent wrote to stdout or stderr. */
export const outputKind = kind({
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
});

/** `cleanup`: what was released once an agent exited. */
export const cleanupKind = kind({
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
});

/** `exit`: how an agent ended (its reason and exit code). */
export const exitKind = kind({
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
});
