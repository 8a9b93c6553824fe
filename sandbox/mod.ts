/**
 * The sandbox: the runtime (the kernel's facade with cells), limits resolution, output capture.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { limitInt, limitsSchema, resolveLimits, spawnRequestSchema, storedOutputCharsMax } from "./limits.ts";
export { mountsPerAgentMax } from "./limits.ts";
export { Runtime } from "./runtime.ts";
export type { Approval, ApprovalState } from "./approvals.ts";
export { CellsBusyError } from "./cell/mod.ts";
export type { Agent, ExitSummary, RuntimeEvent } from "./runtime.ts";
export { CodeError, looksLikeTypeScript, replCell, replCellCharsMax, typeScriptHint } from "./code/mod.ts";
export type { CellOutcome } from "./session/mod.ts";
