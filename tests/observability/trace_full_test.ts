/**
 * `trace: "full"` in the kernel: every syscall of such an agent goes into
 * the ring whatever the sampler's rate, while a sampled agent's are sampled
 * out; each of its calls costs `traceFullCallCost` more rate tokens; the
 * spawn check refuses any other value. Also: calls counted as one group
 * reach the Prometheus series and the per-agent rate series in full.
 */
import assert from "node:assert/strict";
import { agentLimitsDefault, KernelError, traceFullCallCost } from "../../kernel/mod.ts";
import { ProcessTable, type TraceMode } from "../../kernel/process/mod.ts";
import { builtinSyscalls, Dispatcher, SyscallTable } from "../../kernel/syscall/mod.ts";
import { KernelEnforcer, TenantTable } from "../../kernel/tenants/mod.ts";
import { EventKind, EventView, ObservabilityHub, Registry, sampleRateMin } from "../../observability/mod.ts";
import { checkSpawnRequest } from "../../sandbox/agent/mod.ts";

const calls = 1000;

function syscallEventsOf(hub: ObservabilityHub, pid: number): number {
  const reader = hub.ring.reader(0);
  const view = new EventView();
  let n = 0;
  while (reader.next(view)) if (view.kind === EventKind.syscall && view.pid === pid) n++;
  return n;
}

Deno.test("trace full: every syscall of a fully traced agent is kept; a sampled agent's are sampled out", () => {
  const hub = new ObservabilityHub();
  try {
    hub.knownCalls(["time.now"]);
    hub.sampler.setRate("syscall", sampleRateMin);
    const full = { pid: 1, uid: 1, tenant: "t", causality: 1, trace: "full" as const };
    const sampled = { pid: 2, uid: 2, tenant: "t", causality: 2 };
    for (let i = 0; i < calls; i++) {
      hub.syscall(full, "time.now", null, 3, 0, {});
      hub.syscall(sampled, "time.now", null, 3, 0, {});
    }
    assert.equal(syscallEventsOf(hub, 1), calls, "every call of the traced agent is in the ring");
    assert.ok(
      syscallEventsOf(hub, 2) < calls / 10,
      `the sampled agent's calls are sampled (${syscallEventsOf(hub, 2)})`,
    );
    assert.equal(hub.tracedFull, calls);
    assert.equal(hub.sampler.stats().find((c) => c.category === "syscall")!.kept + hub.sampledOut, calls);
  } finally {
    hub.close();
  }
});

Deno.test("trace full: grouped calls are all counted in /metrics, errors included", () => {
  const hub = new ObservabilityHub();
  try {
    hub.knownCalls(["time.now"]);
    const registry = new Registry();
    hub.meter(registry);
    const a = { pid: 1, uid: 1, tenant: "t", causality: 1 };
    const b = { pid: 2, uid: 2, tenant: "t", causality: 2, trace: "full" as const };
    for (let i = 0; i < 100; i++) hub.syscall(a, "time.now", null, 5, 0, {}, 1_000); // one group
    for (let i = 0; i < 50; i++) hub.syscall(b, "time.now", null, 5, 0, {}, 1_000 + i); // a group each
    hub.syscall(a, "time.now", "EINVAL", 5, 0, {});
    const text = registry.expose();
    assert.match(text, /^agentos_syscalls_total\{call="time\.now",errno="ok"\} 150$/m, text);
    assert.match(text, /^agentos_syscalls_total\{call="time\.now",errno="EINVAL"\} 1$/m);
    assert.match(text, /^agentos_syscall_latency_seconds_count\{call="time\.now"\} 151$/m);
  } finally {
    hub.close();
  }
});

function dispatcherFor(trace: TraceMode, perSec: number) {
  const tenants = new TenantTable({ nowMs: () => 0 });
  const table = new SyscallTable(builtinSyscalls({ write: () => {}, nowMs: () => 0 }));
  const dispatcher = new Dispatcher({
    table,
    limits: new KernelEnforcer(tenants),
    nowMs: () => 0,
    confinement: {
      checkPath: () => {
        throw new KernelError("EACCES", "no paths here");
      },
    },
  });
  const proc = new ProcessTable().create({
    tenant: "t",
    capabilities: [],
    limits: { ...agentLimitsDefault, syscallsPerSec: perSec },
    nowMs: 0,
    trace,
  });
  proc.state = "Running";
  return { dispatcher, proc };
}

Deno.test("trace full: each call costs traceFullCallCost more tokens of the agent's own rate", async () => {
  const perSec = 40;
  const served: Record<TraceMode, number> = { sampled: 0, full: 0 };
  for (const trace of ["sampled", "full"] as const) {
    const { dispatcher, proc } = dispatcherFor(trace, perSec);
    for (let i = 0; i < perSec; i++) {
      const done = await dispatcher.dispatch(proc, { id: i + 1, call: "time.now", args: {} });
      if (done.ok) served[trace]++;
      else assert.equal(done.error.code, "EAGAIN");
    }
  }
  assert.equal(served.sampled, perSec, "a sampled agent gets its whole second's burst");
  assert.equal(served.full, perSec / (1 + traceFullCallCost), "a traced agent pays for its trace");
});

Deno.test("trace full: the spawn check accepts sampled and full only", () => {
  for (const trace of ["sampled", "full"] as const) checkSpawnRequest({ code: "1", trace });
  assert.throws(
    () => checkSpawnRequest({ code: "1", trace: "loud" as TraceMode }),
    (err: unknown) => err instanceof KernelError && err.code === "EINVAL" && /trace/.test(err.message),
  );
});
