/**
 * Event kinds as one table (observability/event_kinds.ts): the table is
 * dense and holds only produced kinds, every kind writes only the columns
 * it declares, the public shapes are those of the code before the table
 * (byte for byte), and meters count every event.
 */
import assert from "node:assert/strict";
import { EventFeed, type EventFilter } from "../../api/events.ts";
import type { ExitReason } from "../../kernel/process/lifecycle.ts";
import { exitReasons, procStates } from "../../kernel/process/lifecycle.ts";
import type { DenialLayer } from "../../kernel/syscall/dispatch.ts";
import {
  denialLayers,
  EventKind,
  type EventKindName,
  eventKindNames,
  EventKinds,
  eventKinds,
  type PayloadColumn,
} from "../../observability/event_kinds.ts";
import { ObservabilityHub, type Subject } from "../../observability/hub.ts";
import { parsePrometheusText, Registry, sampleRateMin, sampleValue } from "../../observability/mod.ts";
import { EventView, Interner } from "../../observability/ring.ts";

const subject: Subject = { pid: 7, uid: 70, tenant: "t", causality: 7 };

// The dispatcher's layers are exactly the table's (a type error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const layersMatch: Same<(typeof denialLayers)[number], DenialLayer> = true;

Deno.test("event kinds: one dense table; kinds nobody produces are gone", () => {
  assert.ok(layersMatch);
  assert.deepEqual(eventKindNames, [
    "lifecycle",
    "syscall",
    "denial",
    "limit",
    "output",
    "cleanup",
    "anomaly",
    "policy",
    "exit",
    "import",
    "approval",
  ]);
  eventKindNames.forEach((name, id) => assert.equal(EventKind[name], id));
  for (const gone of ["ipc", "arena", "sched", "dropped"]) assert.equal(gone in eventKinds, false, gone);
});

/** The scenario of the golden file: every producer, every lifecycle pair, every exit reason and layer. */
function produceAll(hub: ObservabilityHub): void {
  const s = subject;
  for (const from of procStates) for (const to of procStates) hub.lifecycle(s, from, to);
  hub.syscall(s, "fs.readText", "ENOENT", 12.5, 64, { path: "a.txt" });
  hub.syscall(s, "fs.writeText", null, 3, 10, { path: "b", text: "x".repeat(100) });
  hub.syscall(s, "fs.readText", null, 3, 0, undefined);
  hub.syscall(s, "made.up", "ENOSYS", 1, 0, { x: 1 });
  for (const layer of ["capability", "path", "policy", "rate", "quota"]) {
    hub.denial(s, "fs.readText", layer, "EACCES", `fs.read: no: really ${layer}`);
  }
  hub.denial(s, "made.up", "quota", "EAGAIN", "");
  hub.output(s, 1, "hello\n");
  hub.output(s, 2, "");
  for (const reason of exitReasons) hub.exit(s, reason, 152, reason === "exit" ? undefined : `${reason}: limit`);
  hub.cleanup(s, 3, 4096, 0);
  hub.cleanup(s, 0, 0, 2);
  hub.limit("t", "quota:agentsConcurrentMax", "spawn refused: agentsConcurrentMax");
  hub.limit("t", "bad name!", "x");
}

Deno.test("event kinds: SSE events are those of the code before the table, byte for byte", async () => {
  // Made by the same scenario through the pre-table `describe()` (api/events.ts at ef40c2c), `ts` removed.
  const golden = await Deno.readTextFile(new URL("./fixtures/sse_events_pre_table.txt", import.meta.url));
  const hub = new ObservabilityHub();
  try {
    hub.knownCalls(["fs.readText", "fs.writeText"]);
    produceAll(hub);
    const feed = new EventFeed(hub, (uid) => uid === 70 ? "agent-1" : undefined);
    const view = new EventView();
    const filters: EventFilter[] = [
      { tenant: null },
      { tenant: "t", errors: true },
      { tenant: "t", calls: ["fs.*"] },
      { tenant: "t", types: ["exit", "limit"] },
      { tenant: "t", agentId: "agent-1", types: ["cleanup", "output"] },
    ];
    const lines: string[] = [];
    for (const filter of filters) {
      lines.push(`## ${JSON.stringify(filter)}`);
      for (let seq = 0; seq < hub.ring.nextSeq; seq++) {
        hub.ring.read(seq, view);
        const event: Partial<ReturnType<typeof feed.toStreamEvent>> = feed.toStreamEvent(view, filter);
        if (event === undefined) continue;
        delete event.ts;
        lines.push(JSON.stringify(event));
      }
    }
    assert.equal(lines.join("\n") + "\n", golden);
  } finally {
    hub.close();
  }
});

const payload: readonly PayloadColumn[] = ["nameId", "errnoId", "latencyUs", "bytes", "detail"];

/** One producer per kind: a kind without one is a type error here. */
const producers: Record<EventKindName, (hub: ObservabilityHub) => void> = {
  lifecycle: (hub) => hub.lifecycle(subject, "Ready", "Running"),
  syscall: (hub) => hub.syscall(subject, "fs.readText", "ENOENT", 12.5, 64, { path: "a" }),
  denial: (hub) => hub.denial(subject, "fs.readText", "path", "EACCES", "escape"),
  limit: (hub) => hub.limit("t", "quota:x", "refused"),
  output: (hub) => hub.output(subject, 2, "err"),
  cleanup: (hub) => hub.cleanup(subject, 3, 4096, 1),
  approval: (hub) => hub.approval(subject, "pending", '{"id":"ap_1","call":"fs.writeText"}'),
  anomaly: (hub) => {
    // The detector needs a history: feed the rate series of one agent, then a burst.
    let now = 0;
    const clock = Date.now;
    Date.now = () => now;
    try {
      for (let w = 0; w < 200 && hub.anomalies === 0; w++) {
        now += 100;
        for (let i = 0; i < (w < 150 ? 10 : 5_000); i++) hub.denial(subject, "x", "path", "EACCES", "m");
      }
    } finally {
      Date.now = clock;
    }
  },
  policy: (hub) => hub.policy("t", "tenant", 5),
  exit: (hub) => hub.exit(subject, "killed", 137, undefined),
  import: (hub) => hub.imported(subject, "lodash@4.17.21", "lodash"),
};

Deno.test("event kinds: every kind has a producer and writes only the columns it declares", () => {
  for (const name of eventKindNames) {
    const hub = new ObservabilityHub();
    try {
      hub.knownCalls(["fs.readText"]);
      producers[name](hub);
      const view = new EventView();
      let found = false;
      for (let seq = hub.ring.oldestSeq; seq < hub.ring.nextSeq; seq++) {
        hub.ring.read(seq, view);
        if (view.kind !== EventKind[name]) continue;
        found = true;
        const declared = eventKinds[name].columns as Partial<Record<PayloadColumn, string>>;
        for (const column of payload) {
          if (declared[column] !== undefined) continue;
          assert.equal(
            view[column] || undefined,
            undefined,
            `${name}.${column} is not declared but holds ${view[column]}`,
          );
        }
      }
      assert.ok(found, `${name}: its producer made no ${name} event`);
    } finally {
      hub.close();
    }
  }
});

Deno.test("event kinds: policy and anomaly events decode to their own shapes", () => {
  const hub = new ObservabilityHub();
  try {
    const view = new EventView();
    hub.policy("t", "tenant", 3);
    hub.policy("t", "agent", 4, subject);
    hub.ring.read(0, view);
    assert.deepEqual(hub.kinds.decode(view), { type: "policy", data: { scope: "tenant", epoch: 3 } });
    assert.equal(view.subject, 0);
    hub.ring.read(1, view);
    assert.deepEqual(hub.kinds.decode(view), { type: "policy", data: { scope: "agent", epoch: 4 } });
    assert.deepEqual([view.pid, view.subject, hub.tenants.name(view.tenantId)], [7, 70, "t"]);
    assert.equal(hub.names.name(view.nameId), "policy:agent");
  } finally {
    hub.close();
  }
  const names = new Interner();
  const kinds = new EventKinds({ names, tenants: new Interner(), unknownId: names.intern("(unknown)") });
  const view = new EventView();
  kinds.of.anomaly.encode(kinds.into(view), 1_000, subject, "rate:syscalls:70", 100, 10, 4.5);
  assert.equal(
    JSON.stringify(kinds.decode(view)),
    '{"type":"anomaly","data":{"detail":"rate:syscalls:70 value=100.0 mean=10.0 z=4.5","value":100}}',
  );
  assert.equal(kinds.error(view), false);
  kinds.of.exit.encode(kinds.into(view), 1_000, subject, "nope" as ExitReason, 3, undefined);
  assert.deepEqual(kinds.decode(view).data, { reason: "(unknown)", exitCode: 3, message: null });
});

Deno.test("event kinds: meters count every event, sampled out of the ring or not", () => {
  const hub = new ObservabilityHub();
  try {
    hub.knownCalls(["time.now", "fs.readText"]);
    const registry = new Registry();
    hub.meter(registry, { callLabel: (call) => call === "fs.readText" ? "unknown" : call });
    assert.throws(() => hub.meter(new Registry()), /twice/);
    hub.sampler.setRate("syscall", sampleRateMin);
    for (let i = 0; i < 2_000; i++) hub.syscall(subject, "time.now", null, 5, 0, undefined);
    hub.syscall({ ...subject, tenant: "u" }, "made.up", "ENOSYS", 5, 0, undefined);
    hub.syscall(subject, "fs.readText", "ENOENT", 5, 0, undefined);
    hub.denial(subject, "fs.readText", "path", "EACCES", "no");
    hub.denial(subject, "fs.readText", "not-a-layer", "EACCES", "no");
    hub.lifecycle(subject, "Creating", "Initializing");
    hub.lifecycle(subject, "Ready", "Running");
    hub.output(subject, 1, "hello");
    hub.exit(subject, "cpu", 152, "over");
    assert.ok(hub.sampledOut > 1_500, `${hub.sampledOut} sampled out`);
    const families = parsePrometheusText(registry.expose());
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels);
    assert.equal(value("agentos_syscalls_total", { call: "time.now", errno: "ok" }), 2_000);
    assert.equal(value("agentos_syscalls_total", { call: "unknown", errno: "ENOSYS" }), 1);
    assert.equal(value("agentos_syscalls_total", { call: "unknown", errno: "ENOENT" }), 1);
    assert.equal(value("agentos_syscall_latency_seconds_count", { call: "time.now" }), 2_000);
    assert.equal(value("agentos_tenant_syscalls_total", { tenant: "t" }), 2_001);
    assert.equal(value("agentos_tenant_syscalls_total", { tenant: "u" }), 1);
    assert.equal(value("agentos_denials_total", { layer: "path" }), 1);
    assert.equal(value("agentos_denials_total", { layer: "(unknown)" }), 1);
    assert.equal(value("agentos_spawn_seconds_count"), 1);
    assert.equal(value("agentos_output_bytes_total", { tenant: "t" }), 5);
    assert.equal(value("agentos_agent_exits_total", { reason: "cpu" }), 1);
    assert.equal(value("agentos_agent_exits_total", { reason: "crash" }), 0);
    assert.equal(value("agentos_tenant_agent_exits_total", { tenant: "t", reason: "cpu" }), 1);
  } finally {
    hub.close();
  }
});
