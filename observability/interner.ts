/**
 * The interner: a bounded table of strings (syscall names, series names,
 * tenants) as small integer ids that fit the ring's columns.
 *
 * @module
 */

import { assert } from "../lib/mod.ts";

/** Interned strings per table, including the two reserved ids. */
export const internedMax = 4096;

/** Longest string the interner accepts; longer strings map to "other". */
export const internedCharsMax = 256;

/**
 * A bounded string table mapping names (syscall names, series names) to
 * small integer ids that fit the ring's `nameId` column.
 *
 * Id 0 is the empty string, id 1 is the reserved "other" bucket: once the
 * table holds `max` entries, new strings map to 1 and `overflow` counts them.
 * Looking up an already-interned string does not allocate.
 *
 * @example
 * ```ts
 * import { Interner } from "./interner.ts";
 * const names = new Interner();
 * const id = names.intern("fs.read");
 * names.name(id); // "fs.read"
 * ```
 */
export class Interner {
  /** The id of the empty string. */
  static readonly emptyId = 0;
  /** The id every string past the bound maps to. */
  static readonly otherId = 1;
  /** Capacity, including the two reserved ids. */
  readonly max: number;
  /** Strings that could not be interned because the table was full. */
  overflow = 0;
  readonly #ids = new Map<string, number>();
  readonly #names: string[];

  /**
   * @param max capacity including the reserved ids 0 and 1
   * @default max internedMax (4096)
   */
  constructor(max: number = internedMax) {
    assert(Number.isInteger(max) && max >= 2 && max <= 65_536, "interner max");
    this.max = max;
    this.#names = ["", "other"];
    this.#ids.set("", Interner.emptyId);
  }

  /** Number of ids in use, including the two reserved ones. */
  get size(): number {
    return this.#names.length;
  }

  /**
   * The id for `name`, interning it when there is room.
   *
   * @param name the string to intern
   * @returns its id, or `Interner.otherId` (1) when the table is full or the
   *   string is longer than `internedCharsMax`
   */
  intern(name: string): number {
    const id = this.#ids.get(name);
    if (id !== undefined) return id;
    if (this.#names.length >= this.max || name.length > internedCharsMax) {
      this.overflow++;
      return Interner.otherId;
    }
    const fresh = this.#names.length;
    this.#names.push(name);
    this.#ids.set(name, fresh);
    return fresh;
  }

  /**
   * The id of an already-interned string, without interning.
   *
   * @param name the string to look up
   * @returns its id, or `undefined` when it was never interned
   */
  lookup(name: string): number | undefined {
    return this.#ids.get(name);
  }

  /**
   * The string behind an id.
   *
   * @param id an id returned by `intern`
   * @returns the string, `"other"` for id 1, or `"other"` for unknown ids
   */
  name(id: number): string {
    return this.#names[id] ?? "other";
  }
}
