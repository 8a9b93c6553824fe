/**
 * The errors the SDK throws: {@linkcode AgentOSError} carries the HTTP
 * status and the API's machine-readable `error.code`; one subclass per kind
 * of answer, so callers branch with `instanceof`, never on messages.
 *
 * @example
 * ```ts
 * import { AgentOS, NotFound } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * try {
 *   await os.agent("ag_nope").status();
 * } catch (err) {
 *   if (err instanceof NotFound) console.log(err.code); // "not_found"
 * }
 * ```
 *
 * @module
 */

/** What the API answers on an error: `{error: {code, message, issues?}}` plus any extra fields. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: unknown[] };
  [extra: string]: unknown;
}

/**
 * Every error the API answers with (and the SDK's own, `ConnectionError`).
 *
 * @example
 * ```ts
 * import { AgentOSError } from "./mod.ts";
 * const err = new AgentOSError(418, "teapot", "short and stout");
 * err.code; // "teapot"
 * ```
 */
export class AgentOSError extends Error {
  /** The HTTP status (0 when no answer came: `ConnectionError`). */
  readonly status: number;
  /** The API's `error.code` (`not_found`, `validation_failed`, `unauthorized`, ...). */
  readonly code: string;
  /** The validation issues of a 400, when the API gave them. */
  readonly issues?: unknown[];
  /** The whole answer body (a 503 after a run carries the finished agent as `agent`). */
  readonly body?: ErrorBody;

  /**
   * @param status HTTP status
   * @param code the API's error code
   * @param message what happened and what to do
   * @param body the answer's body
   */
  constructor(status: number, code: string, message: string, body?: ErrorBody, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.issues = body?.error.issues;
    this.body = body;
  }
}

/**
 * 401: no key, an unknown key, or an expired one.
 *
 * @example
 * ```ts
 * import { AgentOS, Unauthorized } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "wrong" });
 * await os.agents.list().catch((err) => err instanceof Unauthorized); // true
 * ```
 */
export class Unauthorized extends AgentOSError {}

/**
 * 403: the key may not do this (an admin route with a tenant key, a policy denial).
 *
 * @example
 * ```ts
 * import { Forbidden } from "./mod.ts";
 * new Forbidden(403, "forbidden", "admin only") instanceof Forbidden; // true
 * ```
 */
export class Forbidden extends AgentOSError {}

/**
 * 404: no such agent, session, volume, file or package (for this tenant).
 *
 * @example
 * ```ts
 * import { NotFound } from "./mod.ts";
 * new NotFound(404, "not_found", "no agent ag_x").status; // 404
 * ```
 */
export class NotFound extends AgentOSError {}

/**
 * 409: the resource is busy or in the wrong state (`session_busy`, a volume still mounted).
 *
 * @example
 * ```ts
 * import { Conflict } from "./mod.ts";
 * new Conflict(409, "session_busy", "a cell is running").code; // "session_busy"
 * ```
 */
export class Conflict extends AgentOSError {}

/**
 * 400 or 422: the request is wrong (`validation_failed` with `issues`, `invalid_policy`, ...).
 *
 * @example
 * ```ts
 * import { BadRequest } from "./mod.ts";
 * new BadRequest(400, "validation_failed", "code: required").status; // 400
 * ```
 */
export class BadRequest extends AgentOSError {}

/**
 * 429: over a rate or quota; `retryAfter` is the server's `Retry-After`, seconds.
 *
 * @example
 * ```ts
 * import { RateLimited } from "./mod.ts";
 * const err = new RateLimited(429, "rate_limited", "slow down", undefined, 2);
 * err.retryAfter; // 2
 * ```
 */
export class RateLimited extends AgentOSError {
  /** Seconds the server asks to wait before trying again (undefined when it did not say). */
  readonly retryAfter?: number;

  /** @param retryAfter seconds, from `Retry-After` */
  constructor(status: number, code: string, message: string, body?: ErrorBody, retryAfter?: number) {
    super(status, code, message, body);
    this.retryAfter = retryAfter;
  }
}

/**
 * 5xx: the server failed or is out of a resource (`storage_full`, `cells_busy`); `retryAfter` as for 429.
 *
 * @example
 * ```ts
 * import { ServerError } from "./mod.ts";
 * new ServerError(503, "storage_full", "disk full").status; // 503
 * ```
 */
export class ServerError extends AgentOSError {
  /** Seconds the server asks to wait before trying again, when it said. */
  readonly retryAfter?: number;

  /** @param retryAfter seconds, from `Retry-After` */
  constructor(status: number, code: string, message: string, body?: ErrorBody, retryAfter?: number) {
    super(status, code, message, body);
    this.retryAfter = retryAfter;
  }
}

/**
 * No answer: the server is unreachable, the connection dropped, or the
 * answer was not the API's. `status` is 0, `code` is `connection_failed`
 * (or `bad_response` for an answer that is not the API's JSON).
 *
 * @example
 * ```ts
 * import { AgentOS, ConnectionError } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:9", apiKey: "k" });
 * await os.agents.list().catch((err) => err instanceof ConnectionError); // true
 * ```
 */
export class ConnectionError extends AgentOSError {}

/**
 * The typed error for an error answer.
 *
 * @param status the HTTP status
 * @param body the parsed body (anything: a non-API body gets a `bad_response` code)
 * @param retryAfter the `Retry-After` header, if any
 * @returns the error to throw
 * @example
 * ```ts
 * import { errorFor, NotFound } from "./errors.ts";
 * errorFor(404, { error: { code: "not_found", message: "no agent" } }) instanceof NotFound; // true
 * ```
 */
export function errorFor(status: number, body: unknown, retryAfter?: string | null): AgentOSError {
  const api = isErrorBody(body) ? body : undefined;
  const code = api?.error.code ?? "bad_response";
  const message = api?.error.message ?? `HTTP ${status} without an API error body`;
  const seconds = retryAfter != null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (status === 401) return new Unauthorized(status, code, message, api);
  if (status === 403) return new Forbidden(status, code, message, api);
  if (status === 404) return new NotFound(status, code, message, api);
  if (status === 409) return new Conflict(status, code, message, api);
  if (status === 429) return new RateLimited(status, code, message, api, seconds);
  if (status === 400 || status === 422) return new BadRequest(status, code, message, api);
  if (status >= 500) return new ServerError(status, code, message, api, seconds);
  return new AgentOSError(status, code, message, api);
}

function isErrorBody(body: unknown): body is ErrorBody {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e === "object" && e !== null && typeof e.code === "string" && typeof e.message === "string";
}
