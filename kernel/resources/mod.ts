/**
 * The resource orchestrator: what each pid holds, released in reverse order on every exit path.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { ResourceOrchestrator } from "./orchestrator.ts";
export type { CleanupReport } from "./orchestrator.ts";
