/**
 * Captured output of one agent stream (stdout or stderr), bounded: the
 * first `headChars` and the last `tailChars` are kept, everything between
 * is dropped and counted, and the text says where and how much.
 *
 * The whole stream still reaches live readers as `output` events; this is
 * what the supervisor holds in memory and what the agent's record stores.
 *
 * @module
 */
import { outputHeadCharsMax, outputTailCharsMax } from "./limits.ts";

/** See the module doc. */
export class OutputBuffer {
  readonly #headMax: number;
  readonly #tailMax: number;
  #head = "";
  #tail: string[] = [];
  #tailChars = 0;
  #dropped = 0;
  #lost = 0;

  /** @param headChars kept from the start, @param tailChars kept from the end */
  constructor(headChars: number = outputHeadCharsMax, tailChars: number = outputTailCharsMax) {
    this.#headMax = headChars;
    this.#tailMax = tailChars;
  }

  /** Characters dropped from the middle so far, and lost before they arrived. */
  get dropped(): number {
    return this.#dropped + this.#lost;
  }

  /** Characters kept (head and tail, without markers). */
  get kept(): number {
    this.#trimTail();
    return this.#head.length + this.#tailChars;
  }

  /** Mark `chars` of output as lost before they reached the buffer (they count as dropped). */
  noteLost(chars: number): void {
    this.#lost += chars;
  }

  /** Append `data`. */
  push(data: string): void {
    if (this.#head.length < this.#headMax) {
      const room = this.#headMax - this.#head.length;
      this.#head += data.slice(0, room);
      if (data.length <= room) return;
      data = data.slice(room);
    }
    this.#tail.push(data);
    this.#tailChars += data.length;
    while (this.#tailChars - this.#tail[0].length >= this.#tailMax) {
      const first = this.#tail.shift()!;
      this.#tailChars -= first.length;
      this.#dropped += first.length;
    }
    if (this.#tailChars > 2 * this.#tailMax) this.#trimTail();
  }

  /** The kept text; a dropped middle is marked by one line naming its size. */
  text(): string {
    return this.clipped(this.#headMax, this.#tailMax);
  }

  /**
   * At most the first `headChars` and the last `tailChars` of what is kept,
   * the rest marked as dropped (what a durable record stores).
   */
  clipped(headChars: number, tailChars: number): string {
    this.#trimTail();
    let head = this.#head;
    let tail = this.#tail.join("");
    let dropped = this.#dropped;
    if (head.length > headChars) {
      dropped += head.length - headChars;
      head = head.slice(0, headChars);
    }
    if (tail.length > tailChars) {
      dropped += tail.length - tailChars;
      tail = tail.slice(tail.length - tailChars);
    }
    const lost = this.#lost === 0
      ? ""
      : `\n[agentos: ${this.#lost} characters of output lost over the in-flight budget]\n`;
    if (dropped === 0) return head + tail + lost;
    return `${head}\n[agentos: ${dropped} characters of output not kept]\n${tail}${lost}`;
  }

  /** Cut the tail to exactly `tailChars` (after a single large push). */
  #trimTail(): void {
    if (this.#tailChars <= this.#tailMax) return;
    const joined = this.#tail.join("");
    const cut = joined.length - this.#tailMax;
    this.#dropped += cut;
    this.#tail = [joined.slice(cut)];
    this.#tailChars = this.#tailMax;
  }
}
