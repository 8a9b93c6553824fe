/**
 * The one deadline helper: settle with a promise, or reject once a signal
 * aborts or a timeout passes. Used by `net.fetch` (the call's total time
 * bound) and `proc.wait` (its `timeoutMs`).
 *
 * @module
 */

/** What a raced promise rejects with once the deadline passed (unless the caller names another error). */
export class DeadlineError extends Error {
  constructor() {
    super("deadline passed");
    this.name = "DeadlineError";
  }
}

/**
 * Settle with `promise`, or reject with `onDeadline()` (a
 * {@linkcode DeadlineError} by default) as soon as `signal` aborts. The
 * promise keeps running; the caller closes what it holds, and a later
 * rejection of `promise` is swallowed.
 *
 * @param promise the work
 * @param signal the deadline
 * @param onDeadline the error to reject with once `signal` aborts
 * @returns the work's value
 * @example
 * ```ts
 * import { raceAbort } from "./deadline.ts";
 * const ctl = new AbortController();
 * const value = await raceAbort(Promise.resolve(1), ctl.signal); // 1
 * ```
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  onDeadline: () => Error = () => new DeadlineError(),
): Promise<T> {
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(onDeadline());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(onDeadline());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * {@linkcode raceAbort} against a timer of `timeoutMs` (none when
 * undefined); the timer is cleared as soon as the race settles.
 *
 * @param promise the work
 * @param timeoutMs how long to wait, ms; `undefined` waits for ever
 * @param onDeadline the error to reject with once the time is up
 * @returns the work's value
 * @example
 * ```ts
 * import { withTimeout } from "./deadline.ts";
 * await withTimeout(new Promise(() => {}), 1).catch((e) => e.name); // "DeadlineError"
 * ```
 */
export function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number | undefined,
  onDeadline?: () => Error,
): Promise<T> {
  if (timeoutMs === undefined) return promise;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  return raceAbort(promise, ctl.signal, onDeadline).finally(() => clearTimeout(timer));
}
