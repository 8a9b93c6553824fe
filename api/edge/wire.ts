/**
 * The gate's bytes on the wire: canned `connection: close` error answers and
 * the refusal that writes one without waiting on a client that does not
 * read, the check for a response head that closes early, and the writes of
 * the byte pipes.
 *
 * @module
 */

import { headersBytesMax, refuseWriteMsMax } from "../limits.ts";

const encoder = new TextEncoder();
const reasons: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/**
 * A complete `connection: close` JSON error answer.
 *
 * @param status HTTP status
 * @param code machine-readable code
 * @param message what went wrong
 * @param retryAfterSec sent as `retry-after` when given
 * @returns the whole response, head and body
 */
export function canned(status: number, code: string, message: string, retryAfterSec?: number): Uint8Array {
  const body = JSON.stringify({ error: { code, message } });
  const reason = reasons[status] ?? "Error";
  const retry = retryAfterSec === undefined ? "" : `retry-after: ${retryAfterSec}\r\n`;
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      `connection: close\r\n${retry}\r\n${body}`,
  );
}

/** Write a canned answer and close, without waiting on a client that does not read (`refuseWriteMsMax`). */
export function refuse(conn: Deno.Conn, answer: Uint8Array): void {
  const close = () => {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const timer = setTimeout(close, refuseWriteMsMax);
  conn.write(answer).then(close, close);
}

const closeHeader = encoder.encode("\r\nconnection: close\r\n");
const responseStart = encoder.encode("HTTP/1.1 ");

/** Whether `chunk` starts a response head that says `connection: close` (hyper writes it in lower case). */
export function closesEarly(chunk: Uint8Array): boolean {
  for (let i = 0; i < responseStart.length; i++) if (chunk[i] !== responseStart[i]) return false;
  let end = Math.min(chunk.length, headersBytesMax);
  for (let i = 3; i < end; i++) {
    if (chunk[i] === 10 && chunk[i - 1] === 13 && chunk[i - 2] === 10 && chunk[i - 3] === 13) {
      end = i + 1;
      break;
    }
  }
  outer: for (let i = 0; i + closeHeader.length <= end; i++) {
    for (let j = 0; j < closeHeader.length; j++) if (chunk[i + j] !== closeHeader[j]) continue outer;
    return true;
  }
  return false;
}

/** The parts, one after the other, in one buffer. */
export function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let off = 0;
  for (const part of parts) {
    out.set(part, off);
    off += part.length;
  }
  return out;
}

/** Write all of `bytes` to `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
