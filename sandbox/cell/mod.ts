/**
 * Cells: permission-less subprocesses that host one agent Worker each, their pool and protocol.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { CellHost, leanCellEntry } from "./cell_host.ts";
export { CellPool } from "./pool.ts";
export type { AcquireRequest, CellPoolStats } from "./pool.ts";
export type { RecycleRefusal } from "./recycled.ts";
export { CellsBusyError, StartGate } from "./start_gate.ts";
export type { StartGateOptions, StartGateStats } from "./start_gate.ts";
export { cellExitCpu, cellExitHeapOom, cellExitRss } from "./protocol.ts";
export type { StartMessage } from "./protocol.ts";
