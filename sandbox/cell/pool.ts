/**
 * A warm pool of pre-started cells, so that spawning an agent costs a message
 * instead of a process start. Cells in the pool have their Worker created and
 * waiting for code; a pooled cell that dies is dropped and replaced.
 *
 * @module
 */

import { warmPoolSizeMax } from "../../kernel/mod.ts";
import { CellHost } from "./cell_host.ts";
import { refillDelayMs } from "../limits.ts";

/** Pool options. */
export interface CellPoolOptions {
  /** Warm cells to keep ready (0 disables the pool). */
  size: number;
  /** Heap cap of pooled cells, MB; agents asking for another cap start cold. */
  heapMb: number;
  /** Where cells keep their private scratch directories. */
  scratchDir: string;
}

/** Counters of the pool. */
export interface CellPoolStats {
  warm: number;
  starting: number;
  warmHits: number;
  coldStarts: number;
  startFailures: number;
  replacedDead: number;
}

/** Keeps `size` cells started and hands them out. */
export class CellPool {
  #options: CellPoolOptions;
  #warm: CellHost[] = [];
  #starting = 0;
  #closed = false;
  #inflight = new Set<Promise<void>>();
  #refill: ReturnType<typeof setTimeout> | undefined;
  #stats = { warmHits: 0, coldStarts: 0, startFailures: 0, replacedDead: 0 };

  /** @param options size, heap cap and scratch directory */
  constructor(options: CellPoolOptions) {
    if (options.size < 0 || options.size > warmPoolSizeMax) {
      throw new RangeError(`pool size must be in [0, ${warmPoolSizeMax}]`);
    }
    this.#options = options;
  }

  /** Start filling the pool; resolves once it is full the first time. */
  async fill(): Promise<void> {
    const wanted = this.#options.size - this.#warm.length - this.#starting;
    await Promise.all(Array.from({ length: Math.max(0, wanted) }, () => {
      const started = this.#startOne();
      this.#inflight.add(started);
      return started.finally(() => this.#inflight.delete(started));
    }));
  }

  /**
   * A ready cell with `heapMb`: a warm one if the pool has it, else a cold start.
   *
   * @throws {Error} if a cold start fails
   */
  async acquire(heapMb: number): Promise<CellHost> {
    if (heapMb === this.#options.heapMb) {
      while (this.#warm.length > 0) {
        const cell = this.#warm.shift()!;
        if (cell.exited) continue;
        this.#stats.warmHits++;
        // Start the replacement a little later, so that its ~150 ms of start-up
        // CPU does not compete with the agent that just got this cell.
        clearTimeout(this.#refill);
        this.#refill = setTimeout(() => void this.fill(), refillDelayMs);
        return cell;
      }
    }
    this.#stats.coldStarts++;
    void this.fill();
    return await CellHost.start({ heapMb, scratchDir: this.#options.scratchDir });
  }

  /** Current counters. */
  stats(): CellPoolStats {
    return { warm: this.#warm.length, starting: this.#starting, ...this.#stats };
  }

  /** Dispose every pooled cell and stop refilling. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#refill);
    await Promise.all(this.#inflight);
    const cells = this.#warm;
    this.#warm = [];
    await Promise.all(cells.map((c) => c.dispose()));
  }

  async #startOne(): Promise<void> {
    if (this.#closed) return;
    this.#starting++;
    let cell: CellHost;
    try {
      cell = await CellHost.start({ heapMb: this.#options.heapMb, scratchDir: this.#options.scratchDir });
    } catch {
      this.#stats.startFailures++;
      return;
    } finally {
      this.#starting--;
    }
    if (this.#closed) return void await cell.dispose();
    this.#warm.push(cell);
    cell.status.then(() => {
      const index = this.#warm.indexOf(cell);
      if (index < 0) return;
      this.#warm.splice(index, 1);
      this.#stats.replacedDead++;
      void cell.dispose();
      void this.fill();
    });
  }
}
