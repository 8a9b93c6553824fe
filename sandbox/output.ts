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

/** Characters kept from the start of a stream. */
export const outputHeadCharsMax = 512 * 1024;
/** Characters kept from the end of a stream. */
export const outputTailCharsMax = 512 * 1024;

/** See the module doc. */
export class OutputBuffer {
  readonly #headMax: number;
  readonly #tailMax: number;
  #head = "";
  #tail: string[] = [];
  #tailChars = 0;
  #dropped = 0;

  /** @param headChars kept from the start, @param tailChars kept from the end */
  constructor(headChars: number = outputHeadCharsMax, tailChars: number = outputTailCharsMax) {
    this.#headMax = headChars;
    this.#tailMax = tailChars;
  }

  /** Characters dropped from the middle so far. */
  get dropped(): number {
    return this.#dropped;
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
    this.#trimTail();
    const tail = this.#tail.join("");
    if (this.#dropped === 0) return this.#head + tail;
    return `${this.#head}\n[agentos: ${this.#dropped} characters of output not kept]\n${tail}`;
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
