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

// ---------------------------------------------------------------------------
// The audit log's denial gate (api/audit_denials.ts). A denied syscall gets an
// audit row of its own while its agent, its tenant and the server are under
// the caps below; every other one is counted, exactly, in its tenant's next
// `denial.suppressed` row.

/** How often buffered audit records are flushed, ms; also the length of a denial-audit window. */
export const auditFlushMs = 200;
/** Length of a denial-audit minute, ms. */
export const auditMinuteMs = 60_000;
/** Denial rows one agent may write per `auditFlushMs` window; the rest are summarised. */
export const auditDenialsPerAgentPerFlushMax = 64;
/** Denial rows one tenant (all its agents together) may write per `auditFlushMs` window. */
export const auditDenialsPerTenantPerFlushMax = 256;
/**
 * Denial rows one tenant may write per minute: 20 rows/s on average. With one
 * `denial.suppressed` row per `auditFlushMs` (5/s) that makes
 * `auditDenialRowsPerTenantPerSecMax` = 25 rows/s per tenant at most,
 * whatever its agents do.
 */
export const auditDenialsPerTenantPerMinuteMax = 1200;
/**
 * Denial rows all tenants together may write per `auditFlushMs` window: two
 * flooding tenants' worth, so one tenant's flood never takes another
 * tenant's rows, and only a third flooding tenant shares.
 */
export const auditDenialsPerServerPerFlushMax = 2 * auditDenialsPerTenantPerFlushMax;
/** Denial rows all tenants together may write per minute (40 rows/s on average): two flooding tenants' worth. */
export const auditDenialsPerServerPerMinuteMax = 2 * auditDenialsPerTenantPerMinuteMax;
/**
 * `denial.suppressed` rows per flush, all tenants together. A tenant whose
 * summary is due past it keeps counting and is written at a later flush
 * (the tenants whose last summary is oldest go first), so its count stays
 * exact.
 */
export const auditSummariesPerFlushMax = 8;
/** Most audit rows per second one tenant's denials add, on average: denial rows plus summary rows. */
export const auditDenialRowsPerTenantPerSecMax: number = auditDenialsPerTenantPerMinuteMax * 1000 / auditMinuteMs +
  1000 / auditFlushMs;
/** Most audit rows per second all tenants' denials add, on average: denial rows plus summary rows. */
export const auditDenialRowsPerServerPerSecMax: number = auditDenialsPerServerPerMinuteMax * 1000 / auditMinuteMs +
  auditSummariesPerFlushMax * 1000 / auditFlushMs;
/** Agents named (with their counts) in one `denial.suppressed` row; the others are counted in `agentsOmitted`. */
export const auditSuppressedAgentsMax = 16;
/** Characters of a denial's message kept in its audit row. */
export const auditDenialMessageCharsMax = 256;
/**
 * Upper bound on one denial or summary row, bytes: the message (≤ 256
 * characters, up to 4 bytes each in UTF-8), a call name (≤ 64), up to 16
 * agent ids with counts, timestamps, ids and JSON keys.
 */
export const auditDenialRowBytesMax = 2048;
/** Most bytes per second all tenants' denials add to the audit log, on average (160 KiB/s). */
export const auditDenialBytesPerServerPerSecMax: number = auditDenialRowsPerServerPerSecMax * auditDenialRowBytesMax;
/**
 * Tenants the gate keeps state for at once. Only tenants with a denial in the
 * last minute are held (the rest are dropped on flush); past this the oldest
 * entry is dropped (counted in `tenantsEvicted`), which restarts that
 * tenant's minute. Tenants are made by an admin, never by an agent.
 */
export const auditTenantsTrackedMax = 65_536;

if (auditDenialsPerAgentPerFlushMax > auditDenialsPerTenantPerFlushMax) {
  throw new RangeError("limits: an agent's denial rows per window above its tenant's");
}
if (auditDenialsPerTenantPerFlushMax > auditDenialsPerServerPerFlushMax) {
  throw new RangeError("limits: a tenant's denial rows per window above the server's");
}
if (auditDenialsPerTenantPerMinuteMax > auditDenialsPerServerPerMinuteMax) {
  throw new RangeError("limits: a tenant's denial rows per minute above the server's");
}
if (auditDenialsPerTenantPerFlushMax > auditDenialsPerTenantPerMinuteMax) {
  throw new RangeError("limits: a window's denial rows above the minute's");
}
if (auditFlushMs >= auditMinuteMs) throw new RangeError("limits: denial windows must be shorter than minutes");

// ---------------------------------------------------------------------------
// Retention (api/retention.ts): what the SQLite file keeps. Old or excess
// agent records and audit rows are deleted in small batches by a timer, each
// batch one transaction that also writes a checkpoint audit row saying what
// went. Records of agents that have not ended are never deleted.

/**
 * Age past which ended agents' records and audit rows are deleted, days
 * (`AGENTOS_RETENTION_DAYS`; 0 keeps them whatever their age).
 * @default 30
 */
export const retentionDaysDefault = 30;
/**
 * Agent records kept; past it the records of the agents that ended first are
 * deleted (`AGENTOS_AGENT_RECORDS_MAX`; 0: no count limit). A record is
 * ~1 KiB plus the output it keeps (at most 2 × 64 Ki characters).
 * @default 100_000
 */
export const agentRecordsMaxDefault = 100_000;
/**
 * Audit rows kept; past it the oldest are deleted (`AGENTOS_AUDIT_ROWS_MAX`;
 * 0: no count limit). A row is ~150 bytes, at most ~2 KiB.
 * @default 1_000_000
 */
export const auditRowsMaxDefault = 1_000_000;
/** Time between two retention runs, ms (the first runs at start). @default 60_000 */
export const retentionIntervalMsDefault = 60_000;
/** Most rows one retention batch (one transaction) deletes. */
export const retentionBatchRowsMax = 1000;
/** Fewest rows a retention batch deletes when batches run slow (it halves down to this). */
export const retentionBatchRowsMin = 16;
/** A retention batch slower than this halves the next one's rows; one under a quarter of it doubles them, ms. */
export const retentionBatchMsMax = 20;
/**
 * Trace events one retention batch deletes with its records: a batch stops
 * after the record whose events pass it (an agent stores at most
 * `traceEventsPerAgentMax` + 2).
 * @default 20_000
 */
export const retentionBatchTraceEventsMax = 20_000;
/** Most batches one retention run takes (the next run goes on), so a run never loops without end. */
export const retentionRunBatchesMax = 10_000;
/** Free pages `PRAGMA incremental_vacuum` gives back to the file system per step (1 MiB at 4 KiB pages). */
export const retentionVacuumPagesPerStep = 256;

if (retentionBatchRowsMin > retentionBatchRowsMax) throw new RangeError("limits: retention batch min above max");
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

/**
 * Largest file one upload (`PUT .../files/<path>`) may carry, bytes. Uploads
 * are exempt from `bodyBytesMax` and streamed to disk (memory stays bounded
 * by the gate's read size); past this: 413 `file_too_large` (from
 * `Content-Length` before anything is read, or once the streamed bytes pass
 * it), and nothing is left behind.
 * @default 64 MiB
 */
export const fileUploadBytesMax = 64 * 1024 * 1024;
/** Bytes a download reads from disk at once (its memory per response). @default 64 KiB */
export const fileDownloadChunkBytes = 64 * 1024;
/** Volumes one tenant may hold; past it `POST /v1/volumes` is 409 `quota_volumes`. @default 64 */
export const volumesPerTenantMax = 64;
/** A volume's byte quota when `quotaBytes` is not given (contents + 4 KiB per directory). @default 256 MiB */
export const volumeQuotaBytesDefault = 256 * 1024 * 1024;
/** Largest `quotaBytes` a volume may ask for; above: 400. @default 16 GiB */
export const volumeQuotaBytesMax = 16 * 1024 * 1024 * 1024;
/** A volume's file quota (files and directories) when `quotaFiles` is not given. @default 10,000 */
export const volumeQuotaFilesDefault = 10_000;
/** Largest `quotaFiles` a volume may ask for; above: 400. @default 1,000,000 */
export const volumeQuotaFilesMax = 1_000_000;
if (fileUploadBytesMax <= bodyBytesMax) throw new RangeError("limits: an upload may be larger than a JSON body");
if (volumeQuotaBytesDefault > volumeQuotaBytesMax || volumeQuotaFilesDefault > volumeQuotaFilesMax) {
  throw new RangeError("limits: volume quota defaults within their maxima");
}

/**
 * Sessions (`POST /v1/sessions`) one tenant may hold open at once; past it
 * 429 `quota_sessions`. Each holds an agent (and its slot in the tenant's
 * agent and memory quotas) while open.
 * @default 32
 */
export const sessionsPerTenantMax = 32;
/** A session closes (reason `idle`) after this long without a cell, unless `idleTimeoutMs` says otherwise. @default 10 min */
export const sessionIdleMsDefault = 10 * 60 * 1000;
/** Shortest `idleTimeoutMs`, ms. @default 1000 */
export const sessionIdleMsMin = 1000;
/** A session closes (reason `ttl`) this long after it opened, unless `ttlMs` (or a `PATCH`) says otherwise. @default 1 h */
export const sessionTtlMsDefault = 60 * 60 * 1000;
/** Longest `ttlMs`, also after a `PATCH` (its agent's `wallMs` is this, within the tenant's ceiling). @default 24 h */
export const sessionTtlMsMax = 24 * 60 * 60 * 1000;
/** A cell's time (wall and CPU) when `exec` gives no `timeoutMs`. @default 30 s */
export const cellTimeoutMsDefault = 30_000;
/** Longest `timeoutMs` of one cell. @default 10 min */
export const cellTimeoutMsMax = 10 * 60 * 1000;
/** A session's total CPU when its `limits` give no `cpuMs` (within the tenant's ceiling). @default 10 min */
export const sessionCpuMsDefault = 10 * 60 * 1000;
/** Labels on one session (keys ≤ 64 characters, values ≤ 256). @default 16 */
export const sessionLabelsMax = 16;
/** Ended sessions' records a tenant keeps (the oldest are deleted past it). @default 1000 */
export const sessionRecordsPerTenantMax = 1000;

// ---------------------------------------------------------------------------
// Traces (api/traces.ts): every agent's events, stored per agent in the
// SQLite file, in batches, deleted with the agent's record by retention.

/**
 * Events stored per agent (`AGENTOS_TRACE_EVENTS_MAX`; 0 stores none). Past
 * it (or past `traceCharsPerAgentMax`) the agent's further events are
 * dropped and counted in one `truncated` marker event (at the seq of the
 * first event dropped); its `limit` and `exit` events are always kept. The
 * live stream still sees every event.
 * @default 10_000
 */
export const traceEventsPerAgentMaxDefault = 10_000;
/**
 * Characters of event JSON stored per agent (an event is ~250; an output
 * event holds its text): with `traceEventsPerAgentMax`, the most one agent
 * adds to the database beside its record. Past it: as past
 * `traceEventsPerAgentMax`.
 * @default 4 Mi
 */
export const traceCharsPerAgentMax = 4 * 1024 * 1024;
/** How often buffered trace events are written (one transaction for all agents), ms. @default 100 */
export const traceFlushMs = 100;
/**
 * Events buffered for all agents while not yet written (the store refuses,
 * or between two flushes). Past it an agent's further events are dropped
 * and counted in its `truncated` marker (`storage`), except its `limit` and
 * `exit` events. Counted in `agentos_trace_events_dropped_total{reason}`.
 * @default 65_536 (the ring's size)
 */
export const traceEventsBufferedMax = 65_536;
/** Characters of event JSON buffered for all agents (see `traceEventsBufferedMax`). @default 64 Mi */
export const traceBufferedCharsMax = 64 * 1024 * 1024;
/**
 * Event ids reserved ahead in the store: a restarted server starts its ids
 * above the last reservation, so ids never repeat (they may jump by up to
 * this much across a restart). A flush reserves the next block once the ids
 * handed out pass half of it.
 * @default 1_048_576
 */
export const traceSeqReserveBlock = 1_048_576;
/** Trace rows one page of a replay reads from the store (the stream comes back for more). @default 1024 */
export const tracePageEventsMax = 1024;

if (traceEventsPerAgentMaxDefault > traceEventsBufferedMax) {
  throw new RangeError("limits: one agent's stored trace above what may be buffered for all");
}
if (traceCharsPerAgentMax > traceBufferedCharsMax) {
  throw new RangeError("limits: one agent's trace characters above what may be buffered for all");
}

/**
 * Largest file the MCP tools and resources hand back whole (`read_file`,
 * `resources/read`), bytes; a bigger one is refused with the files API's
 * route to download it (`Range`). @default 1 MiB
 */
export const mcpFileBytesMax = 1024 * 1024;
/** Files one MCP `resources/list` answer names (of every open session of the tenant, breadth first). @default 200 */
export const mcpResourcesListMax = 200;
/** Live (not revoked) API keys one tenant may hold. Past it: 409 `too_many_keys` (revoke one first). */
export const apiKeysPerTenantMax = 20;
/** Longest `expiresInSec` and `overlapSec` of a new key, s. @default 10 years */
export const apiKeyLifetimeSecMax = 10 * 366 * 24 * 3600;
/** How long an expired key is kept (answering `key_expired`) before a new key of its tenant revokes it, s. @default 1 day */
export const apiKeyExpiredKeptSec = 24 * 3600;
/** A key's `lastUsedAt` is written at most this often per key, ms (a request is not a write). */
export const apiKeyTouchMs = 60_000;

// Webhooks (api/webhooks/): registrations and their delivery log. The queue's bounds are options
// (`ServerOptions.webhooks`, defaults `deliveryDefaults` in api/webhooks/queue.ts).

/** Longest webhook URL, characters. @default 2048 */
export const webhookUrlCharsMax = 2048;
/** Longest description, characters. @default 256 */
export const webhookDescriptionCharsMax = 256;
/** Endpoints one tenant may register; past it `POST /v1/webhooks` is 409 `quota_webhooks`. @default 16 */
export const webhooksPerTenantMax = 16;
/** Delivery-log rows kept per endpoint (the oldest go first). @default 1000 */
export const deliveryRowsPerWebhookMax = 1000;
/** Largest page of `GET /v1/webhooks/:id/deliveries`. @default 200 */
export const deliveriesPageMax = 200;
