import assert from "node:assert/strict";
import * as limits from "../../limits.ts";

Deno.test("limits: one module re-exports every layer's limits, and the cross-layer relations hold", () => {
  for (
    const name of [
      "frameBytesMax", // kernel
      "arenaBytesPerAgentMax", // kernel/memory
      "messagePriorityMax", // kernel/ipc
      "storedOutputCharsMax", // sandbox
      "policyBytesMax", // sandbox/policy
      "packageBytesMax", // sandbox/packages
      "bodyBytesMax", // api
      "usageReportMs", // the cell's watchdog, now a kernel limit
    ]
  ) {
    assert.equal(typeof (limits as Record<string, unknown>)[name], "number", name);
  }
  limits.assertLimitRelations();
  assert.ok(limits.watchdogIntervalMs < limits.usageReportMs);
  assert.ok(limits.arenaBytesDefault >= limits.arenaAgentsFullMin * limits.arenaBytesPerAgentMax);
  assert.ok(limits.serverInflightBytesMax >= limits.agentsAtFullInflightMin * limits.agentInflightBytesMax);
  assert.equal("zombiesMax" in limits, false, "a limit nothing enforces is gone");
});
