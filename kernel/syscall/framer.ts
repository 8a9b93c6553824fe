/**
 * Splits a cell's byte stream into lines (one frame each) and refuses the
 * expensive ones before any decoding or parsing: a line longer than
 * `bytesMax` or nesting JSON deeper than `depthMax` is skipped to its
 * newline, and only its first bytes are kept (to recover a call id).
 *
 * The depth is tracked while the bytes arrive, with string contents skipped
 * by `indexOf`, so a hostile 8 MiB frame of `[[[[…` costs a few dozen byte
 * comparisons and a newline search, never a parse. Quotes, backslashes and
 * brackets are ASCII, so scanning UTF-8 bytes is exact.
 *
 * @module
 */

/** Bytes kept from the start of a refused line (enough for `{"id":N`). */
export const lineHeadBytes = 64;

/** One line of the stream. */
export type FramedLine =
  | { kind: "line"; bytes: Uint8Array }
  | { kind: "oversize" | "deep"; head: Uint8Array; byteLength: number };

/** Framer options. */
export interface FramerOptions {
  /** Longest line accepted, bytes. */
  bytesMax: number;
  /** Deepest JSON nesting accepted. */
  depthMax: number;
}

const quote = 34;
const backslash = 92;
const newline = 10;
/** Bytes of a string scanned in JS before `indexOf` takes over. */
const shortStringBytes = 32;

/** Stateful line splitter with the size and depth checks (feed it chunks in order). */
export class LineFramer {
  readonly #bytesMax: number;
  readonly #depthMax: number;
  #parts: Uint8Array[] = [];
  #lineBytes = 0;
  #refused: "oversize" | "deep" | null = null;
  #head = new Uint8Array(0);
  #depth = 0;
  #inString = false;
  #escaped = false;

  /** @param options the size and depth caps */
  constructor(options: FramerOptions) {
    this.#bytesMax = options.bytesMax;
    this.#depthMax = options.depthMax;
  }

  /**
   * Feed one chunk; `onLine` is called for every line it completes. Empty
   * lines are skipped.
   *
   * @example
   * ```ts
   * const framer = new LineFramer({ bytesMax: 1024, depthMax: 8 });
   * framer.push(new TextEncoder().encode('{"id":1}\n'), (line) => console.log(line.kind));
   * ```
   */
  push(chunk: Uint8Array, onLine: (line: FramedLine) => void): void {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(newline, start);
      const stop = end < 0 ? chunk.length : end;
      this.#take(chunk, start, stop);
      if (end < 0) return;
      const line = this.#finish();
      if (line !== null) onLine(line);
      start = end + 1;
    }
  }

  #take(chunk: Uint8Array, start: number, stop: number): void {
    if (stop === start) return;
    const piece = chunk.subarray(start, stop);
    this.#lineBytes += piece.length;
    if (this.#refused !== null) return;
    if (this.#lineBytes > this.#bytesMax) return this.#refuse("oversize", piece);
    if (this.#tooDeep(chunk, start, stop)) return this.#refuse("deep", piece);
    this.#parts.push(piece);
  }

  #refuse(kind: "oversize" | "deep", piece: Uint8Array): void {
    this.#refused = kind;
    const first = this.#parts.length > 0 ? this.#parts[0] : piece;
    this.#head = first.slice(0, lineHeadBytes);
    this.#parts = [];
  }

  #finish(): FramedLine | null {
    const byteLength = this.#lineBytes;
    const refused = this.#refused;
    const parts = this.#parts;
    this.#parts = [];
    this.#lineBytes = 0;
    this.#refused = null;
    this.#depth = 0;
    this.#inString = false;
    this.#escaped = false;
    if (byteLength === 0) return null;
    if (refused !== null) return { kind: refused, head: this.#head, byteLength };
    return { kind: "line", bytes: parts.length === 1 ? parts[0].slice() : concat(parts, byteLength) };
  }

  /** Advance the depth state over `chunk[i, stop)`; true once the nesting passes `depthMax`. */
  #tooDeep(chunk: Uint8Array, i: number, stop: number): boolean {
    // Cached positions of the next quote and backslash, so a string full of
    // escapes is still one pass.
    let nextQuote = -1;
    let nextSlash = -1;
    while (i < stop) {
      if (this.#inString) {
        if (this.#escaped) {
          this.#escaped = false;
          i++;
          continue;
        }
        // Short strings (names, keys) end within a few bytes: look in JS before paying for indexOf.
        const near = Math.min(stop, i + shortStringBytes);
        while (i < near && chunk[i] !== quote && chunk[i] !== backslash) i++;
        if (i < near) {
          if (chunk[i] === quote) this.#inString = false;
          else this.#escaped = true;
          i++;
          continue;
        }
        if (i >= stop) return false;
        if (nextQuote < i) nextQuote = indexIn(chunk, quote, i, stop);
        if (nextSlash < i) nextSlash = indexIn(chunk, backslash, i, stop);
        if (nextSlash < nextQuote) {
          this.#escaped = true;
          i = nextSlash + 1;
        } else if (nextQuote < stop) {
          this.#inString = false;
          i = nextQuote + 1;
        } else {
          return false;
        }
        continue;
      }
      const c = chunk[i++];
      if (c === quote) this.#inString = true;
      else if (c === 91 || c === 123) {
        if (++this.#depth > this.#depthMax) return true;
      } else if (c === 93 || c === 125) this.#depth--;
    }
    return false;
  }
}

/** `indexOf` bounded to `[from, stop)`; `stop` when absent. */
function indexIn(chunk: Uint8Array, byte: number, from: number, stop: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 || at >= stop ? stop : at;
}

function concat(parts: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
