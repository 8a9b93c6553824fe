/**
 * Printing agent-controlled text on a terminal or into a line-oriented
 * log without letting it act on either: control characters (C0, DEL, C1 —
 * ESC, CR, LF, backspace …), the Unicode line and paragraph separators,
 * bidirectional overrides/isolates/marks and lone surrogates are shown as
 * escapes (`\n`, `\r`, `\t`, `\x1b`, `\u{202e}`), so a call name, an
 * argument summary, an error message or a result cannot start a forged
 * line, move the cursor, recolour or reorder what follows.
 *
 * @example
 * ```ts
 * escapeLine("ok\r\x1b[2K[1] fake → ok"); // "ok\\r\\x1b[2K[1] fake → ok"
 * escapeStream("line 1\nline 2\x1b[31m\n"); // "line 1\nline 2\\x1b[31m\n"
 * safeJson({ m: "a\u2028b" }); // '{"m":"a\\u2028b"}'
 * ```
 *
 * @module
 */

// With the `u` flag a surrogate class only matches lone surrogates (a pair is one code point).
// deno-lint-ignore no-control-regex
const unsafeInLine = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/gu;
// The same without LF and TAB: an agent's own output keeps its lines.
const unsafeInStream =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/gu;
// Valid in JSON strings but unsafe to print: JSON.stringify leaves them raw.
const unsafeInJson = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(c: string): string {
  const named1 = named[c];
  if (named1 !== undefined) return named1;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

/**
 * Text for one line: every control, separator, bidi and lone-surrogate
 * character (LF and TAB included) shown as an escape.
 *
 * @param text agent-controlled text (anything else is `String()`-ed)
 * @returns printable text without line breaks
 * @example
 * ```ts
 * escapeLine("a\nb"); // "a\\nb"
 * ```
 */
export function escapeLine(text: unknown): string {
  return String(text).replace(unsafeInLine, escapeChar);
}

/**
 * An agent's own output stream: like {@linkcode escapeLine} but LF and TAB
 * stay (the output keeps its lines; CR, ESC and the rest cannot act).
 *
 * @param text a chunk of the agent's stdout or stderr
 * @returns the chunk, safe to write to a terminal
 * @example
 * ```ts
 * escapeStream("50%\r100%\n"); // "50%\\r100%\n"
 * ```
 */
export function escapeStream(text: string): string {
  return text.replace(unsafeInStream, escapeChar);
}

/**
 * `JSON.stringify` whose output is also safe to print: characters JSON
 * leaves raw (DEL, C1, U+2028/9, bidi controls) become `\uXXXX` escapes.
 * The text parses back to the same value.
 *
 * @param value any JSON value
 * @param indent as for `JSON.stringify`
 * @returns JSON text without raw control, separator or bidi characters
 * @example
 * ```ts
 * JSON.parse(safeJson({ s: "\u202e" })).s === "\u202e"; // true
 * ```
 */
export function safeJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent) ?? "null";
  return text.replace(unsafeInJson, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Writes chunks of one stream, remembering whether it ended a line, so a
 * line of the CLI's own (a trace line, the final `--json` record) is
 * always written at the start of a line, and chunks can carry a line
 * prefix (whose agent wrote them) that agent text cannot forge.
 */
export class LineTracker {
  #atLineStart = true;
  #prefix = "";
  readonly #write: (text: string) => void;

  /** @param write writes text to the stream */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /**
   * Write a chunk of (already escaped) agent output.
   *
   * @param text the chunk
   * @param prefix written at the start of each of its lines (e.g. `"[3] 2> "`), or `""`
   */
  chunk(text: string, prefix = ""): void {
    if (text === "") return;
    let out = "";
    // Another writer's chunk never continues a line it did not start.
    if (!this.#atLineStart && prefix !== this.#prefix) out += "\n";
    if (prefix !== "" && (this.#atLineStart || prefix !== this.#prefix)) out += prefix;
    out += prefix === "" ? text : text.replace(/\n(?=[^])/g, `\n${prefix}`);
    this.#atLineStart = text.endsWith("\n");
    this.#prefix = prefix;
    this.#write(out);
  }

  /** Write one whole line of the CLI's own, on a line of its own. */
  line(text: string): void {
    this.#write(`${this.#atLineStart ? "" : "\n"}${text}\n`);
    this.#atLineStart = true;
  }
}
