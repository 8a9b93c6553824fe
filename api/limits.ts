/**
 * Every limit of the HTTP edge, named with its unit last, in one place:
 * connections (api/edge/gate.ts), request rate (api/edge/rate.ts), bodies
 * and SSE streams (api/app.ts); and the bounds of what the API holds while
 * its store fails (api/store_errors.ts, api/audit_log.ts,
 * api/pending_records.ts). Each states its default and what happens
 * past it. An operator changes them through `ServerOptions.limits` (a few
 * also through environment variables, see main.ts).
 *
 * File descriptors: every admitted connection holds `fdsPerConnection`
 * descriptors, so the supervisor needs an fd limit of at least
 * `connectionsMax * fdsPerConnection + fdReserveCount` (4,096 with the
 * defaults; Deno raises the soft limit to the hard one at start). Past the
 * fd limit the gate refuses new connections and keeps serving the open
 * ones; it never crashes.
 *
 * Relations between limits are asserted at load and for every override.
 *
 * @module
 */

/**
 * Largest request body, bytes. Past it: 413 `payload_too_large` (from the
 * `Content-Length` header, before anything is read) and the request is
 * charged to its rate bucket as a rejected body.
 * @default 2 MiB
 */
export const bodyBytesMax = 2 * 1024 * 1024;

/** Descriptors one admitted connection holds: the client socket and both ends of the internal unix socket. */
export const fdsPerConnection = 3;
/** Descriptors kept for everything but client connections (cells' stdio, SQLite, the listeners, DENO_DIR). */
export const fdReserveCount = 1024;
/** Largest request head (request line + headers), bytes. Past it: 431 and the connection is closed. */
export const headersBytesMax = 32 * 1024;
/** Back-off after the first failed `accept()` (EMFILE, ENFILE, ...), ms; doubles per failure. */
export const acceptBackoffMsMin = 10;
/** Longest back-off between failed `accept()`s, ms. */
export const acceptBackoffMsMax = 1000;
/** Longest wait before a dead internal HTTP server is started again, ms (doubling from `acceptBackoffMsMin`). */
export const innerRestartMsMax = 1000;
/** Bytes the gate reads from a client at once (heads, small bodies). */
export const clientReadBytes = 8 * 1024;
/** Bytes the gate reads from a client at once inside a body (fewer reads and writes per byte). */
export const bodyReadBytes = 64 * 1024;
/** Bytes the gate reads from the internal server at once. */
export const serverReadBytes = 16 * 1024;
/** Longest a refusal's write may take before the socket is closed anyway, ms. */
export const refuseWriteMsMax = 1000;
/** Shortest and longest interval of the gate's deadline sweep (¼ of the shortest deadline, clamped), ms. */
export const sweepMsMin = 10;
/** See {@linkcode sweepMsMin}. */
export const sweepMsMax = 1000;
/** Quiet time after the last descriptor error that ends an episode (and logs its end), ms. */
export const fdEpisodeQuietMs = 1000;
/** Share of the open connections the learned cap keeps when descriptors run out (the rest are shed if unserved). */
export const fdCapShrinkRatio = 0.75;
/** The learned cap never goes below this many connections. */
export const fdCapConnectionsMin = 8;
/** Largest chunk of a chunked request body the framer accepts (past it: 400), bytes. */
export const chunkSizeBytesMax = 2 ** 40;
/** Longest chunk-size line (with extensions) of a chunked body (past it: 400), bytes. */
export const bodyChunkLineBytesMax = 4096;
/** Longest unix socket path (sun_path is 108 bytes with its NUL); a longer data dir fails at start, bytes. */
export const socketPathBytesMax = 107;
/** Most rate buckets (keys + client addresses) held; past it the least recently used is dropped (it refills as new). */
export const rateBucketsMax = 65_536;
/** Body bytes that cost one more rate token (a 2 MiB body costs 33 tokens). */
export const bodyTokenBytes = 64 * 1024;

/** The limits an operator may set (`ServerOptions.limits`). */
export interface EdgeLimits {
  /**
   * Open client connections, all addresses. Past it a new connection is
   * answered 503 `server_busy` and closed.
   * @default 1024
   */
  connectionsMax: number;
  /**
   * Open client connections from one address (IPv4, or IPv6 as written).
   * Past it a new connection is answered 429 `too_many_connections` and
   * closed; the address's open connections are untouched. Behind a load
   * balancer, raise it to `connectionsMax`.
   * @default 64
   */
  connectionsPerAddressMax: number;
  /**
   * From accept (or the first byte of a keep-alive connection's next
   * request) until the request head is complete, ms. Past it: 408
   * `header_timeout`, closed. Incomplete heads never reach the HTTP server.
   * @default 10_000
   */
  headersMsMax: number;
  /**
   * From the end of the head until the last byte of the body
   * (`Content-Length` or chunked), ms. Past it the connection is closed.
   * @default 30_000
   */
  bodyMsMax: number;
  /**
   * No byte either way while no request is waiting for its answer, ms
   * (between keep-alive requests; a silent stream). Past it: closed. A
   * request whose answer has not started (a long `wait`) is never idle.
   * Must exceed `sseHeartbeatMs`.
   * @default 60_000
   */
  idleMsMax: number;
  /**
   * Sustained requests per second of one API key (token bucket). A request
   * costs one token plus one per `bodyTokenBytes` of declared body, taken
   * before the body is read; a rejected body (too large, too deep, invalid
   * JSON) costs `rejectedBodyTokens` more. Empty bucket: 429 `rate_limited`
   * with `Retry-After`.
   * @default 1000
   */
  requestsPerSecPerKey: number;
  /** Bucket size of one API key, tokens. @default 3000 */
  requestBurstPerKey: number;
  /**
   * Sustained failed authentications per second of one client address
   * (missing, malformed or unknown key). Empty bucket: 429 `rate_limited`
   * instead of 401.
   * @default 50
   */
  requestsPerSecPerAddress: number;
  /** Bucket size of one client address, tokens. @default 200 */
  requestBurstPerAddress: number;
  /** Extra tokens a rejected body costs. @default 4 */
  rejectedBodyTokens: number;
  /** Open SSE streams on the whole server. Past it: 429 `too_many_streams`. @default 512 */
  sseStreamsMax: number;
  /** Open SSE streams of one tenant (all its keys). Past it: 429 `too_many_streams`. @default 32 */
  sseStreamsPerTenantMax: number;
  /** Open SSE streams of one API key. Past it: 429 `too_many_streams`. @default 16 */
  sseStreamsPerKeyMax: number;
  /** Longest silence on an SSE stream before a `: keepalive` comment, ms (a timer; events never cause one). @default 15_000 */
  sseHeartbeatMs: number;
  /**
   * Quiet time after the last descriptor error (EMFILE) before the cap
   * learned then grows again (by ⅛ per sweep), ms. @default 5000
   */
  fdCapGrowQuietMs: number;
}

/** The defaults of {@linkcode EdgeLimits}. */
export const edgeLimitsDefault: Readonly<EdgeLimits> = Object.freeze({
  connectionsMax: 1024,
  connectionsPerAddressMax: 64,
  headersMsMax: 10_000,
  bodyMsMax: 30_000,
  idleMsMax: 60_000,
  requestsPerSecPerKey: 1000,
  requestBurstPerKey: 3000,
  requestsPerSecPerAddress: 50,
  requestBurstPerAddress: 200,
  rejectedBodyTokens: 4,
  sseStreamsMax: 512,
  sseStreamsPerTenantMax: 32,
  sseStreamsPerKeyMax: 16,
  sseHeartbeatMs: 15_000,
  fdCapGrowQuietMs: 5000,
});

/** Heartbeat interval of SSE streams with the default limits, ms. */
export const sseHeartbeatMs: number = edgeLimitsDefault.sseHeartbeatMs;

/**
 * The defaults with `overrides` applied, checked.
 *
 * @param overrides limits to change (undefined fields keep their default)
 * @returns the complete, checked limits
 * @throws {RangeError} when a limit is not a positive integer or the relations between them do not hold
 * @example
 * ```ts
 * const limits = edgeLimits({ connectionsMax: 64, connectionsPerAddressMax: 16 });
 * limits.headersMsMax; // 10_000
 * ```
 */
export function edgeLimits(overrides: Partial<EdgeLimits> = {}): EdgeLimits {
  const limits: EdgeLimits = { ...edgeLimitsDefault };
  for (const key of Object.keys(edgeLimitsDefault) as (keyof EdgeLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < (key === "rejectedBodyTokens" ? 0 : 1)) {
      throw new RangeError(`limits: ${key} must be a positive integer, got ${value}`);
    }
    limits[key] = value;
  }
  assertRelations(limits);
  return limits;
}

function assertRelations(l: EdgeLimits): void {
  const rule = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`limits: ${what}`);
  };
  rule(l.connectionsPerAddressMax <= l.connectionsMax, "connectionsPerAddressMax above connectionsMax");
  rule(l.sseStreamsPerKeyMax <= l.sseStreamsPerTenantMax, "sseStreamsPerKeyMax above sseStreamsPerTenantMax");
  rule(l.sseStreamsPerTenantMax <= l.sseStreamsMax, "sseStreamsPerTenantMax above sseStreamsMax");
  rule(l.idleMsMax > l.sseHeartbeatMs, "idleMsMax must exceed sseHeartbeatMs (idle streams would be cut)");
  rule(l.requestBurstPerKey >= l.requestsPerSecPerKey, "requestBurstPerKey below one second of requestsPerSecPerKey");
  rule(l.requestBurstPerAddress >= l.requestsPerSecPerAddress, "requestBurstPerAddress below one second's worth");
}

assertRelations(edgeLimitsDefault);
if (acceptBackoffMsMin > acceptBackoffMsMax) throw new RangeError("limits: accept back-off min above max");
if (headersBytesMax >= bodyBytesMax) throw new RangeError("limits: a head must be smaller than a body");

/**
 * Audit rows the buffer keeps while the store refuses them (denials, quota
 * refusals, `denial.suppressed`; rows an answer acknowledges are never
 * buffered). Past it the oldest buffered row is dropped and counted
 * (`agentos_audit_rows_dropped_total`). Each row is under 2 KiB.
 */
export const auditBufferRowsMax = 16_384;
/**
 * Final agent records kept in memory when the store refused them (the agent
 * ran; its answer was 503 with the record marked not durable), retried every
 * `storeRetryMs`. Past it the oldest is dropped and counted
 * (`agentos_agent_records_lost_total`); its durable record stays `Running`
 * and the next start marks it `crash`. Each holds at most 2 × 64 Ki
 * characters of output.
 */
export const agentRecordsPendingMax = 256;
/** How often refused final agent records are written again, ms. */
export const storeRetryMs = 1000;
/** Store errors of one code are logged at most once per this interval, with the count since the last line, ms. */
export const storeErrorLogMs = 10_000;
