/**
 * The resource orchestrator: every kind of resource a process can hold
 * registers a cleanup; when a process ends, its resources are released in
 * reverse registration order of their types (descriptors first, memory last)
 * and LIFO within a type.
 *
 * The kernel's own per-pid tables (policy chains, fast-path plans, scheduler
 * records, quota slots) register as *tables*: they hold nothing in the world,
 * but they too are dropped on every exit path, after the resources, so an
 * exit is always "decide, then clean up" and nothing is left keyed by a pid
 * that will be recycled.
 *
 * @module
 */

/** Releases one held resource; returns the bytes it freed. */
export type Cleanup<H> = (pid: number, handle: H) => Promise<number> | number;

/** Per-type outcome of a cleanup. */
export interface CleanupTypeStats {
  count: number;
  bytes: number;
  errors: string[];
}

/** Outcome of releasing everything a process held. */
export interface CleanupReport {
  pid: number;
  types: Record<string, CleanupTypeStats>;
  errors: number;
}

interface Held {
  id: number;
  type: string;
  handle: unknown;
  bytes: number;
}

/**
 * Tracks what each pid holds and releases it all on exit.
 *
 * @example
 * ```ts
 * const orch = new ResourceOrchestrator();
 * orch.registerType("timer", (_pid, t: number) => { clearTimeout(t); return 0; });
 * orch.assertCoverage(["timer"]);
 * const id = orch.acquire(7, "timer", setTimeout(() => {}, 1000));
 * await orch.cleanup(7); // clears the timer
 * ```
 */
export class ResourceOrchestrator {
  #types = new Map<string, { order: number; cleanup: Cleanup<unknown> }>();
  #tables = new Map<string, (pid: number) => void>();
  #held = new Map<number, Held[]>();
  #nextId = 1;

  /**
   * Register a resource type. Types registered later are cleaned first.
   *
   * @throws {Error} if the type is registered twice (programmer error)
   */
  registerType<H>(type: string, cleanup: Cleanup<H>): void {
    if (this.#types.has(type)) throw new Error(`resource type ${type} registered twice`);
    this.#types.set(type, { order: this.#types.size, cleanup: cleanup as Cleanup<unknown> });
  }

  /**
   * Register a per-pid table of the kernel, dropped for a pid after all of
   * its resources (in registration order).
   *
   * @throws {Error} if the table is registered twice (programmer error)
   */
  registerTable(name: string, drop: (pid: number) => void): void {
    if (this.#tables.has(name)) throw new Error(`table ${name} registered twice`);
    this.#tables.set(name, drop);
  }

  /**
   * Fail loudly if any of `known` has no registered cleanup (resource type or table).
   *
   * @throws {Error} naming every uncovered type
   */
  assertCoverage(known: Iterable<string>): void {
    const missing = [...known].filter((t) => !this.#types.has(t) && !this.#tables.has(t));
    if (missing.length > 0) {
      throw new Error(`resource types without cleanup: ${missing.join(", ")}`);
    }
  }

  /**
   * Record that `pid` holds `handle` of `type`; returns an id for `release`.
   *
   * @throws {Error} if `type` is not registered (programmer error)
   */
  acquire(pid: number, type: string, handle: unknown, bytes = 0): number {
    if (!this.#types.has(type)) throw new Error(`unregistered resource type ${type}`);
    const id = this.#nextId++;
    let list = this.#held.get(pid);
    if (list === undefined) this.#held.set(pid, list = []);
    list.push({ id, type, handle, bytes });
    return id;
  }

  /** Forget a resource the owner released itself. Returns false if unknown. */
  release(pid: number, id: number): boolean {
    const list = this.#held.get(pid);
    const index = list?.findIndex((h) => h.id === id) ?? -1;
    if (list === undefined || index < 0) return false;
    list.splice(index, 1);
    if (list.length === 0) this.#held.delete(pid);
    return true;
  }

  /** How many resources `pid` holds (optionally of one type). */
  held(pid: number, type?: string): number {
    const list = this.#held.get(pid) ?? [];
    return type === undefined ? list.length : list.filter((h) => h.type === type).length;
  }

  /** Pids that hold anything. */
  holders(): number[] {
    return [...this.#held.keys()];
  }

  /**
   * Release everything `pid` holds, then drop it from every table. Never
   * throws: a cleanup's error is recorded in the report and the remaining
   * resources are still released.
   */
  async cleanup(pid: number): Promise<CleanupReport> {
    const list = this.#held.get(pid) ?? [];
    this.#held.delete(pid);
    const report: CleanupReport = { pid, types: {}, errors: 0 };
    const ordered = list
      .map((held, index) => ({ held, index }))
      .sort((a, b) =>
        this.#types.get(b.held.type)!.order - this.#types.get(a.held.type)!.order ||
        b.index - a.index
      );
    for (const { held } of ordered) {
      const stats = report.types[held.type] ??= { count: 0, bytes: 0, errors: [] };
      try {
        const bytes = await this.#types.get(held.type)!.cleanup(pid, held.handle);
        stats.count++;
        stats.bytes += bytes || held.bytes;
      } catch (err) {
        stats.errors.push(err instanceof Error ? err.message : String(err));
        report.errors++;
      }
    }
    for (const drop of this.#tables.values()) {
      try {
        drop(pid);
      } catch {
        report.errors++;
      }
    }
    return report;
  }
}
