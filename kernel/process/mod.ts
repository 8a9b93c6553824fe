/**
 * The process table and the lifecycle of a process (states, transitions, exit reasons).
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { exitReasons, isLive, procStates } from "./lifecycle.ts";
export type { ExitReason, ProcState } from "./lifecycle.ts";
export { capabilities, ProcessTable } from "./table.ts";
export type { AgentLimits, Capability, Process, TraceMode, Usage } from "./table.ts";
