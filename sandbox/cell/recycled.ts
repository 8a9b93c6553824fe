/**
 * Cells kept for the next agent of the same tenant (DESIGN §1: a cell whose
 * agent ended by itself may host the next agent of that tenant in a fresh
 * Worker). A cell is kept only when its agent exited or failed on its own
 * (never after a kill, a limit, a timeout or a crash), its old Worker went
 * quiet after `terminate()`, it is young enough and has hosted few enough
 * agents, and its RSS is back near a fresh cell's. Never across tenants;
 * a kept cell that sits idle too long is disposed. Every refusal is
 * counted by reason.
 *
 * @module
 */

import {
  cellRecycledIdleMsMax,
  cellRecycledMax,
  cellRecycledPerTenantMax,
  cellRecycleMsMax,
  cellRecycleRssMbMax,
  cellReuseAgeMsMax,
  cellReusesMax,
} from "../limits.ts";
import type { CellHost } from "./cell_host.ts";

/** Why a cell was not kept for its tenant's next agent. */
export type RecycleRefusal =
  | "ended" // the agent did not end by itself (killed, limit, timeout, crash)
  | "heap" // not the pool's heap cap
  | "reuses" // hosted cellReusesMax agents
  | "age" // older than cellReuseAgeMsMax
  | "full" // the tenant's or the server's kept cells are at their cap
  | "busy" // the old Worker still ran after terminate(), or the cell did not answer
  | "rss" // RSS above cellRecycleRssMbMax after the old Worker ended
  | "closed"; // the runtime is closing

/** The kept cells, by tenant. */
export class RecycledCells {
  /** Cells kept so far, and handed to a next agent. */
  readonly stats = { kept: 0, hits: 0, expired: 0, refused: {} as Partial<Record<RecycleRefusal, number>> };
  #byTenant = new Map<string, CellHost[]>();
  #expiries = new Map<CellHost, ReturnType<typeof setTimeout>>();
  /** Recycles in flight, by tenant (a spawn of that tenant waits for one rather than start a cell). */
  #pending = new Map<string, Promise<boolean>[]>();
  #count = 0;
  #heapMb: number;
  #dispose: (cell: CellHost) => void;

  /** @param heapMb the pool's heap cap @param dispose how a cell that is not kept goes */
  constructor(heapMb: number, dispose: (cell: CellHost) => void) {
    this.#heapMb = heapMb;
    this.#dispose = dispose;
  }

  /** Cells kept now. */
  get size(): number {
    return this.#count;
  }

  /**
   * Recycle `cell` and keep it for `tenant`'s next agent, else dispose it.
   * The caller has found no `refusal` for it; what only the recycle can tell
   * (a busy old Worker, RSS) and caps filled meanwhile are checked here.
   */
  async offer(cell: CellHost, tenant: string): Promise<void> {
    // Counted before the await, so concurrent offers cannot pass the caps together.
    this.#count++;
    const recycling = cell.recycle(cellRecycleMsMax);
    this.#pending.set(tenant, [...(this.#pending.get(tenant) ?? []), recycling]);
    const ok = await recycling;
    const left = (this.#pending.get(tenant) ?? []).filter((p) => p !== recycling);
    if (left.length > 0) this.#pending.set(tenant, left);
    else this.#pending.delete(tenant);
    this.#count--;
    if (!ok) return this.#refuse(cell, "busy");
    if (cell.readyRssMb > cellRecycleRssMbMax) return this.#refuse(cell, "rss");
    if (this.refusal(cell, tenant) === "full") return this.#refuse(cell, "full");
    this.#keep(cell, tenant);
  }

  /**
   * A kept cell of `tenant`, waiting for one being recycled for it if none is
   * kept yet (a fresh Worker in a live cell is far cheaper than a new cell).
   */
  async takeOrWait(tenant: string, heapMb: number): Promise<CellHost | undefined> {
    const now = this.take(tenant, heapMb);
    if (now !== undefined || heapMb !== this.#heapMb) return now;
    const pending = this.#pending.get(tenant);
    if (pending === undefined) return undefined;
    await Promise.race(pending);
    return this.take(tenant, heapMb);
  }

  /** A kept cell of `tenant` with heap cap `heapMb`, or undefined. */
  take(tenant: string, heapMb: number): CellHost | undefined {
    if (heapMb !== this.#heapMb) return undefined;
    for (;;) {
      const cell = this.#byTenant.get(tenant)?.at(-1);
      if (cell === undefined) return undefined;
      this.#drop(cell, tenant);
      if (cell.exited) continue;
      this.stats.hits++;
      return cell;
    }
  }

  /** Dispose every kept cell. */
  closeAll(): CellHost[] {
    const all = [...this.#byTenant.values()].flat();
    for (const timer of this.#expiries.values()) clearTimeout(timer);
    this.#expiries.clear();
    this.#byTenant.clear();
    this.#count = 0;
    return all;
  }

  /** Why `cell` would not be kept for `tenant` now, or null. */
  refusal(cell: CellHost, tenant: string): RecycleRefusal | null {
    if (cell.heapMb !== this.#heapMb) return "heap";
    if (cell.reuses >= cellReusesMax) return "reuses";
    if (performance.now() - cell.bornAt > cellReuseAgeMsMax) return "age";
    const mine = this.#byTenant.get(tenant)?.length ?? 0;
    if (mine >= cellRecycledPerTenantMax || this.#count >= cellRecycledMax) return "full";
    return null;
  }

  #refuse(cell: CellHost, why: RecycleRefusal): void {
    this.count(why);
    this.#dispose(cell);
  }

  /** Count a cell not kept for `why` (its disposal is the caller's). */
  count(why: RecycleRefusal): void {
    this.stats.refused[why] = (this.stats.refused[why] ?? 0) + 1;
  }

  #keep(cell: CellHost, tenant: string): void {
    const cells = this.#byTenant.get(tenant) ?? [];
    cells.push(cell);
    this.#byTenant.set(tenant, cells);
    this.#count++;
    this.stats.kept++;
    this.#expiries.set(
      cell,
      setTimeout(() => {
        if (!this.#drop(cell, tenant)) return;
        this.stats.expired++;
        this.#dispose(cell);
      }, cellRecycledIdleMsMax),
    );
    void cell.status.then(() => {
      if (this.#drop(cell, tenant)) this.#dispose(cell);
    });
  }

  /** Take `cell` out of the kept cells (and its expiry); whether it was there. */
  #drop(cell: CellHost, tenant: string): boolean {
    clearTimeout(this.#expiries.get(cell));
    this.#expiries.delete(cell);
    const list = this.#byTenant.get(tenant);
    const index = list?.indexOf(cell) ?? -1;
    if (list === undefined || index < 0) return false;
    list.splice(index, 1);
    if (list.length === 0) this.#byTenant.delete(tenant);
    this.#count--;
    return true;
  }
}
