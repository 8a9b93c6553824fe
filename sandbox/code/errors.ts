/**
 * The one error of the code layer: a cell or a program that cannot be
 * turned into runnable JavaScript, with where and why.
 *
 * @module
 */

/** Why code was refused: a syntax error, a cell over `replCellCharsMax`, nesting beyond the parser's stack. */
export type CodeErrorReason = "syntax" | "too_large" | "too_deep";

/** What `CodeError` carries besides its message. */
export interface CodeErrorInit {
  /** Why the code was refused. */
  reason: CodeErrorReason;
  /** The file name the message names (`main.ts`, `cell3.ts`). */
  file: string;
  /** 1-based line of the error, when there is one. */
  line?: number;
  /** 1-based column of the error, when there is one. */
  col?: number;
}

/**
 * Code that cannot run: `name` is `SyntaxError` for a syntax error and
 * `RangeError` for a limit; the message starts with `file:line:col` when
 * the error has a position (`main.ts:3:7: Unexpected token`).
 *
 * @example
 * ```ts
 * const err = new CodeError("main.ts:3:7: Unexpected token", { reason: "syntax", file: "main.ts", line: 3, col: 7 });
 * err.name; // "SyntaxError"
 * ```
 */
export class CodeError extends Error {
  override readonly name: "SyntaxError" | "RangeError";
  /** Why the code was refused. */
  readonly reason: CodeErrorReason;
  /** The file name the message names. */
  readonly file: string;
  /** 1-based line, if the error has a position. */
  readonly line?: number;
  /** 1-based column, if the error has a position. */
  readonly col?: number;

  /**
   * @param message the whole message, position first
   * @param init reason, file and position
   */
  constructor(message: string, init: CodeErrorInit) {
    super(message);
    this.name = init.reason === "syntax" ? "SyntaxError" : "RangeError";
    this.reason = init.reason;
    this.file = init.file;
    if (init.line !== undefined) this.line = init.line;
    if (init.col !== undefined) this.col = init.col;
  }
}

/** 1-based line and column of character offset `pos` in `text`. */
export function positionOf(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(pos, 0), text.length);
  for (let i = text.indexOf("\n"); i !== -1 && i < end; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: end - lineStart + 1 };
}

/**
 * Turn what a parser threw into a `CodeError`: its `SyntaxError` with a
 * `pos` becomes `reason: "syntax"` at that position of `text`; a
 * `RangeError` (the parser's stack overflowed) becomes `too_deep`. Anything
 * else is a bug of the parser and is thrown again.
 *
 * @param err what the parser threw
 * @param file the name the message shows
 * @param text the text that was parsed (for the position)
 * @param hint appended to the message (e.g. the TypeScript hint)
 * @returns the error to throw
 * @throws {unknown} `err` itself when it is neither kind
 */
export function codeErrorFrom(err: unknown, file: string, text: string, hint = ""): CodeError {
  // sucrase reports its own stack overflow as a SyntaxError
  if (err instanceof RangeError || (err instanceof SyntaxError && err.message.startsWith("Not enough stack space"))) {
    return new CodeError(
      `${file}: code nests too deeply to parse (${err.message.replace(/ \(\d+:\d+\)$/, "")}): ` +
        "flatten the deepest expression or split it",
      { reason: "too_deep", file },
    );
  }
  if (err instanceof SyntaxError) {
    const pos = (err as SyntaxError & { pos?: unknown }).pos;
    const detail = err.message.replace(/ \(\d+:\d+\)$/, "");
    if (typeof pos !== "number") return new CodeError(`${file}: ${detail}${hint}`, { reason: "syntax", file });
    const { line, col } = positionOf(text, pos);
    return new CodeError(`${file}:${line}:${col}: ${detail}${hint}`, { reason: "syntax", file, line, col });
  }
  throw err;
}
