/**
 * Text edits on a source by character offsets, applied in one pass: the
 * transform never re-prints the tree, it only inserts, blanks and replaces
 * small ranges, so the user's text (and its lines) stays where it was.
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";

interface Edit {
  start: number;
  end: number;
  text: string;
  seq: number;
}

/**
 * A list of non-overlapping edits of `source`; insertions at one offset
 * keep the order they were added in and come before a range starting there.
 *
 * @example
 * ```ts
 * const edits = new Edits("let x = 1");
 * edits.replace(0, 3, ";( ");
 * edits.insert(9, ")");
 * edits.apply(); // ";(  x = 1)"
 * ```
 */
export class Edits {
  readonly #source: string;
  readonly #edits: Edit[] = [];

  /** @param source the text the offsets refer to */
  constructor(source: string) {
    this.#source = source;
  }

  /** Insert `text` before offset `at`. */
  insert(at: number, text: string): void {
    this.replace(at, at, text);
  }

  /** Replace `[start, end)` with `text`. */
  replace(start: number, end: number, text: string): void {
    assert(0 <= start && start <= end && end <= this.#source.length, "edit range inside the source", RangeError);
    this.#edits.push({ start, end, text, seq: this.#edits.length });
  }

  /**
   * Replace `[start, end)` by spaces, keeping its line breaks (so lines and
   * the columns after it stay where they were).
   */
  blank(start: number, end: number): void {
    this.replace(start, end, this.#source.slice(start, end).replace(/[^\n\r\u2028\u2029]/g, " "));
  }

  /** The line breaks inside `[start, end)` of the source (to keep when replacing that range). */
  breaksIn(start: number, end: number): string {
    return this.#source.slice(start, end).replace(/[^\n\r\u2028\u2029]/g, "");
  }

  /**
   * The edited text.
   *
   * @throws {Error} when two edits overlap (a bug of the transform)
   */
  apply(): string {
    const width = (e: Edit) => (e.end > e.start ? 1 : 0);
    const sorted = [...this.#edits].sort((a, b) => a.start - b.start || width(a) - width(b) || a.seq - b.seq);
    const parts: string[] = [];
    let at = 0;
    for (const edit of sorted) {
      assert(edit.start >= at, `edits overlap at offset ${edit.start}`);
      parts.push(this.#source.slice(at, edit.start), edit.text);
      at = edit.end;
    }
    parts.push(this.#source.slice(at));
    return parts.join("");
  }
}
