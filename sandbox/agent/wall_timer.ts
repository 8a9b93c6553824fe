/**
 * An agent's wall-clock timer: armed when its code is sent to the cell,
 * held by the resource orchestrator (so an exit clears it), and re-armable
 * for a new `wallMs` measured from the same start (`PATCH /v1/agents/:id`).
 *
 * @module
 */

import type { ResourceOrchestrator } from "../../kernel/resources/mod.ts";

/** The timer of one agent. */
export class WallTimer {
  #orchestrator: ResourceOrchestrator;
  #pid: number;
  #onExpired: () => void;
  #held: { id: number; handle: ReturnType<typeof setTimeout> } | undefined;
  #startMs = 0;

  /**
   * @param orchestrator who holds the timer (an exit clears it)
   * @param pid the agent's pid
   * @param onExpired what the end of the wall-clock time does (end the agent: reason `timeout`)
   * @example
   * ```ts
   * const wall = new WallTimer(orchestrator, pid, () => sup.end({ kind: "wall" }));
   * wall.arm(30_000);
   * ```
   */
  constructor(orchestrator: ResourceOrchestrator, pid: number, onExpired: () => void) {
    this.#orchestrator = orchestrator;
    this.#pid = pid;
    this.#onExpired = onExpired;
  }

  /** Whether it was armed (and not re-armed to nothing). */
  get armed(): boolean {
    return this.#held !== undefined;
  }

  /** Start the wall-clock time now, ending after `wallMs`. */
  arm(wallMs: number): void {
    this.#startMs = performance.now();
    this.#set(wallMs);
  }

  /**
   * Make the wall-clock limit `wallMs` from the same start: what is left is run on a new timer (none left: it
   * expires at once).
   */
  rearm(wallMs: number): void {
    if (this.#held === undefined) return;
    clearTimeout(this.#held.handle);
    this.#orchestrator.release(this.#pid, this.#held.id);
    this.#held = undefined;
    this.#set(Math.max(0, this.#startMs + wallMs - performance.now()));
  }

  #set(ms: number): void {
    const handle = setTimeout(this.#onExpired, ms);
    this.#held = { id: this.#orchestrator.acquire(this.#pid, "timer", handle), handle };
  }
}
