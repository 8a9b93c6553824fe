/**
 * A warm pool of pre-started cells, so that spawning an agent costs a message
 * instead of a process start. Cells in the pool have their Worker created and
 * waiting for code; a pooled cell that dies is dropped and replaced, and one
 * that does not answer a liveness ping when it is taken (stopped, wedged) is
 * disposed and another used. Cold starts and refills pass the start gate
 * (`start_gate.ts`): a bounded number at once, the rest wait or are refused.
 *
 * @module
 */

import { cellPingMsMax, cellStartMsMax, warmPoolSizeMax } from "../../kernel/mod.ts";
import { KernelError } from "../../kernel/mod.ts";
import type { Release } from "../../kernel/sched/mod.ts";
import { CellHost, CellStartTimeout } from "./cell_host.ts";
import { RecycledCells, type RecycleRefusal } from "./recycled.ts";
import { CellsBusyError, StartGate, type StartTicket } from "./start_gate.ts";
import { cellStartAttemptsMax, cellStartsMaxDefault, refillDelayMs } from "../limits.ts";

/** Pool options. */
export interface CellPoolOptions {
  /** Warm cells to keep ready (0 disables the pool). */
  size: number;
  /** Heap cap of pooled cells, MB; agents asking for another cap start cold. */
  heapMb: number;
  /** Where cells keep their private scratch directories. */
  scratchDir: string;
  /** Cells that may start at once, cold starts and refills together (default {@linkcode cellStartsMaxDefault}). */
  startsMax?: number;
  /** Longest a spawn waits for a start slot before `CellsBusyError`, ms (default `cellStartWaitMsMax`). */
  startWaitMsMax?: number;
  /** Keep cells whose agent ended by itself for the tenant's next agent (default true; `recycled.ts`). */
  reuse?: boolean;
  /** The cells' entry module (`CellOptions.entry`); may be set later with `useEntry`. */
  entry?: string;
}

/** Counters of the pool. */
export interface CellPoolStats {
  warm: number;
  /** Cells starting now (cold starts and refills). */
  starting: number;
  /** Spawns waiting for a start slot. */
  waiting: number;
  /** Cells that may start at once. */
  startsMax: number;
  /** Most cells starting at once so far (≤ `startsMax`). */
  startingPeak: number;
  /** Most spawns waiting for a start slot at once so far. */
  waitingPeak: number;
  warmHits: number;
  coldStarts: number;
  startFailures: number;
  replacedDead: number;
  /** Warm cells that failed their liveness ping when taken (disposed, another used). */
  pingFailures: number;
  /** Spawns refused because no cell could be started in time (`cells_busy`). */
  startsRefused: number;
  /** Cells kept for their tenant's next agent now, kept so far, handed out, expired idle, and refused by reason. */
  recycled: number;
  recycledKept: number;
  recycledHits: number;
  recycledExpired: number;
  recycleRefused: Partial<Record<RecycleRefusal, number>>;
}

/** Who asks for a cell: its tenant (start slots are shared fairly) and what abandons the request. */
export type AcquireRequest = Partial<StartTicket>;

/** Keeps `size` cells started and hands them out. */
export class CellPool {
  /** The start gate every cold start and refill passes (its `stats`; holding a slot drains starts). */
  readonly gate: StartGate;
  /** Cells kept for their tenant's next agent. */
  readonly recycled: RecycledCells;
  #options: CellPoolOptions;
  #warm: CellHost[] = [];
  #refilling = 0;
  #closed = new AbortController();
  /** Every start in flight (refills and cold starts): `close` waits for them. */
  #starts = new Set<Promise<unknown>>();
  #refills = new Set<Promise<void>>();
  #refillTimer: ReturnType<typeof setTimeout> | undefined;
  #stats = { warmHits: 0, coldStarts: 0, startFailures: 0, replacedDead: 0, pingFailures: 0 };

  /** @param options size, heap cap, scratch directory and start limit */
  constructor(options: CellPoolOptions) {
    if (options.size < 0 || options.size > warmPoolSizeMax) {
      throw new RangeError(`pool size must be in [0, ${warmPoolSizeMax}]`);
    }
    this.#options = options;
    this.recycled = new RecycledCells(options.heapMb, (cell) => void this.#track(cell.dispose()));
    this.gate = new StartGate({
      startsMax: options.startsMax ?? cellStartsMaxDefault(),
      waitMsMax: options.startWaitMsMax,
    });
  }

  /**
   * Refill the pool; resolves once it is full, or no start slot is free to
   * fill it further, or a start failed. Every refill goes through here.
   */
  async fill(): Promise<void> {
    const failures = this.#stats.startFailures;
    for (;;) {
      this.#topUp();
      if (this.#refills.size === 0 || this.#stats.startFailures > failures) return;
      await Promise.race(this.#refills);
    }
  }

  /**
   * A ready cell with `heapMb`: a warm one that answers its ping if the pool
   * has one, else a cold start once the start gate admits it.
   *
   * @throws {CellsBusyError} if no cell could be started in time
   * @throws {KernelError} `ECANCELED` if `request.signal` aborts or the pool closes
   * @throws {Error} if the cell fails to start
   */
  async acquire(heapMb: number, request: AcquireRequest = {}): Promise<CellHost> {
    const kept = await this.#takeRecycled(request.tenant ?? "default", heapMb);
    if (kept !== undefined) return kept;
    if (heapMb === this.#options.heapMb) {
      const cell = await this.#takeWarm();
      if (cell !== undefined) return cell;
    }
    this.#stats.coldStarts++;
    const signal = request.signal ? AbortSignal.any([request.signal, this.#closed.signal]) : this.#closed.signal;
    if (signal.aborted) throw new KernelError("ECANCELED", "spawn canceled before its cell started");
    const release = await this.gate.admit({ tenant: request.tenant ?? "default", signal });
    try {
      return await this.#track(this.#startAdmitted(heapMb, signal));
    } finally {
      release();
      void this.fill();
    }
  }

  /**
   * A cell whose agent is gone: kept for `tenant`'s next agent when the
   * rules allow (`refusal` null: the agent ended by itself; the recycle runs
   * in the background, `close` waits for it), else disposed — and then the
   * returned promise resolves once the process is gone, as before recycling
   * existed, so an agent's cleanup still ends with its cell.
   */
  release(cell: CellHost, tenant: string, refusal: RecycleRefusal | null): Promise<void> {
    if (this.#options.reuse === false && refusal === null) refusal = "ended";
    if (this.#closed.signal.aborted) refusal = "closed";
    refusal ??= this.recycled.refusal(cell, tenant);
    if (refusal !== null) {
      this.recycled.count(refusal);
      return this.#track(cell.dispose());
    }
    void this.#track(this.recycled.offer(cell, tenant));
    return Promise.resolve();
  }

  /** Start cells from `entry` from now on (the lean bundle, once built). */
  useEntry(entry: string): void {
    this.#options = { ...this.#options, entry };
  }

  /** OS pids of the warm cells (for operators and tests). */
  warmPids(): number[] {
    return this.#warm.map((cell) => cell.osPid);
  }

  /** Current counters. */
  stats(): CellPoolStats {
    const gate = this.gate.stats();
    return {
      warm: this.#warm.length,
      starting: gate.starting,
      waiting: gate.waiting,
      startsMax: this.gate.startsMax,
      startsRefused: gate.refused,
      startingPeak: gate.startingPeak,
      waitingPeak: gate.waitingPeak,
      ...this.#stats,
      recycled: this.recycled.size,
      recycledKept: this.recycled.stats.kept,
      recycledHits: this.recycled.stats.hits,
      recycledExpired: this.recycled.stats.expired,
      recycleRefused: { ...this.recycled.stats.refused },
    };
  }

  /** Stop refilling, abandon every start in flight, and dispose every pooled cell. */
  async close(): Promise<void> {
    this.#closed.abort(new KernelError("ECANCELED", "runtime closing"));
    clearTimeout(this.#refillTimer);
    while (this.#starts.size > 0) await Promise.allSettled(this.#starts);
    const cells = [...this.#warm, ...this.recycled.closeAll()];
    this.#warm = [];
    await Promise.all(cells.map((c) => c.dispose()));
  }

  /** A kept cell of `tenant` that answers its ping, or undefined. */
  async #takeRecycled(tenant: string, heapMb: number): Promise<CellHost | undefined> {
    for (;;) {
      const cell = await this.recycled.takeOrWait(tenant, heapMb);
      if (cell === undefined) return undefined;
      if (await cell.ping(cellPingMsMax)) return cell;
      this.#stats.pingFailures++;
      void this.#track(cell.dispose());
    }
  }

  /** A warm cell that answers its ping, or undefined once none is left. */
  async #takeWarm(): Promise<CellHost | undefined> {
    while (this.#warm.length > 0) {
      const cell = this.#warm.shift()!;
      if (cell.exited) continue;
      // Start the replacement a little later, so that its ~150 ms of start-up
      // CPU does not compete with the agent that just got this cell.
      clearTimeout(this.#refillTimer);
      this.#refillTimer = setTimeout(() => void this.fill(), refillDelayMs);
      if (await cell.ping(cellPingMsMax)) {
        this.#stats.warmHits++;
        return cell;
      }
      this.#stats.pingFailures++;
      void this.#track(cell.dispose());
    }
    return undefined;
  }

  /**
   * Start a cell in an admitted slot; a start that timed out or failed is
   * tried again (`cellStartAttemptsMax`). Its deadline counts from here.
   */
  async #startAdmitted(heapMb: number, signal: AbortSignal): Promise<CellHost> {
    let last: unknown;
    for (let attempt = 1; attempt <= cellStartAttemptsMax; attempt++) {
      try {
        return await CellHost.start({
          heapMb,
          scratchDir: this.#options.scratchDir,
          signal,
          entry: this.#options.entry,
        });
      } catch (err) {
        if (signal.aborted) throw new KernelError("ECANCELED", "spawn canceled while its cell started");
        this.#stats.startFailures++;
        last = err;
      }
    }
    if (last instanceof CellStartTimeout) {
      throw new CellsBusyError(
        `cells busy: no cell started within ${cellStartMsMax} ms (${cellStartAttemptsMax} attempts); ` +
          `retry later, or lower RuntimeOptions.cellStartsMax on a loaded machine`,
      );
    }
    throw last;
  }

  /** Start refills while the pool is short and a start slot is free that no spawn waits for. */
  #topUp(): void {
    while (!this.#closed.signal.aborted && this.#warm.length + this.#refilling < this.#options.size) {
      const admitted = this.gate.admitIdle();
      if (admitted === undefined) return;
      this.#refilling++;
      const refill = this.#track(this.#refill(admitted)).finally(() => this.#refills.delete(refill));
      this.#refills.add(refill);
    }
  }

  /** One refill in an admitted slot (counted in `#refilling` until its cell is ready or failed). */
  async #refill(admitted: Promise<Release>): Promise<void> {
    const release = await admitted;
    let cell: CellHost;
    try {
      const signal = this.#closed.signal;
      const { heapMb, scratchDir, entry } = this.#options;
      cell = await CellHost.start({ heapMb, scratchDir, signal, entry });
    } catch {
      if (!this.#closed.signal.aborted) this.#stats.startFailures++;
      return;
    } finally {
      this.#refilling--;
      release();
    }
    this.#warm.push(cell);
    void cell.status.then(() => {
      const index = this.#warm.indexOf(cell);
      if (index < 0) return;
      this.#warm.splice(index, 1);
      this.#stats.replacedDead++;
      void this.#track(cell.dispose());
      void this.fill();
    });
  }

  /** Keep `work` in the set `close` waits for. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#starts.add(work);
    void work.catch(() => {}).finally(() => this.#starts.delete(work));
    return work;
  }
}
