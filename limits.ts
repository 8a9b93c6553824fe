/**
 * Every limit of agentos in one module: each layer keeps its own limits
 * file (the kernel's, the arena's, IPC's, the sandbox's, the policy
 * engine's, `net.fetch`'s, the HTTP edge's), re-exported here, and the
 * relations that cross layers are asserted when this module loads, so a bad
 * edit fails at start-up (the server and the CLI's local run import it)
 * rather than at the first agent that hits it. Relations inside one layer
 * are asserted by that layer's file.
 *
 * @module
 */

import { agentInflightBytesMax, cellStartMsMax, codeBytesMax, serverInflightBytesMax } from "./kernel/limits.ts";
import { agentLimitsDefault, moduleGraphBytesMax, outputFrameCharsMax } from "./kernel/limits.ts";
import { writeBytesMax } from "./kernel/syscall/mod.ts";
import { arenaBytesPerAgentMax } from "./kernel/memory/limits.ts";
import { tenantQuotasDefault, tenantQuotasMax } from "./kernel/tenants/mod.ts";
import { outputHeadCharsMax, outputTailCharsMax, storedOutputCharsMax } from "./sandbox/limits.ts";
import { approvalsPerAgentMax, approvalsPerTenantMax, approvalsServerMax } from "./sandbox/limits.ts";
import { agentInflightMaxDefault, inflightMaxDefault } from "./kernel/sched/mod.ts";
import { policyBytesMax } from "./sandbox/policy/limits.ts";
import { replCellCharsMax } from "./sandbox/code/limits.ts";
import { packageBytesMax } from "./sandbox/packages/limits.ts";
import { bodyBytesMax } from "./api/limits.ts";
import { assert } from "./lib/mod.ts";

export * from "./kernel/limits.ts";
export * from "./kernel/memory/limits.ts";
export * from "./kernel/ipc/limits.ts";
export * from "./sandbox/limits.ts";
export * from "./sandbox/policy/limits.ts";
export * from "./sandbox/net/limits.ts";
export * from "./sandbox/code/limits.ts";
export * from "./sandbox/packages/limits.ts";
export * from "./api/limits.ts";
export { tenantQuotasDefault, tenantQuotasMax } from "./kernel/tenants/mod.ts";

/**
 * Check the relations between limits of different layers.
 *
 * @throws {Error} naming the first relation that does not hold
 * @example
 * ```ts
 * import { assertLimitRelations } from "./limits.ts";
 * assertLimitRelations(); // holds for the shipped limits
 * ```
 */
export function assertLimitRelations(): void {
  const quotas = tenantQuotasDefault;
  assert(
    approvalsPerAgentMax < agentInflightMaxDefault && approvalsPerTenantMax <= approvalsServerMax &&
      approvalsServerMax <= inflightMaxDefault / 4,
    "limits: calls waiting for approvals leave an agent syscall slots, and other tenants three quarters of the server's",
  );
  assert(
    agentInflightBytesMax <= quotas.inflightBytesMax && quotas.inflightBytesMax <= serverInflightBytesMax,
    "limits: a tenant's in-flight quota sits between one agent's budget and the server's",
  );
  assert(
    quotas.inflightBytesMax <= tenantQuotasMax.inflightBytesMax &&
      quotas.arenaBytesMax <= tenantQuotasMax.arenaBytesMax,
    "limits: default tenant quotas within their ceilings",
  );
  assert(arenaBytesPerAgentMax <= quotas.arenaBytesMax, "limits: one agent's arena quota fits its tenant's");
  assert(codeBytesMax < bodyBytesMax, "limits: the largest agent source fits an HTTP body");
  assert(policyBytesMax < bodyBytesMax, "limits: the largest policy document fits an HTTP body");
  assert(replCellCharsMax <= codeBytesMax, "limits: a session cell is no larger than an agent's source");
  assert(
    storedOutputCharsMax <= outputHeadCharsMax + outputTailCharsMax,
    "limits: the durable record keeps no more output than the runtime keeps",
  );
  assert(cellStartMsMax <= agentLimitsDefault.wallMs, "limits: a cell starts within a default agent's wall time");
  assert(outputFrameCharsMax <= writeBytesMax, "limits: one console frame is an io.write the kernel accepts");
  assert(packageBytesMax <= moduleGraphBytesMax, "limits: one stored package fits an agent's module graph");
}
assertLimitRelations();
