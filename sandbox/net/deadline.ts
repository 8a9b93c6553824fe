/**
 * The total time bound of one `net.fetch` call.
 *
 * @module
 */

/** What a raced promise rejects with once the call's deadline passed. */
export class DeadlineError extends Error {
  constructor() {
    super("deadline passed");
    this.name = "DeadlineError";
  }
}

/**
 * Settle with `promise`, or reject with {@linkcode DeadlineError} as soon as
 * `signal` aborts (the promise keeps running; the caller closes what it
 * holds, and a later rejection of `promise` is swallowed).
 *
 * @example
 * ```ts
 * const ctl = new AbortController();
 * const value = await raceAbort(Promise.resolve(1), ctl.signal); // 1
 * ```
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(new DeadlineError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DeadlineError());
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
