/**
 * A bounded reader over one connection: CRLF lines, exact lengths and
 * read-to-close, each with a byte ceiling. Nothing here grows without bound:
 * the buffer is fixed and bodies are collected only up to their limit.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { readBufferBytes, responseLineBytesMax } from "./limits.ts";

/** The read half of a connection. */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

/** Collected body bytes with a ceiling; over it is `E2BIG`. */
export class BodySink {
  #chunks: Uint8Array[] = [];
  #size = 0;

  /** @param limit most bytes accepted */
  constructor(readonly limit: number) {}

  /** Bytes collected so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Take a copy of `bytes`.
   *
   * @throws {KernelError} `E2BIG` when the total passes the limit
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#size + bytes.length > this.limit) tooBig(this.limit);
    this.#chunks.push(bytes.slice());
    this.#size += bytes.length;
  }

  /** Everything collected, as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Throw the response-size errno. */
export function tooBig(limit: number): never {
  throw new KernelError("E2BIG", `net.fetch: response body over ${limit} bytes`);
}

/** Buffered, bounded reads from a {@linkcode ByteSource}. */
export class ByteReader {
  #src: ByteSource;
  #buf = new Uint8Array(readBufferBytes);
  #start = 0;
  #end = 0;
  #eof = false;

  /** @param src the connection */
  constructor(src: ByteSource) {
    this.#src = src;
  }

  /** Read more into the buffer; false at end of stream. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) return true;
    const n = await this.#src.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /**
   * One line ending in CRLF, without it, as Latin-1 text. A bare CR or LF is
   * a protocol error.
   *
   * @throws {KernelError} `EIO` on a long line, bare CR/LF or early close
   */
  async line(maxBytes: number = responseLineBytesMax): Promise<string> {
    if (maxBytes + 2 > this.#buf.length) throw new Error("line bound exceeds the read buffer");
    let scanned = this.#start;
    for (;;) {
      const lf = this.#buf.subarray(scanned, this.#end).indexOf(10);
      if (lf >= 0) {
        const at = scanned + lf;
        if (at === this.#start || this.#buf[at - 1] !== 13) protocol("bare LF in response head");
        const raw = this.#buf.subarray(this.#start, at - 1);
        if (raw.includes(13)) protocol("bare CR in response head");
        this.#start = at + 1;
        return latin1(raw);
      }
      scanned = this.#end;
      if (this.#end - this.#start > maxBytes + 1) protocol("response line too long");
      const before = this.#start;
      if (!await this.#fill()) protocol("connection closed mid-line");
      scanned -= before - this.#start;
    }
  }

  /**
   * Exactly `n` bytes into `sink`.
   *
   * @throws {KernelError} `EIO` if the stream ends first, `E2BIG` via the sink
   */
  async exact(n: number, sink: BodySink | null): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#start === this.#end && !await this.#fill()) protocol("connection closed mid-body");
      const take = Math.min(left, this.#end - this.#start);
      sink?.push(this.#buf.subarray(this.#start, this.#start + take));
      this.#start += take;
      left -= take;
    }
  }

  /** Everything until the peer closes, into `sink` (`E2BIG` via the sink). */
  async toEnd(sink: BodySink): Promise<void> {
    for (;;) {
      if (this.#start < this.#end) {
        sink.push(this.#buf.subarray(this.#start, this.#end));
        this.#start = this.#end;
      }
      if (!await this.#fill()) return;
    }
  }
}

/** Bytes 0–255 as the code points 0–255. */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return out;
}

/** Throw a protocol errno (guest-safe text, no peer bytes). */
export function protocol(why: string): never {
  throw new KernelError("EIO", `net.fetch: bad HTTP response: ${why}`);
}
