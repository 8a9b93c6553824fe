/**
 * One agent's life: its supervisor, its channel, its children, its handle and its exit decision.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export type { Agent, AgentResult, ExitSummary } from "./agent.ts";
export { childHost, type ChildHostDeps } from "./children.ts";
export type { RuntimeEvent } from "./events.ts";
export { exitCodeFor, exitCodeTerm } from "./shutdown.ts";
export { AgentSupervisor, busyCellNice, busyCpuShare, checkSpawnRequest } from "./supervisor.ts";
export type { SpawnCheck, SupervisorDeps } from "./supervisor.ts";
