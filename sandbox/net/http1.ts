/**
 * HTTP/1.1 over one already-checked connection: write one request
 * (`Connection: close`), read one response with strict, bounded parsing.
 *
 * @module
 */

import { type HeaderPair, tokenPattern } from "./headers.ts";
import {
  chunkLineBytesMax,
  interimResponsesMax,
  responseHeadBytesMax,
  responseHeadersMax,
  responseLineBytesMax,
  statusTextCharsMax,
} from "./limits.ts";
import { BodySink, type ByteReader, protocol, tooBig } from "./reader.ts";

/** The write half of a connection. */
export interface ByteDrain {
  write(p: Uint8Array): Promise<number>;
}

/** One request as it goes on the wire. */
export interface WireRequest {
  readonly method: string;
  /** origin-form target (path and query). */
  readonly path: string;
  readonly hostHeader: string;
  /** Agent headers, already checked. */
  readonly headers: readonly HeaderPair[];
  /** Body bytes, or `null` for none. */
  readonly body: Uint8Array | null;
}

/** A response head. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case names in arrival order. */
  readonly headers: readonly HeaderPair[];
}

/** Write every byte of `bytes`. */
async function writeAll(drain: ByteDrain, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await drain.write(bytes.subarray(at));
}

/**
 * Serialise and send `req`. Kernel-owned headers (`Host`, `Connection`,
 * `Content-Length`) are always ours; `User-Agent`, `Accept` and
 * `Accept-Encoding: identity` are defaults the agent may override.
 */
export async function writeRequest(drain: ByteDrain, req: WireRequest): Promise<void> {
  const has = (lower: string) => req.headers.some(([n]) => n.toLowerCase() === lower);
  let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${req.hostHeader}\r\n`;
  for (const [name, value] of req.headers) head += `${name}: ${value}\r\n`;
  if (!has("user-agent")) head += "User-Agent: agentos-net/1\r\n";
  if (!has("accept")) head += "Accept: */*\r\n";
  if (!has("accept-encoding")) head += "Accept-Encoding: identity\r\n";
  const sendsLength = req.body !== null || ["POST", "PUT", "PATCH"].includes(req.method);
  if (sendsLength) head += `Content-Length: ${req.body?.length ?? 0}\r\n`;
  head += "Connection: close\r\n\r\n";
  const headBytes = new TextEncoder().encode(head);
  if (req.body === null || req.body.length === 0) return await writeAll(drain, headBytes);
  const all = new Uint8Array(headBytes.length + req.body.length);
  all.set(headBytes);
  all.set(req.body, headBytes.length);
  await writeAll(drain, all);
}

const statusLinePattern = /^HTTP\/1\.[01] ([1-5][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const headerValuePattern = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Read a status line and its header block. */
async function readOneHead(reader: ByteReader): Promise<ResponseHead> {
  const statusLine = await reader.line();
  const m = statusLinePattern.exec(statusLine);
  if (m === null) protocol("bad status line");
  const headers: HeaderPair[] = [];
  let bytes = statusLine.length;
  for (;;) {
    const line = await reader.line(responseLineBytesMax);
    if (line === "") break;
    bytes += line.length + 2;
    if (bytes > responseHeadBytesMax) protocol("response head too large");
    if (headers.length >= responseHeadersMax) protocol("too many response headers");
    if (line[0] === " " || line[0] === "\t") protocol("folded header line");
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!tokenPattern.test(name)) protocol("bad header name");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!headerValuePattern.test(value)) protocol("bad header value");
    headers.push([name.toLowerCase(), value]);
  }
  return { status: Number(m[1]), statusText: (m[2] ?? "").slice(0, statusTextCharsMax), headers };
}

/**
 * Read the final response head, skipping interim 1xx responses.
 *
 * @throws {KernelError} `EIO` on any protocol violation
 */
export async function readHead(reader: ByteReader): Promise<ResponseHead> {
  for (let i = 0; i <= interimResponsesMax; i++) {
    const head = await readOneHead(reader);
    if (head.status >= 200) return head;
    if (head.status === 101) protocol("unexpected protocol switch");
  }
  return protocol("too many interim responses");
}

/** Values of header `lower`. */
export function headerValues(head: ResponseHead, lower: string): string[] {
  return head.headers.filter(([n]) => n === lower).map(([, v]) => v);
}

/**
 * Read the body that follows `head` (RFC 9112 §6.3), at most `limit` bytes.
 * Ambiguous framing (both `Transfer-Encoding` and `Content-Length`,
 * conflicting lengths, codings other than `chunked`) is refused.
 *
 * @throws {KernelError} `E2BIG` over `limit`, `EIO` on bad framing
 */
export async function readBody(reader: ByteReader, head: ResponseHead, method: string, limit: number) {
  const sink = new BodySink(limit);
  if (method === "HEAD" || head.status === 204 || head.status === 304) return sink.bytes();
  const te = headerValues(head, "transfer-encoding");
  const cl = headerValues(head, "content-length");
  if (te.length > 0) {
    if (cl.length > 0) protocol("both Transfer-Encoding and Content-Length");
    if (te.length !== 1 || te[0].toLowerCase() !== "chunked") protocol("unsupported transfer coding");
    await readChunked(reader, sink);
  } else if (cl.length > 0) {
    const lengths = new Set(cl.flatMap((v) => v.split(",")).map((v) => v.trim()));
    const [only] = lengths;
    if (lengths.size !== 1 || !/^[0-9]{1,15}$/.test(only)) protocol("bad Content-Length");
    const n = Number(only);
    if (n > limit) tooBig(limit);
    await reader.exact(n, sink);
  } else {
    await reader.toEnd(sink);
  }
  return sink.bytes();
}

const chunkSizePattern = /^([0-9a-fA-F]{1,8})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/;

/** Chunked transfer coding; trailers are read (bounded) and dropped. */
async function readChunked(reader: ByteReader, sink: BodySink): Promise<void> {
  for (;;) {
    const m = chunkSizePattern.exec(await reader.line(chunkLineBytesMax));
    if (m === null) protocol("bad chunk size");
    const size = parseInt(m[1], 16);
    if (size === 0) break;
    if (sink.size + size > sink.limit) tooBig(sink.limit);
    await reader.exact(size, sink);
    if (await reader.line(0) !== "") protocol("chunk not followed by CRLF");
  }
  let trailerBytes = 0;
  for (;;) {
    const line = await reader.line(responseLineBytesMax);
    if (line === "") return;
    trailerBytes += line.length + 2;
    if (trailerBytes > responseHeadBytesMax) protocol("trailers too large");
  }
}
