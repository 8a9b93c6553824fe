/**
 * The codes kinds store in the ring's payload columns, and what their codecs
 * share: errno ids (the `errnoId` column's code), closed sets stored as
 * interned names ({@linkcode Vocabulary}), the name of whatever is outside a
 * set ({@linkcode unknownName}), and the per-tenant handles meters count into.
 *
 * @module
 */

import { ERRNO, type Errno } from "../kernel/mod.ts";
import type { Interner } from "./interner.ts";
import type { BoundCounter, Counter } from "./metrics.ts";

/** Errno strings indexed by errno id; id 0 is "ok" (no error). The `errnoId` column's code. */
export const errnoNames: readonly ("" | Errno)[] = Object.freeze(["", ...(Object.keys(ERRNO) as Errno[])]);

const errnoIds: ReadonlyMap<string, number> = new Map(errnoNames.map((name, id) => [name, id]));

/**
 * The errno id stored in the ring for an errno code (0 for success).
 *
 * @param code an errno string such as `"EACCES"`, or `undefined` for success
 * @returns the stable id (1-based position in `ERRNO`), or 0 for `undefined`
 * @throws {Error} when `code` is not a known errno (a programmer error)
 * @example
 * ```ts
 * import { errnoId } from "./kind_codes.ts";
 * errnoId(undefined); // 0
 * errnoId("EACCES"); // 1
 * ```
 */
export function errnoId(code: Errno | undefined): number {
  if (code === undefined) return 0;
  const id = errnoIds.get(code);
  if (id === undefined) throw new Error(`errnoId: unknown errno ${code}`);
  return id;
}

/** The errno of an `errnoId` column value, `null` for 0 (success). */
export function errnoOf(id: number): Errno | null {
  return errnoNames[id] || null;
}

/** What names outside a closed set decode to. */
export const unknownName = "(unknown)";

/**
 * A closed set of values stored as interned names: `id(i)` is the name id
 * of `values[i]`, `value(nameId)` the value back.
 */
export class Vocabulary<V> {
  readonly #ids: Uint32Array;
  readonly #values = new Map<number, V>();

  /**
   * @param names the table the labels are interned in
   * @param values the set, in index order
   * @param label the name each value is stored under
   * @throws {Error} when two values share a label, or the table is full (programmer errors)
   */
  constructor(names: Interner, values: readonly V[], label: (value: V) => string) {
    this.#ids = new Uint32Array(values.length);
    values.forEach((value, i) => {
      const id = names.intern(label(value));
      if (id < 2 || this.#values.has(id)) throw new Error(`assertion failed: vocabulary label ${label(value)}`);
      this.#ids[i] = id;
      this.#values.set(id, value);
    });
  }

  /** The name id of the value at `index` (of the constructor's `values`). */
  id(index: number): number {
    return this.#ids[index];
  }

  /** The value stored under `nameId`, or undefined for a name outside the set. */
  value(nameId: number): V | undefined {
    return this.#values.get(nameId);
  }
}

/** The `error` answer of a kind whose events are never errors. */
export const never = (): boolean => false;

/** The bound handle of a tenant's series of a `tenant`-labelled counter, made once per tenant id. */
export function tenantCounter(
  handles: Map<number, BoundCounter>,
  counter: Counter,
  tenants: Interner,
  tenantId: number,
): BoundCounter {
  let handle = handles.get(tenantId);
  if (handle === undefined) {
    handle = counter.labels({ tenant: tenants.name(tenantId) });
    handles.set(tenantId, handle);
  }
  return handle;
}
