/**
 * Large payloads without long pauses: a 4 MiB file is ~5.6 MB of base64,
 * and serialising, encoding or decoding it in one go blocks the supervisor's
 * event loop for milliseconds — long enough to show in every other tenant's
 * round trip. These helpers cut the work into pieces of
 * `payloadPieceChars`, produced lazily (answers) or with a macrotask between
 * pieces (requests), so other work runs in between.
 *
 * @module
 */

import { macrotask } from "../sched/macrotask.ts";
import type { Completion } from "./frame.ts";

/** Characters per piece of a large payload (a multiple of 4, for base64). */
export const payloadPieceChars = 256 * 1024;

/** An answer line: one string, or pieces whose concatenation is the line (produced as they are written). */
export type Line = string | Iterable<string>;

/** Characters the answer line of `done` will take (exact for strings, an estimate for pieces). */
export function lineChars(line: Line, estimate: number): number {
  return typeof line === "string" ? line.length : estimate;
}

/**
 * The JSON line of a completion. A result holding a large string (the
 * value itself, or a field of an object value) becomes lazy pieces: each
 * piece is JSON-escaped on its own (a surrogate pair cut in two becomes two
 * escapes, which parse back to the same pair).
 *
 * @returns the line and its size in characters (estimated for pieces)
 * @example
 * ```ts
 * const { line } = encodeCompletion({ id: 1, ok: true, value: "x".repeat(1e6) });
 * ```
 */
export function encodeCompletion(done: Completion): { line: Line; chars: number } {
  if (done.ok) {
    const value = done.value;
    if (typeof value === "string" && value.length > payloadPieceChars) {
      return { line: pieces(`{"id":${done.id},"ok":true,"value":`, [[null, value]], "}"), chars: value.length + 48 };
    }
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const fields = Object.entries(value as Record<string, unknown>);
      const big = fields.reduce(
        (n, [, v]) => n + (typeof v === "string" && v.length > payloadPieceChars ? v.length : 0),
        0,
      );
      if (big > 0) return { line: pieces(`{"id":${done.id},"ok":true,"value":{`, fields, "}}"), chars: big + 4096 };
    }
  }
  const line = JSON.stringify(done);
  return { line, chars: line.length };
}

/** `head`, then each field (`[key, value]`, key null for a bare value), then `tail`, lazily. */
function* pieces(head: string, fields: [string | null, unknown][], tail: string): Generator<string> {
  yield head;
  let first = true;
  for (const [key, value] of fields) {
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    const prefix = key === null ? "" : `${first ? "" : ","}${JSON.stringify(key)}:`;
    first = false;
    if (typeof value !== "string" || value.length <= payloadPieceChars) {
      yield prefix + JSON.stringify(value);
      continue;
    }
    yield `${prefix}"`;
    for (let i = 0; i < value.length; i += payloadPieceChars) {
      yield JSON.stringify(value.slice(i, i + payloadPieceChars)).slice(1, -1);
    }
    yield '"';
  }
  yield tail;
}

/**
 * Decode base64 in pieces with a macrotask between them.
 *
 * @throws {SyntaxError} when `text` is not base64
 */
export async function fromBase64Yielding(text: string): Promise<Uint8Array> {
  if (text.length <= payloadPieceChars) return Uint8Array.fromBase64(text);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < text.length; i += payloadPieceChars) {
    if (i > 0) await new Promise<void>((resolve) => macrotask(resolve));
    const last = i + payloadPieceChars >= text.length;
    const part = Uint8Array.fromBase64(text.slice(i, i + payloadPieceChars), {
      lastChunkHandling: last ? "loose" : "strict",
    });
    parts.push(part);
    total += part.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
