/**
 * Admission of cold cell starts: at most `startsMax` cells start at once
 * (each costs ~150–210 ms of CPU; hundreds at once starve each other past
 * their start deadline). Spawns past it wait in a bounded queue, fair
 * across tenants (the kernel's `AdmissionQueue`), for at most
 * `cellStartWaitMsMax`; past the queue or the wait they are refused with
 * {@linkcode CellsBusyError} — an answer to retry, never a crash. The warm
 * pool refills only through a free slot nobody waits for.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { AdmissionQueue, priorityDefault, type Release } from "../../kernel/sched/mod.ts";
import { cellsBusyRetryAfterSec, cellStartQueueMax, cellStartWaitMsMax } from "../limits.ts";

/**
 * No cell could be started for a spawn in time: the server is starting as
 * many cells as it may. Not the agent's fault and not a crash: the API
 * answers 503 `cells_busy` with `Retry-After`; a `proc.spawn` gets `EAGAIN`.
 */
export class CellsBusyError extends KernelError {
  /** The API's error code. */
  readonly apiCode = "cells_busy";
  /** Seconds to wait before trying again. */
  readonly retryAfterSec = cellsBusyRetryAfterSec;

  /** @param message what was full, and the knob that sizes it */
  constructor(message: string) {
    super("EAGAIN", message);
    this.name = "CellsBusyError";
  }
}

/** Counters of the gate. */
export interface StartGateStats {
  /** Starts admitted and not finished. */
  starting: number;
  /** Spawns waiting for a start slot. */
  waiting: number;
  /** Spawns refused as busy (queue full or waited too long). */
  refused: number;
  /** Most starts admitted at once so far (never above `startsMax`). */
  startingPeak: number;
  /** Most spawns waiting at once so far. */
  waitingPeak: number;
}

/** `StartGate` options. */
export interface StartGateOptions {
  /** Cells that may start at once (≥ 1). */
  startsMax: number;
  /** Longest a spawn waits for a slot, ms (default `cellStartWaitMsMax`). */
  waitMsMax?: number;
  /** Spawns that may wait at once (default `cellStartQueueMax`). */
  queueMax?: number;
}

/** Who waits for a start: its tenant (for fairness) and what abandons the wait. */
export interface StartTicket {
  tenant: string;
  signal?: AbortSignal;
}

/** See the module doc. */
export class StartGate {
  readonly startsMax: number;
  readonly waitMsMax: number;
  #queue: AdmissionQueue;
  #refused = 0;
  #startingPeak = 0;
  #waitingPeak = 0;

  /** @param options starts at once, longest wait, queue bound */
  constructor(options: StartGateOptions) {
    const { startsMax, waitMsMax = cellStartWaitMsMax, queueMax = cellStartQueueMax } = options;
    if (!Number.isInteger(startsMax) || startsMax < 1) {
      throw new RangeError(`cellStartsMax must be an integer >= 1, got ${startsMax}`);
    }
    if (!Number.isInteger(waitMsMax) || waitMsMax < 0) {
      throw new RangeError(`cellStartWaitMsMax must be an integer >= 0, got ${waitMsMax}`);
    }
    this.startsMax = startsMax;
    this.waitMsMax = waitMsMax;
    this.#queue = new AdmissionQueue({ slots: startsMax, queueMax, policy: "fair" });
  }

  /**
   * Wait for a start slot.
   *
   * @returns the slot's release (call it once the start is done, either way)
   * @throws {CellsBusyError} if the queue is full or the wait passes `waitMsMax`
   * @throws {KernelError} `ECANCELED` if `ticket.signal` aborts first
   */
  async admit(ticket: StartTicket): Promise<Release> {
    const waited = new AbortController();
    const timer = setTimeout(() => waited.abort(), this.waitMsMax);
    const signal = ticket.signal ? AbortSignal.any([ticket.signal, waited.signal]) : waited.signal;
    try {
      const admitted = this.#queue.acquire(ticket.tenant, priorityDefault, signal);
      this.#notePeaks();
      const release = await admitted;
      this.#notePeaks();
      return release;
    } catch (err) {
      if (ticket.signal?.aborted || !(err instanceof KernelError)) throw err;
      this.#refused++;
      const s = this.#queue.stats();
      const why = err.code === "EAGAIN" ? `${s.waiting} spawns already wait` : `none free for ${this.waitMsMax} ms`;
      throw new CellsBusyError(
        `cells busy: ${s.admitted} of ${this.startsMax} cell starts in progress and ${why}; retry later ` +
          `(RuntimeOptions.cellStartsMax and cellStartWaitMsMax size this)`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A start slot now, if one is free and no spawn waits (the warm pool's
   * refills): taken synchronously, its release delivered a turn later.
   */
  admitIdle(): Promise<Release> | undefined {
    const s = this.#queue.stats();
    if (s.waiting > 0 || s.admitted >= s.slots) return undefined;
    const admitted = this.#queue.acquire("(warm pool)", priorityDefault);
    this.#notePeaks();
    return admitted;
  }

  /** Current counters. */
  stats(): StartGateStats {
    const s = this.#queue.stats();
    return {
      starting: s.admitted,
      waiting: s.waiting,
      refused: this.#refused,
      startingPeak: this.#startingPeak,
      waitingPeak: this.#waitingPeak,
    };
  }

  #notePeaks(): void {
    const s = this.#queue.stats();
    this.#startingPeak = Math.max(this.#startingPeak, s.admitted);
    this.#waitingPeak = Math.max(this.#waitingPeak, s.waiting);
  }
}
