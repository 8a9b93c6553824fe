/**
 * The hub's name table holds kernel-defined names only: syscall-table calls,
 * lifecycle transitions, exit reasons, limit and policy names. Anything else
 * is the one `(unknown)` name.
 */
import assert from "node:assert/strict";
import { procStates } from "../../kernel/process/lifecycle.ts";
import { knownCallsMax, limitNamesMax, ObservabilityHub, unknownCallName } from "../../observability/hub.ts";
import { EventView, Interner } from "../../observability/ring.ts";

const subject = { pid: 7, uid: 70, tenant: "t", causality: 7 };

function lastName(hub: ObservabilityHub): string {
  const view = new EventView();
  assert.ok(hub.ring.read(hub.ring.nextSeq - 1, view));
  return hub.names.name(view.nameId);
}

Deno.test("hub names: calls outside the syscall table share (unknown) and never grow the table", () => {
  const hub = new ObservabilityHub();
  try {
    hub.knownCalls(["time.now", "fs.readText"]);
    const size = hub.names.size;
    for (let i = 0; i < 10_000; i++) hub.syscall(subject, `made.up.${i}`, "ENOSYS", 5, 0, undefined);
    assert.equal(hub.names.size, size);
    assert.equal(hub.names.overflow, 0);
    assert.equal(hub.unknownCalls, 10_000);
    assert.equal(lastName(hub), unknownCallName);
    hub.syscall({ ...subject, tenant: "other-tenant" }, "fs.readText", "ENOENT", 5, 0, undefined);
    assert.equal(lastName(hub), "fs.readText");
    hub.denial(subject, "not.a.call", "capability", "EACCES", "no");
    assert.equal(lastName(hub), unknownCallName);
    hub.knownCalls(["time.now"]); // additive, idempotent
    assert.equal(hub.names.size, size);
  } finally {
    hub.close();
  }
});

Deno.test("hub names: lifecycle, exit, limit and policy names are fixed sets", () => {
  const hub = new ObservabilityHub({ enabled: true });
  try {
    const size = hub.names.size;
    for (const from of procStates) {
      for (const to of procStates) {
        hub.lifecycle(subject, from, to);
        assert.equal(lastName(hub), `${from}>${to}`);
      }
    }
    hub.exit(subject, "cpu", 152, "over");
    assert.equal(lastName(hub), "exit:cpu");
    const view = new EventView();
    hub.ring.read(hub.ring.nextSeq - 2, view);
    assert.equal(hub.names.name(view.nameId), "cpu");
    hub.policy("t", "tenant", 3);
    assert.equal(lastName(hub), "policy:tenant");
    hub.cleanup(subject, 1, 0, 0);
    assert.equal(lastName(hub), "cleanup");
    assert.equal(hub.names.size, size, "kernel names are interned up front");

    hub.limit("t", "quota:agentsConcurrentMax", "spawn refused");
    assert.equal(lastName(hub), "quota:agentsConcurrentMax");
    hub.limit("t", "quota: <script>", "client text");
    assert.equal(lastName(hub), unknownCallName);
    for (let i = 0; i < limitNamesMax + 10; i++) hub.limit("t", `quota:q${i}`, "");
    assert.equal(lastName(hub), unknownCallName);
    assert.equal(hub.names.size, size + limitNamesMax);
    assert.equal(hub.namesRefused, 1 + 11);
    assert.ok(hub.names.size < new Interner().max);
  } finally {
    hub.close();
  }
});

Deno.test("hub names: more than knownCallsMax calls is a programmer error", () => {
  const hub = new ObservabilityHub({ enabled: false });
  assert.throws(() => hub.knownCalls(Array.from({ length: knownCallsMax + 1 }, (_, i) => `c${i}`)));
});
