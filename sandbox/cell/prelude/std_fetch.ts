/**
 * Prelude part: the global `fetch` over the `net.fetch` syscall, so agent
 * code written for Deno or a browser works unchanged, with every check of
 * the kernel (capability, policy, egress classification, events) as for
 * `sys.net.fetch`.
 *
 * - Input: `string | URL | Request`; `init.method`, `headers`, `body`,
 *   `signal`, `redirect` (`follow`, `manual`, `error`). Bodies are whatever
 *   a `Request` accepts (string, `BufferSource`, `Blob`, `URLSearchParams`,
 *   `FormData`, `ReadableStream`), read whole here; a stream longer than a
 *   frame can carry is refused like an oversize call (`E2BIG`), and the
 *   kernel's own request-body limit applies after that.
 * - Headers the kernel sets itself (framing, hop-by-hop, `accept-encoding`)
 *   are dropped, as a browser drops forbidden request headers.
 * - Output: a real `Response` (status, statusText, `Headers`, body bytes,
 *   `url`, `redirected`).
 * - A failed call rejects with a `TypeError` (what `fetch` does for a
 *   network error) whose message is the kernel's, whose `cause` is the
 *   `SysError` and whose `code` is its errno; an aborted `signal` rejects
 *   with its reason (an `AbortError` `DOMException` by default).
 * - Non-standard: `init.timeoutMs` is passed to the kernel (default and
 *   ceiling: `net.fetch`'s `timeoutMsDefault` / `timeoutMsMaxDefault`).
 *
 * Shipped as source: these functions must not close over anything in this
 * module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";

type SysErrorClass = PreludeChannel["SysError"];

/**
 * Request header names the global `fetch` drops (lower-case): every name
 * of the kernel's `reservedRequestHeaders` (a test keeps the two in step),
 * plus `accept-encoding` (the kernel asks for `identity`; a compressed
 * body would reach the agent undecoded).
 */
export function preludeFetchDropped(): string[] {
  return [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "http2-settings",
    "accept-encoding",
  ];
}

/** Read a body stream whole, refusing (`E2BIG`) once it holds more than `bytesMax`. */
export function preludeFetchReadBody(
  SysError: SysErrorClass,
  bytesMax: number,
): (body: ReadableStream<Uint8Array> | null) => Promise<Uint8Array | null> {
  return async (body) => {
    if (body === null) return null;
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > bytesMax) {
        void reader.cancel().catch(() => {});
        throw new SysError("E2BIG", `net.fetch: request body over ${bytesMax} bytes`);
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  };
}

/** The kernel's answer as a `Response` (statuses a `Response` cannot hold are kept as own properties). */
export function preludeFetchResponse(): (
  r: { status: number; statusText: string; headers: Record<string, string>; url: string; redirects: number },
  bytes: Uint8Array,
  method: string,
) => Response {
  const nullBody = new Set([101, 103, 204, 205, 304]);
  const define = (o: object, key: string, value: unknown) => Object.defineProperty(o, key, { value, enumerable: true });
  return (r, bytes, method) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(r.headers)) {
      try {
        headers.append(name, value);
      } catch { /* a value a Headers cannot hold: left out */ }
    }
    const standard = r.status >= 200 && r.status <= 599;
    const body = !standard || nullBody.has(r.status) || method === "HEAD" ? null : bytes as BodyInit;
    const status = standard ? r.status : 200;
    let response: Response;
    try {
      response = new Response(body, { status, statusText: r.statusText, headers });
    } catch {
      response = new Response(body, { status, headers });
    }
    if (!standard) {
      define(response, "status", r.status);
      define(response, "ok", false);
    }
    define(response, "url", r.url);
    define(response, "redirected", r.redirects > 0);
    return response;
  };
}

/** Install the global `fetch` over `net.fetch`; `frameBytesMax` bounds a streamed body. */
export function preludeFetch(ch: PreludeChannel, frameBytesMax: number): void {
  const dropped = new Set(preludeFetchDropped());
  // The largest body whose base64 still fits one frame.
  const readBody = preludeFetchReadBody(ch.SysError, Math.floor(frameBytesMax / 4) * 3);
  const toResponse = preludeFetchResponse();
  const SysError = ch.SysError;
  const toTypeError = (e: unknown) => {
    if (!(e instanceof SysError)) return e;
    return Object.assign(new TypeError(e.message, { cause: e }), { code: e.code });
  };
  const abortReason = (signal: AbortSignal) =>
    signal.reason ?? new DOMException("The signal has been aborted", "AbortError");
  const untilAborted = <T>(pending: Promise<T>, signal: AbortSignal): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  type Init = RequestInit & { timeoutMs?: number };
  const fetch = async function fetch(input: string | URL | Request, init: Init = {}): Promise<Response> {
    const streamed = init.body instanceof ReadableStream;
    const request = new Request(input, streamed ? { ...init, duplex: "half" } as RequestInit : init);
    const signal = request.signal;
    if (signal.aborted) throw abortReason(signal);
    const headers: Record<string, string> = {};
    for (const [name, value] of request.headers) if (!dropped.has(name)) headers[name] = value;
    const args: Record<string, unknown> = { url: request.url, method: request.method, headers };
    if (request.redirect !== "follow") args.redirect = "manual";
    if (typeof init.timeoutMs === "number") args.timeoutMs = init.timeoutMs;
    try {
      const body = await untilAborted(readBody(request.body), signal);
      if (body !== null) args.bodyBase64 = body.toBase64();
      const r = await untilAborted(ch.call("net.fetch", args), signal) as Parameters<typeof toResponse>[0] & {
        bodyBase64: string;
      };
      if (request.redirect === "error" && r.status >= 300 && r.status < 400 && "location" in r.headers) {
        throw new TypeError(`fetch: ${request.url} redirected (status ${r.status}) and redirect is "error"`);
      }
      return toResponse(r, Uint8Array.fromBase64(r.bodyBase64), request.method);
    } catch (e) {
      throw toTypeError(e);
    }
  };
  Object.defineProperty(globalThis, "fetch", { value: fetch, writable: false, configurable: false });
}
