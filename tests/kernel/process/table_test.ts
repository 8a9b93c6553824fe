import assert from "node:assert/strict";
import { canTransition, procStates } from "../../../kernel/process/lifecycle.ts";
import { ProcessTable } from "../../../kernel/process/table.ts";
import { agentLimitsDefault } from "../../../kernel/limits.ts";

const spec = { tenant: "t", capabilities: [], limits: { ...agentLimitsDefault }, nowMs: 0 };

Deno.test("lifecycle: the happy path is legal, everything else is counted and refused", () => {
  const table = new ProcessTable();
  const proc = table.create(spec);
  const seen: string[] = [];
  table.onTransition((_p, from, to) => seen.push(`${from}>${to}`));
  assert.equal(table.transition(proc, "Running"), false);
  assert.equal(table.illegalTransitions, 1);
  assert.equal(proc.state, "Creating");
  for (const to of ["Initializing", "Ready", "Running", "Exiting", "Zombie"] as const) {
    assert.ok(table.transition(proc, to), to);
  }
  assert.equal(table.transition(proc, "Running"), false);
  assert.equal(table.illegalTransitions, 2);
  assert.ok(table.transition(proc, "Reaped"));
  assert.equal(table.get(proc.pid), undefined);
  assert.equal(seen.length, 6);
});

Deno.test("lifecycle: the transition table is closed", () => {
  let legal = 0;
  for (const from of procStates) for (const to of procStates) if (canTransition(from, to)) legal++;
  assert.equal(legal, 10);
  for (const to of procStates) assert.equal(canTransition("Reaped", to), false);
});

Deno.test("process table: pids are recycled after the counter wraps", () => {
  const table = new ProcessTable({ pidMax: 3 });
  const procs = [table.create(spec), table.create(spec), table.create(spec)];
  assert.deepEqual(procs.map((p) => p.pid), [1, 2, 3]);
  assert.throws(() => table.create(spec), { code: "EAGAIN" });
  for (const to of ["Exiting", "Zombie", "Reaped"] as const) table.transition(procs[1], to);
  assert.equal(table.create(spec).pid, 2);
});
