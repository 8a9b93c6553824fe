/**
 * The syscall table: one row per call. Adding a syscall means adding a row;
 * the dispatcher never switches on a concrete call.
 *
 * @module
 */

import type { z } from "zod";
import type { Capability, Process } from "../process/mod.ts";

declare const checkedPathBrand: unique symbol;

/**
 * What confinement learned about a path's target when it stat-ed it (the
 * resolved file, never a symlink). Handlers verify an opened handle against
 * `ino`/`dev` and may answer from it instead of asking the host again.
 */
export interface PathSeen {
  /** `file` (regular), `dir`, or `other` (fifo, socket, device). */
  readonly kind: "file" | "dir" | "other";
  /** Bytes, as the check saw them. */
  readonly size: number;
  /** Last modification, ms since the epoch; null where the host has none. */
  readonly mtimeMs: number | null;
  /** Hard links to the target (a regular file with more than one is refused). */
  readonly nlink: number;
  /** Inode; null where the host has none (then every handle is re-verified by path). */
  readonly ino: number | null;
  /** Device of the inode. */
  readonly dev: number;
}

/**
 * A path that passed confinement, resolved once and carried through the
 * call: the dispatcher hands it to the policy layer and to the handler, so
 * neither looks the workspace up or re-derives a form. Only the
 * confinement layer (`sandbox/path/confine.ts`) mints these — the brand has
 * no runtime value, so a raw string or a hand-built object is not one and
 * I/O that forgot the check does not type-check.
 */
export interface CheckedPath {
  readonly [checkedPathBrand]: true;
  /** The workspace's real root (absolute, symlink-free). */
  readonly root: string;
  /** The real absolute path the check resolved: `root` or beneath it, symlinks resolved. */
  readonly real: string;
  /** `real` relative to `root` (POSIX, no leading `/`; `.` for the root): what policy globs match. */
  readonly relative: string;
  /** The target as the check saw it; null when nothing existed there (a path about to be created). */
  readonly seen: PathSeen | null;
  /**
   * The mount point (workspace-relative) when the path lies in a mounted
   * volume: `root` is then the volume's real root, and policy globs match
   * `${mount}/${relative}` (the path as the agent names it).
   */
  readonly mount?: string;
}

/** How a call touches a path. */
export type PathAccess = "read" | "write";

/** A raw path a call names, before confinement. */
export interface PathClaim {
  path: string;
  access: PathAccess;
}

/**
 * What a call holds in the supervisor until its answer has been written:
 * `reserve` charges more bytes (the caller's budget decides) and throws
 * `KernelError` `EAGAIN`/`E2BIG` when the budget is full.
 */
export interface CallHold {
  reserve(bytes: number): void;
}

/** What a handler gets: the validated args and the checked values. */
export interface CallContext<A> {
  readonly proc: Process;
  readonly args: A;
  /** The checked forms of the row's `paths(args)`, in the same order. */
  readonly paths: readonly CheckedPath[];
  /** Count bytes moved by this call (reported in events and usage). */
  addBytes(bytes: number): void;
  /**
   * Reserve supervisor memory for a large result before building it (see
   * `resultHoldBytes`); held until the answer is written to the agent.
   *
   * @throws {KernelError} `EAGAIN` when the agent's, tenant's or server's budget is full, `E2BIG` when it never fits
   */
  reserve(bytes: number): void;
}

/** One row of the table. */
export interface SyscallDef<A = unknown> {
  /** Dotted name, e.g. `fs.readText`. */
  readonly name: string;
  /** zod schema the args must satisfy (strict: unknown keys are rejected). */
  readonly args: z.ZodType<A>;
  /** Capability required, or `null` for calls every agent may make. */
  readonly capability: Capability | null;
  /** Paths the call touches; each is confined before the handler runs. */
  readonly paths?: (args: A) => PathClaim[];
  /** Rate-limit tokens one call costs (default 1). */
  readonly cost?: number;
  /**
   * The call may wait on something outside the kernel's control (data in a
   * pipe, a message, a child's exit, a remote server, a cell start): the
   * scheduler stops counting it as running after a short slice, so waiting
   * calls never hold the agent's slots. Calls that merely do work (files)
   * hold their slot until done.
   */
  readonly blocking?: boolean;
  /**
   * The call does file-system work on the host (several thread-pool ops
   * each): a batch runs fewer of them at once (`batchSliceIoCalls`), so one
   * agent cannot flood the event loop with their completions.
   */
  readonly ioBound?: boolean;
  /** Performs the effect. Throw `KernelError` for an errno; anything else is `EIO`. */
  readonly handler: (ctx: CallContext<A>) => unknown | Promise<unknown>;
}

/**
 * Define a row with its args type inferred from the schema.
 *
 * @example
 * ```ts
 * const now = defineSyscall({
 *   name: "time.now", args: z.strictObject({}), capability: null,
 *   handler: () => Date.now(),
 * });
 * ```
 */
export function defineSyscall<S extends z.ZodType>(
  def: Omit<SyscallDef<z.output<S>>, "args"> & { args: S },
): SyscallDef<unknown> {
  return def as unknown as SyscallDef<unknown>;
}

/** The set of rows the dispatcher serves. */
export class SyscallTable {
  #rows = new Map<string, SyscallDef>();

  /** @param rows initial rows */
  constructor(rows: Iterable<SyscallDef> = []) {
    for (const row of rows) this.add(row);
  }

  /**
   * Add a row.
   *
   * @throws {Error} on a duplicate name (programmer error)
   */
  add(row: SyscallDef): void {
    if (this.#rows.has(row.name)) throw new Error(`syscall ${row.name} defined twice`);
    this.#rows.set(row.name, row);
  }

  /** The row for `name`, if any. */
  get(name: string): SyscallDef | undefined {
    return this.#rows.get(name);
  }

  /** Whether `name` is an I/O-bound row (unknown names are not). */
  ioBound(name: string): boolean {
    return this.#rows.get(name)?.ioBound === true;
  }

  /** Whether `name` is a blocking row (unknown names are not). */
  blocking(name: string): boolean {
    return this.#rows.get(name)?.blocking === true;
  }

  /** Every call name, sorted. */
  names(): string[] {
    return [...this.#rows.keys()].sort();
  }
}
