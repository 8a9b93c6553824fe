/**
 * Descriptor exhaustion at the gate. A failed accept or inner connect with
 * EMFILE or ENFILE starts an episode, logged once when it starts and once
 * when it ends (after `fdEpisodeQuietMs` without one). The gate learns a
 * connection cap from it, closes the connections beyond the cap that never
 * completed a request, and grows the cap back while descriptors last. A
 * spare descriptor, freed for one accept, lets the gate answer a client
 * waiting in the backlog instead of leaving it hanging.
 *
 * @module
 */

import { type EdgeLimits, fdCapConnectionsMin, fdCapShrinkRatio, fdEpisodeQuietMs } from "../limits.ts";
import { canned, refuse } from "./wire.ts";

/** Whether an error is the process or the system running out of descriptors. */
export function isFdExhaustion(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "EMFILE" || code === "ENFILE") return true;
  return err instanceof Error && /too many open files/i.test(err.message);
}

/** The gate's counters that descriptor exhaustion moves (a part of its `GateStats`). */
export interface DescriptorCounters {
  fdEpisodes: number;
  shed: number;
  fdCap: number;
  refused: { fds: number };
}

/** What shedding looks at of an open connection. */
export interface Sheddable {
  readonly framer: { readonly completed: number };
  readonly awaiting: boolean;
}

/** Options of a {@linkcode DescriptorGuard}. */
export interface DescriptorGuardOptions<C extends Sheddable> {
  /** The gate's counters, moved in place. */
  stats: DescriptorCounters;
  limits: EdgeLimits;
  /** The gate's open connections, oldest first. */
  conns: ReadonlySet<C>;
  /** Answer `c` with `answer` and close it. */
  close: (c: C, answer: Uint8Array) => void;
  /** Accept the next waiting connection. */
  accept: () => Promise<Deno.Conn>;
  /** The answer of a client refused with the spare descriptor. */
  busy: Uint8Array;
  /** A file or directory to hold open as the spare descriptor. */
  sparePath?: string;
  /** Where episodes are told (once each). */
  log: (line: string) => void;
}

/** The gate's episodes of descriptor exhaustion, its learned cap and its spare descriptor. */
export class DescriptorGuard<C extends Sheddable> {
  /** The answer of a connection refused or shed for want of descriptors. */
  readonly answer: Uint8Array = canned(503, "server_busy", "out of file descriptors; try again", 1);
  #options: DescriptorGuardOptions<C>;
  #spare: Deno.FsFile | undefined;
  /** Start of the current fd episode, ms, and what was refused in it. */
  #episode: { atMs: number; lastMs: number; refused: number } | undefined;
  #fdErrorAtMs = 0;

  /** @param options the gate's counters, connections and limits */
  constructor(options: DescriptorGuardOptions<C>) {
    this.#options = options;
  }

  /** Descriptors ran out (`err`): start or extend an episode, and shed down to the learned cap. */
  exhausted(err: unknown): void {
    const now = Date.now();
    const stats = this.#options.stats;
    const conns = this.#options.conns;
    this.#fdErrorAtMs = now;
    if (this.#episode !== undefined) {
      this.#episode.refused++;
      this.#episode.lastMs = now;
      if (conns.size >= stats.fdCap) this.#shed();
      return;
    }
    stats.fdEpisodes++;
    this.#episode = { atMs: now, lastMs: now, refused: 1 };
    const open = conns.size;
    this.#shed();
    this.#options.log(
      `agentos http: out of file descriptors (${(err as { code?: string }).code ?? errText(err)}) with ` +
        `${open} connections open; refusing new connections, serving the open ones (at most ` +
        `${stats.fdCap} from now on; ${stats.shed} that never completed a request closed)`,
    );
  }

  /** The sweep's turn: grow the cap back, and end an episode after `fdEpisodeQuietMs` without an error. */
  sweep(now: number): void {
    this.#growFdCap(now);
    const episode = this.#episode;
    if (episode === undefined || now - episode.lastMs < fdEpisodeQuietMs) return;
    this.#episode = undefined;
    this.#options.log(
      `agentos http: accepting again; descriptors ran out for ${episode.lastMs - episode.atMs} ms ` +
        `(${episode.refused} accepts failed or refused)`,
    );
    if (this.#spare === undefined) this.openSpare();
  }

  /**
   * Free the spare descriptor for one accept, refuse that connection, take
   * the spare back. Returns whether a waiting client was answered.
   */
  async refuseWithSpare(): Promise<boolean> {
    if (this.#spare === undefined) {
      this.openSpare();
      return false;
    }
    this.#spare.close();
    this.#spare = undefined;
    let answered = false;
    try {
      const conn = await this.#options.accept();
      this.#options.stats.refused.fds++;
      if (this.#episode !== undefined) this.#episode.refused++;
      refuse(conn, this.#options.busy);
      answered = true;
    } catch { /* still none */ }
    this.openSpare();
    return answered;
  }

  /** Hold the spare descriptor open, if there is a `sparePath` and none is held. */
  openSpare(): void {
    const path = this.#options.sparePath;
    if (path === undefined || this.#spare !== undefined) return;
    try {
      this.#spare = Deno.openSync(path, { read: true });
    } catch { /* no descriptor yet; tried again on the next failed accept */ }
  }

  /** Give the spare descriptor back (the gate stopped). */
  closeSpare(): void {
    this.#spare?.close();
    this.#spare = undefined;
  }

  /**
   * Out of descriptors with `open` connections: from now on admit at most
   * `fdCapShrinkRatio` of them (headroom for the server behind the gate and the
   * cells), and close the connections beyond that which never completed a
   * request, oldest first (a slow-loris attacker's; a client that was served
   * keeps its connection). The cap grows back while descriptors last.
   */
  #shed(): void {
    const { stats, conns } = this.#options;
    const cap = Math.max(fdCapConnectionsMin, Math.floor(conns.size * fdCapShrinkRatio));
    stats.fdCap = Math.min(stats.fdCap, cap);
    let excess = conns.size - stats.fdCap;
    for (const c of conns) {
      if (excess <= 0) break;
      if (c.framer.completed > 0 || c.awaiting) continue;
      stats.shed++;
      excess--;
      this.#options.close(c, this.answer);
    }
  }

  /** Additive increase of the learned cap once descriptors have lasted `limits.fdCapGrowQuietMs`. */
  #growFdCap(now: number): void {
    const { stats, limits } = this.#options;
    const cap = stats.fdCap;
    if (cap === Infinity || now - this.#fdErrorAtMs < limits.fdCapGrowQuietMs) return;
    const next = cap + Math.max(1, Math.floor(cap / 8));
    stats.fdCap = next >= limits.connectionsMax ? Infinity : next;
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
