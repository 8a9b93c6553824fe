/**
 * The control protocol between the supervisor and a cell, beside the
 * syscall frames of `kernel/syscall/frame.ts`.
 *
 * Supervisor → cell (one JSON line each): `{"t":"start",...}`,
 * `{"t":"signal","sig":"TERM"}`, `{"t":"recycle"}` (after an agent's exit: host the next one in a fresh
 * Worker, answered `ready`), a session's `{"t":"exec",...}` and `{"t":"interrupt","id"}`, and syscall completions (forwarded to the
 * agent untouched). Cell → supervisor: the agent's syscall frames, and the
 * cell's own control frames, each line starting with {@linkcode controlMarker}:
 * `{"ctl":"ready"}`, `{"ctl":"exit","code","result"|"error"}`,
 * `{"ctl":"usage","cpuMs","rssMb"}`, `{"ctl":"limit","reason"}`.
 *
 * @module
 */

import { controlLineCode } from "../../kernel/mod.ts";
import type { PreludeModule } from "./prelude/mod.ts";

/** Sent once to hand an agent to a warm cell. */
export interface StartMessage {
  t: "start";
  /** The agent's main module, cut at its imports (`PreparedModule` of sandbox/modules/). */
  module: PreludeModule;
  /** Set when the main module can never load (an import of a package or URL): the agent ends with it. */
  loadError?: string;
  /** Host a REPL context: no main module runs; cells come as `{"t":"exec"}` lines. */
  session?: boolean;
  /** A session's cap on one cell's value text (`sessionCellOutputCharsMax`). */
  sessionCharsMax?: number;
  cpuMs: number;
  rssMb: number;
  /** The agent's output limit: the cell stops relaying output well past it (the supervisor decides exactly). */
  outputBytes: number;
  info: { pid: number; parent: number; tenant: string };
}

/**
 * The first character of a control line from the cell's trusted main thread
 * (ASCII record separator). The cell never relays an agent line that starts
 * with it; the supervisor takes control frames from such lines only.
 */
export const controlMarker = "\u001e";
/** {@linkcode controlMarker} as a byte (the decoder's `controlLineCode`). */
export const controlMarkerCode = controlLineCode;

/** Exit status of a cell that ended because the CPU watchdog fired. */
export const cellExitCpu = 70;
/** Exit status of a cell that ended because the RSS watchdog fired. */
export const cellExitRss = 71;
/** Exit status of a cell asked to recycle whose old Worker still burned CPU after `terminate()`. */
export const cellExitBusy = 73;
/** Exit status of a cell whose stdin closed (the supervisor went away). */
export const cellExitOrphan = 72;
/** Exit status V8 uses for a fatal out-of-memory (SIGTRAP). */
export const cellExitHeapOom = 133;
