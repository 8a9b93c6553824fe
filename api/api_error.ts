/**
 * The errors the API answers with: {@linkcode ApiError} (an HTTP status and a
 * machine-readable code), and {@linkcode policyOr400}, which turns a policy
 * document's validation issues into one.
 *
 * @module
 */

import { describeProblem, issueList } from "../lib/mod.ts";

/** An HTTP-facing error with a machine-readable code. */
export class ApiError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 416 | 422 | 429 | 502 | 503 | 507;
  readonly code: string;
  readonly issues?: unknown[];
  readonly retryAfterSec?: number;
  /** Headers the answer carries (e.g. `Content-Range` of a 416). */
  readonly headers?: Record<string, string>;

  /** @param status HTTP status, @param code machine-readable code */
  constructor(
    status: ApiError["status"],
    code: string,
    message: string,
    extra: { issues?: unknown[]; retryAfterSec?: number; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = extra.issues;
    this.retryAfterSec = extra.retryAfterSec;
    this.headers = extra.headers;
  }
}

/**
 * Run a policy operation; a document that fails validation (zod issues, or a
 * `RangeError`) becomes a 400 `invalid_policy` naming the first issue.
 *
 * @param fn the operation (set, explain)
 * @returns what `fn` returns
 * @throws {ApiError} 400 `invalid_policy`; anything else `fn` throws, as is
 */
export function policyOr400<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const issues = issueList(err);
    if (issues.length > 0) throw new ApiError(400, "invalid_policy", describeProblem(err, "policy"), { issues });
    if (err instanceof RangeError) throw new ApiError(400, "invalid_policy", err.message);
    throw err;
  }
}
