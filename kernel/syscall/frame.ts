/**
 * The syscall wire format: one JSON frame per line on a cell's channel.
 *
 * - a call: `{"id": 1, "call": "fs.readText", "args": {...}}`
 * - a batch (the ring submission path): `{"batch": [call, call, ...]}`
 * - a control frame from the cell runtime: `\x1e{"ctl": "ready" | "exit" | ...}` (a line that
 *   starts with the record separator; an agent's own frame with a `ctl` key is refused)
 *
 * Completions: `{"id": 1, "ok": true, "value": ...}` or
 * `{"id": 1, "ok": false, "error": {"code": "ENOENT", "message": "..."}}`,
 * and `{"batch": [completion, ...]}` for a batch.
 *
 * Decoding never throws: the size is checked before parsing, objects come out
 * with a null prototype, unknown keys are rejected and every failure is an
 * errno the caller can answer with.
 *
 * @module
 */

import type { Errno } from "../errno.ts";
import { batchCallsMax, frameBytesMax, jsonDepthMax } from "../limits.ts";
import { controlLineCode } from "../wire.ts";
import { type FramedLine, lineHeadBytes } from "./framer.ts";

const utf8 = new TextDecoder();

/** One decoded syscall. `args` is still unvalidated. */
export interface CallFrame {
  id: number;
  call: string;
  args: unknown;
}

/**
 * The result of decoding one line. `bytes` is the line's size on the wire
 * (what the frame costs the supervisor to hold). A `bad` frame names the
 * ids that can still be answered: `id` for a single call, `batchIds` for
 * every readable id of a refused batch.
 */
export type Decoded =
  | { kind: "call"; frame: CallFrame; bytes: number }
  | { kind: "batch"; frames: CallFrame[]; bytes: number }
  | { kind: "ctl"; ctl: string; body: Record<string, unknown> }
  | { kind: "bad"; id: number | null; batchIds?: number[]; code: Errno; message: string };

/** A completion as sent back to the guest. */
export type Completion =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { code: Errno; message: string } };

const callNameBytesMax = 64;
export { controlLineCode };
/**
 * What a call name may be made of: ASCII letters, digits, `.` and `_`
 * (so a name can never carry a control character, an escape sequence or a
 * newline into a trace, a log line or an event).
 */
const callNamePattern = /^[A-Za-z0-9._]{1,64}$/;
const idPrefix = /^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]/;

/** Thrown by {@linkcode parseJsonNullProto} for text nested deeper than allowed; nothing was parsed. */
export class JsonDepthError extends SyntaxError {
  /** @param depthMax the depth that was exceeded */
  constructor(readonly depthMax: number) {
    super(`JSON nested deeper than ${depthMax} levels`);
    this.name = "JsonDepthError";
  }
}

/**
 * Whether `text` opens more than `depthMax` arrays/objects at once, found
 * by a scan that costs less than parsing (string contents are skipped with
 * `indexOf`). Malformed text is left for `JSON.parse` to reject.
 *
 * @param text JSON text
 * @param depthMax deepest nesting allowed
 * @returns true when the text nests deeper than `depthMax`
 * @example
 * ```ts
 * jsonTooDeep("[[1]]", 1); // true
 * jsonTooDeep('{"a":"[[["}', 1); // false
 * ```
 */
export function jsonTooDeep(text: string, depthMax: number): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Jump to the closing quote: one not preceded by an odd run of backslashes.
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return false;
        let backslashes = 0;
        while (text.charCodeAt(j - 1 - backslashes) === 92) backslashes++;
        if ((backslashes & 1) === 0) break;
        j++;
      }
      i = j;
    } else if (c === 91 || c === 123) {
      if (++depth > depthMax) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/**
 * JSON.parse into null-prototype objects, so keys such as `__proto__` or
 * `constructor` are plain data and can never reach a prototype. Text nested
 * deeper than `depthMax` is refused before parsing (it would cost the
 * event loop seconds and the recursion below its stack).
 *
 * @throws {JsonDepthError} when nested deeper than `depthMax`
 * @throws {SyntaxError} on invalid JSON
 */
export function parseJsonNullProto(text: string, depthMax: number = jsonDepthMax): unknown {
  if (depthMax !== Infinity && jsonTooDeep(text, depthMax)) throw new JsonDepthError(depthMax);
  return toNullProto(JSON.parse(text));
}

/** Copy plain objects into null-prototype ones. Assigning `__proto__` on a null-prototype object makes an ordinary key. */
function toNullProto(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toNullProto(value[i]);
    return value;
  }
  const out = Object.create(null);
  for (const key of Object.keys(value)) out[key] = toNullProto((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * Decode one line from a cell. `byteLength` is the line's size on the wire,
 * checked before any parsing.
 *
 * @example
 * ```ts
 * const d = decodeFrame('{"id":1,"call":"time.now","args":{}}', 37);
 * if (d.kind === "call") console.log(d.frame.call);
 * ```
 */
export function decodeFrame(line: string, byteLength: number, depthChecked = false): Decoded {
  if (byteLength > frameBytesMax) return refusedLine("oversize", line.slice(0, lineHeadBytes), byteLength);
  if (line.charCodeAt(0) === controlLineCode) return decodeControl(line.slice(1));
  let value: unknown;
  try {
    value = parseJsonNullProto(line, depthChecked ? Infinity : jsonDepthMax);
  } catch (err) {
    if (!(err instanceof JsonDepthError)) return bad(null, "EINVAL", "frame is not valid JSON");
    const match = idPrefix.exec(line.slice(0, 64));
    return bad(match ? Number(match[1]) : null, "EINVAL", `frame nested deeper than ${jsonDepthMax} levels`);
  }
  if (!isRecord(value)) return bad(null, "EINVAL", "frame is not an object");
  if ("batch" in value) return decodeBatch(value, byteLength);
  if ("ctl" in value) return bad(null, "EINVAL", "control frames come only from the cell");
  const frame = toCall(value);
  return typeof frame === "string"
    ? bad(validId(value.id) ? value.id as number : null, "EINVAL", frame)
    : { kind: "call", frame, bytes: byteLength };
}

/**
 * Decode one line from a {@linkcode LineFramer}: a refused line becomes a
 * `bad` frame carrying the call id its first bytes show (if any); a kept
 * line was depth-checked while it arrived.
 */
export function decodeLine(line: FramedLine): Decoded {
  if (line.kind !== "line") return refusedLine(line.kind, utf8.decode(line.head), line.byteLength);
  return decodeFrame(utf8.decode(line.bytes), line.bytes.length, true);
}

/** A control line of the cell's trusted main thread (after its marker). */
function decodeControl(text: string): Decoded {
  let value: unknown;
  try {
    value = parseJsonNullProto(text);
  } catch {
    return bad(null, "EINVAL", "control line is not valid JSON");
  }
  return isRecord(value) && typeof value.ctl === "string"
    ? { kind: "ctl", ctl: value.ctl, body: value }
    : bad(null, "EINVAL", "control line without ctl");
}

function refusedLine(kind: "oversize" | "deep", head: string, byteLength: number): Decoded {
  const match = idPrefix.exec(head);
  const id = match ? Number(match[1]) : null;
  return kind === "oversize"
    ? bad(id, "E2BIG", `frame of ${byteLength} bytes over ${frameBytesMax}`)
    : bad(id, "EINVAL", `frame nested deeper than ${jsonDepthMax} levels`);
}

function decodeBatch(value: Record<string, unknown>, byteLength: number): Decoded {
  const list = value.batch;
  if (Object.keys(value).length !== 1 || !Array.isArray(list)) {
    return bad(null, "EINVAL", "batch must be {batch: [...]} only");
  }
  if (list.length > batchCallsMax) {
    return { ...bad(null, "E2BIG", `batch of ${list.length} calls over ${batchCallsMax}`), batchIds: idsOf(list) };
  }
  const frames: CallFrame[] = [];
  for (const item of list) {
    const frame = isRecord(item) ? toCall(item) : "batch entry is not an object";
    if (typeof frame === "string") {
      const id = isRecord(item) && validId(item.id) ? item.id as number : null;
      return { ...bad(id, "EINVAL", frame), batchIds: idsOf(list) };
    }
    frames.push(frame);
  }
  return { kind: "batch", frames, bytes: byteLength };
}

/** Every valid, distinct id in a refused batch (each gets the batch's error). */
function idsOf(list: unknown[]): number[] {
  const ids = new Set<number>();
  for (const item of list) if (isRecord(item) && validId(item.id) && item.id !== 0) ids.add(item.id as number);
  return [...ids];
}

function toCall(value: Record<string, unknown>): CallFrame | string {
  for (const key of Object.keys(value)) {
    if (key !== "id" && key !== "call" && key !== "args") return `unknown frame key "${key.slice(0, 32)}"`;
  }
  if (!validId(value.id)) return "id must be a non-negative integer";
  if (typeof value.call !== "string" || !callNamePattern.test(value.call)) {
    return `call must be 1 to ${callNameBytesMax} characters of [A-Za-z0-9._]`;
  }
  return { id: value.id as number, call: value.call, args: value.args ?? Object.create(null) };
}

function validId(id: unknown): boolean {
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

type Bad = Extract<Decoded, { kind: "bad" }>;

function bad(id: number | null, code: Errno, message: string): Bad {
  return { kind: "bad", id, code, message };
}
