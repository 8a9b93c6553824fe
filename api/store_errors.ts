/**
 * Store errors are operating errors: a full disk, an I/O error, a read-only
 * or locked database file is answered with a 503 naming what happened
 * (`storage_full`, `storage_io`, `storage_readonly`, `storage_busy`,
 * `storage_corrupt`, `storage_unavailable`) and a `Retry-After`, never a
 * 500. {@linkcode StoreErrors} counts them per code (for `/metrics`) and
 * logs the first of each code, then at most one line per `storeErrorLogMs`
 * with the count since the last.
 *
 * Only SQLite's own failures (`node:sqlite` errors with an `errcode`) are
 * store errors; a constraint violation or a bad statement is a bug or bad
 * input and is left to its caller.
 *
 * @module
 */

import { ApiError } from "./api_error.ts";
import { storeErrorLogMs } from "./limits.ts";

/** The API codes of store failures. */
export type StoreErrorCode =
  | "storage_full"
  | "storage_io"
  | "storage_readonly"
  | "storage_busy"
  | "storage_corrupt"
  | "storage_unavailable";

interface StoreFailure {
  code: StoreErrorCode;
  retryAfterSec: number;
  /** What the operator should do, for the answer's message. */
  advice: string;
}

const dataDir = "the data dir (AGENTOS_DATA_DIR)";

/** SQLite primary result codes (the low byte of an extended code) that are operating errors. */
const failures: Record<number, StoreFailure> = {
  5: { code: "storage_busy", retryAfterSec: 1, advice: "the database is locked by another writer; retry" },
  6: { code: "storage_busy", retryAfterSec: 1, advice: "the database is locked; retry" },
  7: { code: "storage_unavailable", retryAfterSec: 5, advice: "the store ran out of memory; retry later" },
  8: {
    code: "storage_readonly",
    retryAfterSec: 30,
    advice: `the database is read-only: make ${dataDir} writable by the server`,
  },
  10: { code: "storage_io", retryAfterSec: 5, advice: `the disk under ${dataDir} failed a read or write; retry later` },
  11: { code: "storage_corrupt", retryAfterSec: 60, advice: `the database file under ${dataDir} is damaged` },
  13: {
    code: "storage_full",
    retryAfterSec: 30,
    advice: `the database cannot grow: free space on the disk of ${dataDir}, then retry`,
  },
  14: { code: "storage_unavailable", retryAfterSec: 5, advice: `the database file under ${dataDir} cannot be opened` },
  26: { code: "storage_corrupt", retryAfterSec: 60, advice: `the file under ${dataDir} is not an agentos database` },
};

/**
 * SQLite's own text of each primary code (`sqlite3_errstr`): `node:sqlite`
 * in Deno 2.9 sets `errcode` on statement errors only, and an `exec()` error
 * (a pragma, the schema) carries just this text.
 */
const messages: [prefix: string, errcode: number][] = [
  ["database is locked", 5],
  ["database table is locked", 6],
  ["out of memory", 7],
  ["attempt to write a readonly database", 8],
  ["disk I/O error", 10],
  ["database disk image is malformed", 11],
  ["database or disk is full", 13],
  ["unable to open database file", 14],
  ["file is not a database", 26],
];

/**
 * The SQLite result code of `err`, if it is a `node:sqlite` error: its
 * `errcode` (extended), or the primary code its message names.
 *
 * @param err anything thrown
 * @returns the result code, or undefined (not a SQLite error, or one without a known code)
 */
export function sqliteCode(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, errcode } = err as Error & { code?: unknown; errcode?: unknown };
  if (code !== "ERR_SQLITE_ERROR") return undefined;
  if (typeof errcode === "number") return errcode;
  return messages.find(([prefix]) => err.message.startsWith(prefix))?.[1];
}

/**
 * The 503 a store failure is answered with, or undefined when `err` is not one.
 *
 * @param err anything thrown
 * @returns the API error (code, message with advice, `Retry-After`), or undefined
 * @example
 * ```ts
 * import { storeApiError } from "./store_errors.ts";
 * storeApiError(new Error("not sqlite")); // undefined
 * ```
 */
export function storeApiError(err: unknown): ApiError | undefined {
  const errcode = sqliteCode(err);
  const failure = errcode === undefined ? undefined : failures[errcode & 0xff];
  if (failure === undefined) return undefined;
  const what = (err as Error).message;
  return new ApiError(503, failure.code, `store error (${what}): ${failure.advice}`, {
    retryAfterSec: failure.retryAfterSec,
  });
}

/** Store failures counted per code; the first of each code is logged, then one line per `storeErrorLogMs`. */
export class StoreErrors {
  #counts = new Map<StoreErrorCode, number>();
  #logged = new Map<StoreErrorCode, { atMs: number; count: number }>();
  #log: (line: string) => void;
  #clock: () => number;

  /** @param log where lines go (default `console.error`), @param clock ms (default `performance.now`) */
  constructor(log: (line: string) => void = console.error, clock: () => number = () => performance.now()) {
    this.#log = log;
    this.#clock = clock;
  }

  /**
   * A store operation failed: count it and maybe log it.
   *
   * @param what the operation, for the log line (e.g. "agent record")
   * @param err what it threw
   * @returns the API error to answer with, or undefined when `err` is not a store failure (a bug: rethrow it)
   */
  failed(what: string, err: unknown): ApiError | undefined {
    const api = storeApiError(err);
    if (api === undefined) return undefined;
    const code = api.code as StoreErrorCode;
    const count = (this.#counts.get(code) ?? 0) + 1;
    this.#counts.set(code, count);
    const last = this.#logged.get(code);
    const nowMs = this.#clock();
    if (last === undefined || nowMs - last.atMs >= storeErrorLogMs) {
      const since = last === undefined ? "" : ` (${count - last.count - 1} more since the last line)`;
      this.#log(`store error ${code} in ${what}: ${(err as Error).message}${since}`);
      this.#logged.set(code, { atMs: nowMs, count });
    }
    return api;
  }

  /** Failures so far, per code. */
  counts(): Map<StoreErrorCode, number> {
    return new Map(this.#counts);
  }
}
