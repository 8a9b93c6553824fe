/**
 * What every route does with a request: who is calling (authentication),
 * their rate (before any body is read), the body (JSON, depth-checked,
 * charged when rejected), zod validation, and the shape of an error.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { issueList } from "../lib/mod.ts";
import { JsonDepthError, parseJsonNullProto } from "../kernel/syscall/mod.ts";
import { peerHeader, type RateDecision, type RateLimiter, type StreamSlots } from "./edge/mod.ts";
import { bodyBytesMax, bodyTokenBytes, type EdgeLimits } from "./limits.ts";
import { ApiError, type Principal, type Service } from "./service.ts";

/** A request's rate bucket, for charges after the fact. */
export interface RateCharge {
  /** Charge the bucket `tokens` more. */
  charge(tokens: number): void;
  /** Body tokens already taken from the declared `Content-Length`. */
  bodyTokens: number;
  /** Extra tokens of a rejected body. */
  rejectedBodyTokens: number;
}

export type Env = { Variables: { principal: Principal; rate: RateCharge } };

/** The edge state the app keeps (for metrics). */
export interface AppEdge {
  keyRates: RateLimiter;
  addressRates: RateLimiter;
  streams: StreamSlots;
}

/**
 * Whether a request has a body (HTTP/1.1: a length above 0, or chunks).
 *
 * @example
 * ```ts
 * const body = hasBody(c) ? await parseBody(c, schema) : {};
 * ```
 */
export function hasBody(c: Context<Env>): boolean {
  const length = c.req.header("content-length");
  return (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
}

export async function parseBody<S extends z.ZodType>(c: Context<Env>, schema: S): Promise<z.output<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new ApiError(400, "bad_content_type", "content-type must be application/json");
  }
  const rate = c.get("rate");
  let text: string;
  try {
    text = await c.req.text();
  } catch (err) {
    rate.charge(rate.rejectedBodyTokens);
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, "invalid_json", "body could not be read");
  }
  // A body sent without Content-Length pays for its size now.
  const unpaid = Math.floor(text.length / bodyTokenBytes) - rate.bodyTokens;
  if (unpaid > 0) rate.charge(unpaid);
  let value: unknown;
  try {
    value = parseJsonNullProto(text);
  } catch (err) {
    rate.charge(rate.rejectedBodyTokens);
    if (err instanceof JsonDepthError) {
      throw new ApiError(400, "body_too_deep", `body nested deeper than ${err.depthMax} levels`);
    }
    throw new ApiError(400, "invalid_json", "body is not valid JSON");
  }
  return validate(schema, value);
}

/**
 * Authenticate, then take from the caller's rate bucket before anything
 * reads the body: per API key hash for a known key, per client address for
 * a missing, malformed or unknown one (charged only on failure).
 */
export function authenticateAndRate(service: Service, limits: EdgeLimits, edge: AppEdge): MiddlewareHandler<Env> {
  return async (c, next) => {
    let principal: Principal;
    try {
      principal = await service.authenticate(c.req.header("authorization"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        const peer = c.req.header(peerHeader) ?? "local";
        rateOrThrow(edge.addressRates.take(`a:${peer}`), "requestsPerSecPerAddress", edge.addressRates);
      }
      throw err;
    }
    const declared = Number(c.req.header("content-length") ?? 0);
    const bodyTokens = Number.isFinite(declared) && declared > 0
      ? Math.floor(Math.min(declared, bodyBytesMax + 1) / bodyTokenBytes)
      : 0;
    const bucket = `k:${principal.keyHash}`;
    rateOrThrow(edge.keyRates.take(bucket, 1 + bodyTokens), "requestsPerSecPerKey", edge.keyRates);
    c.set("principal", principal);
    c.set("rate", {
      charge: (tokens) => edge.keyRates.charge(bucket, tokens),
      bodyTokens,
      rejectedBodyTokens: limits.rejectedBodyTokens,
    });
    await next();
  };
}

function rateOrThrow(decision: RateDecision, cap: string, rates: RateLimiter): void {
  if (decision.ok) return;
  throw new ApiError(
    429,
    "rate_limited",
    `over ${cap} (${rates.ratePerSec}/s, burst ${rates.burst}); retry after ${decision.retryAfterSec} s`,
    { retryAfterSec: decision.retryAfterSec },
  );
}

/**
 * A request's query parameters, validated: an unknown one is a 400 naming it and those the route takes, a bad
 * value a 400 naming the parameter. A repeated parameter is checked by its first value here (a route that takes
 * several, like `label`, checks the others itself).
 *
 * @param c the request
 * @param schema the route's strict object schema (`api/queries.ts`)
 * @returns the parsed query
 * @throws {ApiError} 400 `validation_failed`
 * @example
 * ```ts
 * const q = parseQuery(c, agentListQuery);
 * ```
 */
export function parseQuery<S extends z.ZodObject>(c: Context<Env>, schema: S): z.output<S> {
  const query = c.req.query();
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(query).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    const takes = known.length === 0 ? "this route takes no query parameters" : `this route takes ${known.join(", ")}`;
    throw new ApiError(400, "validation_failed", `query parameter ${unknown} is unknown: ${takes}`, {
      issues: [{ path: [unknown], code: "unrecognized_keys", message: "unknown query parameter" }],
    });
  }
  return validate(schema, query, "query");
}

function validate<S extends z.ZodType>(schema: S, value: unknown, what = "body"): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = issueList(parsed.error);
    const first = issues[0];
    throw new ApiError(
      400,
      "validation_failed",
      first
        ? `${
          first.path.length > 0 ? `${what === "query" ? "query parameter " : ""}${first.path.join(".")}` : what
        }: ${first.message}`
        : "invalid",
      {
        issues,
      },
    );
  }
  return parsed.data;
}

/**
 * The answer of an error: `{error:{code, message, issues?}}` with its status
 * and `Retry-After`, plus `extra` top-level fields (e.g. the agent whose
 * record is not durable).
 */
export function errorResponse(c: Context, err: ApiError, extra: Record<string, unknown> = {}): Response {
  const headers: Record<string, string> = { ...err.headers };
  if (err.retryAfterSec !== undefined) headers["retry-after"] = String(err.retryAfterSec);
  // A big body refused unread is not drained: the connection closes after the answer.
  if (!c.req.raw.bodyUsed && Number(c.req.header("content-length") ?? 0) >= bodyTokenBytes) {
    headers["connection"] = "close";
  }
  const body = {
    error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) },
    ...extra,
  };
  return c.json(body, err.status, headers);
}
