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

import { macrotask } from "../sched/mod.ts";
import type { Completion } from "./frame.ts";

/** Characters per piece of a large payload (a multiple of 4, for base64). */
export const payloadPieceChars = 256 * 1024;

/** Bytes per piece when bytes are written as base64 (a multiple of 3: pieces concatenate to one base64 text). */
export const payloadPieceBytes = payloadPieceChars / 4 * 3;

/**
 * Bytes a handler answers with, sent as base64 text. Large ones are encoded
 * piece by piece while the answer is written, so no multi-megabyte string
 * is ever built; `toJSON` makes any other serialiser see the same text.
 */
export class Base64Value {
  /** @param bytes the payload (not copied) */
  constructor(readonly bytes: Uint8Array) {}

  /** The base64 text (what the guest receives). */
  toJSON(): string {
    return this.bytes.toBase64();
  }
}

/** An answer line: one string, or pieces whose concatenation is the line (produced as they are written). */
export type AnswerLine = string | Iterable<string>;

/** Characters the answer line of `done` will take (exact for strings, an estimate for pieces). */
export function lineChars(line: AnswerLine, estimate: number): number {
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
export function encodeCompletion(done: Completion): { line: AnswerLine; chars: number } {
  if (done.ok && needsPieces(done)) {
    const value = done.value;
    if (isLarge(value)) {
      return { line: pieces(`{"id":${done.id},"ok":true,"value":`, [[null, value]], "}"), chars: sizeOf(value) + 48 };
    }
    let big = 0;
    for (const key in value as Record<string, unknown>) {
      const field = (value as Record<string, unknown>)[key];
      if (isLarge(field)) big += sizeOf(field);
    }
    const fields = Object.entries(value as Record<string, unknown>);
    return { line: pieces(`{"id":${done.id},"ok":true,"value":{`, fields, "}}"), chars: big + 4096 };
  }
  const line = JSON.stringify(done);
  return { line, chars: line.length };
}

/** Whether `done` carries a large value (itself, or a field of an object value) and is written in pieces. */
export function needsPieces(done: Completion): boolean {
  if (!done.ok) return false;
  const value = done.value;
  if (isLarge(value)) return true;
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Base64Value) return false;
  for (const key in value as Record<string, unknown>) if (isLarge((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** `head`, then each field (`[key, value]`, key null for a bare value), then `tail`, lazily. */
function* pieces(head: string, fields: [string | null, unknown][], tail: string): Generator<string> {
  yield head;
  let first = true;
  for (const [key, value] of fields) {
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    const prefix = key === null ? "" : `${first ? "" : ","}${JSON.stringify(key)}:`;
    first = false;
    if (!isLarge(value)) {
      yield prefix + JSON.stringify(value);
      continue;
    }
    yield `${prefix}"`;
    if (value instanceof Base64Value) {
      const bytes = value.bytes;
      for (let i = 0; i < bytes.length; i += payloadPieceBytes) {
        yield bytes.subarray(i, i + payloadPieceBytes).toBase64();
      }
    } else {
      for (let i = 0; i < value.length; i += payloadPieceChars) {
        yield JSON.stringify(value.slice(i, i + payloadPieceChars)).slice(1, -1);
      }
    }
    yield '"';
  }
  yield tail;
}

/** A value worth writing in pieces: a long string, or bytes longer than one piece. */
function isLarge(value: unknown): value is string | Base64Value {
  return (typeof value === "string" && value.length > payloadPieceChars) ||
    (value instanceof Base64Value && value.bytes.length > payloadPieceBytes);
}

/** Characters of a large value as written. */
function sizeOf(value: string | Base64Value): number {
  return typeof value === "string" ? value.length : Math.ceil(value.bytes.length / 3) * 4;
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
