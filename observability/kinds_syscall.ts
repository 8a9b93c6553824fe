/**
 * The rows of the event kind table about syscalls: a call the kernel served
 * (`syscall`) and one it refused (`denial`, naming the refusing layer).
 * `event_kinds.ts` assembles the table.
 *
 * @module
 */

import type { Errno } from "../kernel/mod.ts";
import { errnoId, errnoOf, tenantCounter, unknownName } from "./kind_codes.ts";
import { type EventSink, kind, type Subject } from "./kind_spec.ts";
import { type BoundCounter, type BoundHistogram, exponentialBuckets } from "./metrics.ts";

/** The layers a denial names, in the order their index is stored (`DenialLayer` of the dispatcher). */
export const denialLayers = ["capability", "path", "policy", "rate", "quota"] as const;
const denialLayerIndex: ReadonlyMap<string, number> = new Map(denialLayers.map((layer, i) => [layer, i]));

/** `syscall`: a finished call, with its errno, service time, bytes and argument summary. */
export const syscallKind = kind({
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
      return (view, n = 1) => {
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
        count.inc(n);
        call.latency.observe(view.latencyUs / 1e6, n);
        tenantCounter(byTenant, perTenant, tenants, view.tenantId).inc(n);
      };
    },
  }),
});

/** `denial`: a refused call, with its errno, the refusing layer and the message. */
export const denialKind = kind({
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
});

/** `import`: a package of the store was loaded into an agent's module graph. */
export const importKind = kind({
  id: 9,
  name: "import",
  columns: {
    nameId: "the package, `name@version`",
    detail: "the specifier as the agent wrote it",
  },
  attach: ({ names }, id) => ({
    encode(sink: EventSink, now: number, s: Subject, pkg: string, specifier: string): void {
      sink.put(now, id, s, names.intern(pkg), 0, 0, 0, specifier);
    },
    decode: (view) => {
      const pkg = names.name(view.nameId);
      const at = pkg.lastIndexOf("@");
      return { package: pkg, name: pkg.slice(0, at), version: pkg.slice(at + 1), specifier: view.detail ?? "" };
    },
    error: () => false,
    meter(registry) {
      const imports = registry.counter(
        "agentos_package_imports_total",
        "Packages loaded into agents' module graphs.",
        [],
      );
      const all = imports.labels({});
      return () => all.inc();
    },
  }),
});

/**
 * A call waiting for a person (a policy `ask` rule matched), then its
 * outcome: one event when it opens (`pending`) and one at its final state
 * (`allowed`, `denied`, `expired`, `cancelled`).
 */
export const approvalKind = kind({
  id: 10,
  name: "approval",
  columns: {
    nameId: "the approval's state",
    detail: "the approval as JSON: id, call, paths/host/port/method, ruleId, expiresAt, decidedBy, note",
  },
  attach: ({ names }, id) => ({
    encode(sink: EventSink, now: number, s: Subject, state: string, detail: string): void {
      sink.put(now, id, s, names.intern(state), 0, 0, 0, detail);
    },
    decode: (view) => {
      let approval: unknown = {};
      try {
        approval = JSON.parse(view.detail ?? "{}");
      } catch {
        // a detail cut by the ring's cap: the state alone is still the event
      }
      return { state: names.name(view.nameId), approval };
    },
    error: () => false,
    meter(registry) {
      const approvals = registry.counter(
        "agentos_approvals_total",
        "Approvals opened (state pending) and their outcomes, by state.",
        ["state"],
      );
      const by = new Map<number, BoundCounter>();
      return (view) => {
        let c = by.get(view.nameId);
        if (c === undefined) by.set(view.nameId, c = approvals.labels({ state: names.name(view.nameId) }));
        c.inc();
      };
    },
  }),
});
