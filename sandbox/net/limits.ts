/**
 * Limits of `net.fetch`, named with their unit last. `NetDeps` may lower or
 * raise the per-call ceilings marked "default"; the rest are fixed bounds
 * of the HTTP/1.1 parser.
 *
 * @module
 */

/** Longest URL an agent may pass, in UTF-16 code units. */
export const urlCharsMax = 8 * 1024;
/** Most request headers an agent may set. */
export const requestHeadersMax = 64;
/** Longest request header name, in characters. */
export const requestHeaderNameCharsMax = 256;
/** Longest request header value, in characters. */
export const requestHeaderValueCharsMax = 8 * 1024;
/** Most bytes of all request header names and values together. */
export const requestHeaderBytesMax = 32 * 1024;
/** Default ceiling of a request body, bytes. */
export const requestBytesMaxDefault = 1024 * 1024;
/** Default ceiling of a response body, bytes (base64 of it must fit a completion frame). */
export const responseBytesMaxDefault = 4 * 1024 * 1024;
/** Time bound of a call when the agent names none, ms (whole call: DNS, connect, TLS, every redirect). */
export const timeoutMsDefault = 10_000;
/** Default ceiling of an agent's `timeoutMs`, ms (larger values are clamped). */
export const timeoutMsMaxDefault = 30_000;
/** Default ceiling of redirects followed in one call. */
export const redirectsMaxDefault = 5;
/** Longest response status or header line, bytes (excluding CRLF). */
export const responseLineBytesMax = 16 * 1024;
/** Most bytes of a response head (status line and every header line). */
export const responseHeadBytesMax = 64 * 1024;
/** Most response header lines. */
export const responseHeadersMax = 256;
/** Most interim (1xx) responses skipped before the final one. */
export const interimResponsesMax = 8;
/** Most addresses one DNS answer may hold before the lookup is refused. */
export const resolvedAddressesMax = 64;
/** Longest `statusText` returned, characters. */
export const statusTextCharsMax = 512;
/** Size of the connection read buffer, bytes (must exceed `responseLineBytesMax` + 2). */
export const readBufferBytes = 32 * 1024;
/** Default ceiling of one agent's `net.fetch` calls in flight at once (more answer `EAGAIN`). */
export const fetchesPerAgentMaxDefault = 8;
/** Default ceiling of all agents' `net.fetch` calls in flight at once (more answer `EAGAIN`). */
export const fetchesMaxDefault = 256;
/**
 * Default ceiling of one tenant's `net.fetch` calls in flight at once, all
 * its agents together (more answer `EAGAIN`): a quarter of the server-wide
 * slots, so no tenant can take all of them.
 */
export const fetchesPerTenantMaxDefault = fetchesMaxDefault / 4;
/** Longest chunk-size line (size and extensions), bytes. */
export const chunkLineBytesMax = 1024;

// Relations the defaults rely on: an agent fits in its tenant's share, and a share leaves room for others.
if (
  !(fetchesPerAgentMaxDefault <= fetchesPerTenantMaxDefault && fetchesPerTenantMaxDefault < fetchesMaxDefault) ||
  !Number.isInteger(fetchesPerTenantMaxDefault)
) {
  throw new Error("net limits: need fetchesPerAgentMaxDefault <= fetchesPerTenantMaxDefault < fetchesMaxDefault");
}
