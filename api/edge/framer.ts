/**
 * The request side of HTTP/1.1, as much as the connection gate needs: where
 * each request head ends, where its body ends (`Content-Length` or chunked),
 * and nothing more. Heads are held back until complete (so a half-sent head
 * never reaches the HTTP server) and forwarded with one header added, the
 * client's address (`x-agentos-peer`), which a client cannot send itself.
 *
 * Anything ambiguous is refused rather than guessed (so the gate and the
 * server behind it can never disagree on where a request ends): both
 * `Content-Length` and `Transfer-Encoding`, any transfer coding but
 * `chunked`, differing lengths, folded header lines, HTTP/2 prior knowledge.
 *
 * @module
 */

import { bodyChunkLineBytesMax, chunkSizeBytesMax } from "../limits.ts";

/** The header the gate adds to every request: the client's address. */
export const peerHeader = "x-agentos-peer";

/** Why a request was refused at the gate; `status` is what the client is told. */
export interface FrameError {
  status: 400 | 431 | 501;
  code: string;
  message: string;
}

/** Where the framer is: `idle` = between requests (nothing of the next head yet). */
export type FramerPhase = "idle" | "head" | "body";

const lf = 10;
const cr = 13;
const requestLine = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ ]+ HTTP\/1\.[01]$/;
const latin1 = new TextDecoder("latin1");

type Chunked = "size" | "ext" | "sizeLf" | "data" | "dataCr" | "dataLf" | "trailer";

/**
 * Splits a client's byte stream into requests. Feed it every chunk read from
 * the client; it returns the bytes to forward (the head rebuilt with the
 * peer header, body bytes as views of the input) or a {@linkcode FrameError}.
 *
 * @example
 * ```ts
 * const f = new RequestFramer("127.0.0.1", 32 * 1024);
 * f.push(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n")); // [] (head held back)
 * f.phase; // "head"
 * ```
 */
export class RequestFramer {
  /** Requests whose last byte has been seen. */
  completed = 0;
  #peerLine: Uint8Array;
  #headBytesMax: number;
  #phase: FramerPhase = "idle";
  #head: Uint8Array[] = [];
  #headBytes = 0;
  #bodyLeft = 0;
  #chunked: Chunked | undefined;
  #chunkSize = 0;
  #lineBytes = 0;

  /**
   * @param peer the client's address, added as `x-agentos-peer`
   * @param headBytesMax largest head, bytes (past it: 431)
   */
  constructor(peer: string, headBytesMax: number) {
    this.#peerLine = new TextEncoder().encode(`${peerHeader}: ${peer}\r\n`);
    this.#headBytesMax = headBytesMax;
  }

  /** Between requests, inside a head, or inside a body. */
  get phase(): FramerPhase {
    return this.#phase;
  }

  /**
   * Consume one chunk from the client.
   *
   * @param chunk bytes read from the client (not kept: head bytes are copied)
   * @returns the bytes to forward, in order, or why the connection must end
   */
  push(chunk: Uint8Array): Uint8Array[] | FrameError {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#phase === "body") {
        const end = this.#chunked === undefined ? this.#lengthBody(chunk, at) : this.#chunkedBody(chunk, at);
        if (typeof end !== "number") return end;
        out.push(chunk.subarray(at, end));
        at = end;
        if (this.#phase === "body") break;
        continue;
      }
      if (this.#phase === "idle") {
        // Empty lines before a request line are allowed (RFC 9112 §2.2).
        while (at < chunk.length && (chunk[at] === cr || chunk[at] === lf)) at++;
        if (at === chunk.length) break;
        this.#phase = "head";
      }
      const end = headEnd(chunk, at, this.#head, this.#headBytes);
      if (end < 0) {
        this.#headBytes += chunk.length - at;
        if (this.#headBytes > this.#headBytesMax) return tooLarge(this.#headBytesMax);
        this.#head.push(chunk.slice(at));
        break;
      }
      if (this.#headBytes + end - at > this.#headBytesMax) return tooLarge(this.#headBytesMax);
      const head = this.#takeHead(chunk.subarray(at, end));
      const refused = this.#startBody(head);
      if (refused !== undefined) return refused;
      out.push(...this.#withPeer(head));
      at = end;
    }
    return out;
  }

  #takeHead(last: Uint8Array): Uint8Array {
    if (this.#head.length === 0) return last;
    const head = new Uint8Array(this.#headBytes + last.length);
    let off = 0;
    for (const part of this.#head) {
      head.set(part, off);
      off += part.length;
    }
    head.set(last, off);
    this.#head = [];
    this.#headBytes = 0;
    return head;
  }

  /** The head with the peer header after the request line. */
  #withPeer(head: Uint8Array): Uint8Array[] {
    const lineEnd = head.indexOf(lf) + 1;
    return [head.subarray(0, lineEnd), this.#peerLine, head.subarray(lineEnd)];
  }

  #startBody(head: Uint8Array): FrameError | undefined {
    const lines = latin1.decode(head).split("\n");
    if (!requestLine.test(lines[0].replace(/\r$/, ""))) {
      return { status: 400, code: "bad_request_line", message: "not an HTTP/1.x request line" };
    }
    let length: string | undefined;
    let coding: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i].replace(/\r$/, "");
      if (line === "") continue;
      if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) return bad("folded header line");
      const colon = line.indexOf(":");
      if (colon <= 0) return bad("header line without a name");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === peerHeader) return bad(`${peerHeader} is set by the server`);
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== value)) return bad("bad content-length");
        length = value;
      } else if (name === "transfer-encoding") {
        if (coding !== undefined) return bad("repeated transfer-encoding");
        coding = value.toLowerCase();
      }
    }
    if (coding !== undefined) {
      if (length !== undefined) return bad("both content-length and transfer-encoding");
      if (coding !== "chunked") {
        return { status: 501, code: "unsupported_transfer_encoding", message: "only chunked is supported" };
      }
      this.#enterChunked();
    } else if (length !== undefined && Number(length) > 0) {
      this.#phase = "body";
      this.#chunked = undefined;
      this.#bodyLeft = Number(length);
    } else {
      this.#done();
    }
    return undefined;
  }

  #enterChunked(): void {
    this.#phase = "body";
    this.#chunked = "size";
    this.#chunkSize = 0;
    this.#lineBytes = 0;
  }

  #done(): void {
    this.#phase = "idle";
    this.#chunked = undefined;
    this.completed++;
  }

  #lengthBody(chunk: Uint8Array, at: number): number {
    const take = Math.min(this.#bodyLeft, chunk.length - at);
    this.#bodyLeft -= take;
    if (this.#bodyLeft === 0) this.#done();
    return at + take;
  }

  /** Walk chunked framing; returns where this request's body ends in `chunk` (or the chunk's end). */
  #chunkedBody(chunk: Uint8Array, at: number): number | FrameError {
    let i = at;
    while (i < chunk.length && this.#chunked !== undefined) {
      const c = chunk[i];
      switch (this.#chunked) {
        case "data": {
          const take = Math.min(this.#chunkSize, chunk.length - i);
          this.#chunkSize -= take;
          i += take;
          if (this.#chunkSize === 0) this.#chunked = "dataCr";
          continue;
        }
        case "size": {
          const digit = hexValue(c);
          if (digit >= 0) {
            this.#chunkSize = this.#chunkSize * 16 + digit;
            if (this.#chunkSize > chunkSizeBytesMax) return bad("chunk too large");
          } else if (c === 59 || c === 32 || c === 9) this.#chunked = "ext";
          else if (c === cr) this.#chunked = "sizeLf";
          else if (c === lf) this.#sizeLineDone();
          else return bad("bad chunk size");
          break;
        }
        case "ext":
          if (c === lf) this.#sizeLineDone();
          else if (++this.#lineBytes > bodyChunkLineBytesMax) return bad("chunk extension too long");
          break;
        case "sizeLf":
          if (c !== lf) return bad("bad chunk size line");
          this.#sizeLineDone();
          break;
        case "dataCr":
          if (c === cr) this.#chunked = "dataLf";
          else if (c === lf) this.#nextChunk();
          else return bad("chunk data longer than its size");
          break;
        case "dataLf":
          if (c !== lf) return bad("bad chunk end");
          this.#nextChunk();
          break;
        case "trailer":
          if (c === lf) {
            if (this.#lineBytes === 0) {
              this.#done();
              return i + 1;
            }
            this.#lineBytes = 0;
          } else if (c !== cr && ++this.#lineBytes > this.#headBytesMax) return bad("trailer too long");
          break;
      }
      i++;
    }
    return i;
  }

  #sizeLineDone(): void {
    this.#lineBytes = 0;
    this.#chunked = this.#chunkSize === 0 ? "trailer" : "data";
  }

  #nextChunk(): void {
    this.#chunked = "size";
    this.#chunkSize = 0;
  }
}

/**
 * Index just past the blank line ending a head that starts in `held` (the
 * bytes of it seen so far) and goes on at `chunk[at]`, or -1.
 */
function headEnd(chunk: Uint8Array, at: number, held: Uint8Array[], heldBytes: number): number {
  // The blank line may straddle the previous chunk: look at its last two bytes.
  const prev1 = heldBytes > 0 ? byteBack(held, 1) : -1;
  const prev2 = heldBytes > 1 ? byteBack(held, 2) : -1;
  for (let i = at; i < chunk.length; i++) {
    if (chunk[i] !== lf) continue;
    const b1 = i - 1 >= at ? chunk[i - 1] : i - 1 === at - 1 ? prev1 : prev2;
    if (b1 === lf) return i + 1;
    if (b1 !== cr) continue;
    const b2 = i - 2 >= at ? chunk[i - 2] : i - 2 === at - 1 ? prev1 : prev2;
    if (b2 === lf) return i + 1;
  }
  return -1;
}

/** The `n`th byte from the end of the held parts (1 = last). */
function byteBack(held: Uint8Array[], n: number): number {
  for (let p = held.length - 1; p >= 0; p--) {
    const part = held[p];
    if (n <= part.length) return part[part.length - n];
    n -= part.length;
  }
  return -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function bad(message: string): FrameError {
  return { status: 400, code: "bad_request", message };
}

function tooLarge(max: number): FrameError {
  return { status: 431, code: "headers_too_large", message: `request head over ${max} bytes` };
}
