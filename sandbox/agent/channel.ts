/**
 * One agent's syscall channel: the frames its cell sends, served through
 * the scheduler and the dispatcher within the agent's budget of bytes in
 * flight, and every answer written back.
 *
 * - Every call frame is charged its size on arrival and every result its
 *   reservation (`CallContext.reserve`) until the answer has been written
 *   to the cell; a full budget answers `EAGAIN` (the budget is the agent's,
 *   its tenant's and the server's at once, see `kernel/tenants`).
 * - A batch is served as slices of `batchSliceCalls` scheduler jobs and
 *   answered slice by slice, each answer line at most
 *   `batchAnswerBytesMax`, so no answer is held until the end and none can
 *   outgrow a string.
 * - Flow control at the pipe: `hold()` tells the cell's reader to stop
 *   decoding this agent's output while its tenant is over its share of the
 *   scheduler (`SyscallScheduler.hold`); the flood then waits in its cell.
 * - A frame that cannot be decoded is charged like a call (rate token,
 *   error count) and answered for every id it still shows.
 *
 * @module
 */

import type { Errno } from "../../kernel/mod.ts";
import { batchAnswerBytesMax, inflightCallsMax } from "../../kernel/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import type { SchedEntity, SyscallScheduler } from "../../kernel/sched/mod.ts";
import { type Dispatcher, toErrno } from "../../kernel/syscall/mod.ts";
import type { CallFrame, Completion, Decoded } from "../../kernel/syscall/mod.ts";
import type { CallHold } from "../../kernel/syscall/mod.ts";
import type { InflightAccount } from "../../kernel/tenants/mod.ts";
import { type AnswerLine, encodeCompletion, needsPieces } from "../../kernel/syscall/mod.ts";
import { batchSliceCalls, batchSliceIoCalls } from "../limits.ts";

/** Answers of a batch gathered at most before they are sent (unless the batch ends first). */
export const batchReplyCallsMax = 1024;

/** What a channel needs from the runtime. */
export interface ChannelDeps {
  proc: Process;
  entity: SchedEntity;
  account: InflightAccount;
  dispatcher: Dispatcher;
  scheduler: SyscallScheduler;
  /** What the scheduler waits for when a call may block: the call, or the end of the current blocking slice. */
  slice(work: Promise<void>): Promise<void>;
  /** Write one line (or one line in pieces) to the cell; resolves once written (or dropped). */
  send(line: AnswerLine): Promise<void>;
  /** A control frame from the cell's trusted main thread (or forged by the agent: it only ends itself). */
  control(ctl: string, body: Record<string, unknown>): void;
  /** A frame that could not be decoded (for events). */
  badFrame(code: Errno, message: string): void;
  /** A fire-and-forget call refused for lack of budget or queue room (its output is lost: record it). */
  dropped(call: CallFrame): void;
}

/** Bytes one call holds; see {@linkcode CallHold}. */
class Hold implements CallHold {
  bytes = 0;
  readonly #account: InflightAccount;

  constructor(account: InflightAccount) {
    this.#account = account;
  }

  reserve(n: number): void {
    this.#account.reserve(n);
    this.bytes += n;
  }

  /** Make the hold cover an answer of `n` bytes that already exists (its memory is spent). */
  cover(n: number): void {
    if (n <= this.bytes) return;
    this.#account.force(n - this.bytes);
    this.bytes = n;
  }

  release(): void {
    this.#account.release(this.bytes);
    this.bytes = 0;
  }

  /** Take over what `other` holds. */
  absorb(other: Hold): void {
    this.bytes += other.bytes;
    other.bytes = 0;
  }
}

/** Answers of one batch gathered before they are sent, with what they hold; `request` is the frame's own hold. */
class BatchReply {
  pending: Completion[] = [];
  holds: Hold[] = [];
  #left: number;

  constructor(calls: number, request: Hold) {
    this.#left = calls;
    this.holds.push(request);
  }

  /** Every call of the batch has an answer. */
  get complete(): boolean {
    return this.#left === 0;
  }

  add(done: Completion[], hold: Hold): void {
    for (const c of done) this.pending.push(c);
    this.holds.push(hold);
    this.#left -= done.length;
  }

  take(): { pending: Completion[]; holds: Hold[] } {
    const out = { pending: this.pending, holds: this.holds };
    this.pending = [];
    this.holds = [];
    return out;
  }
}

/** See the module doc. */
export class AgentChannel {
  readonly #d: ChannelDeps;
  #inflight = 0;
  /** Fire-and-forget calls (`id: 0`, i.e. output) received and not yet served. */
  #writes = 0;
  /** Control frames waiting for the output sent before them. */
  #deferred: (() => void)[] = [];

  /** @param deps the agent and the kernel parts that serve it */
  constructor(deps: ChannelDeps) {
    this.#d = deps;
  }

  /** Calls received and not yet answered. */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Resolves once every fire-and-forget call received so far (the agent's
   * output) has been served: what an exit waits for, so that no line
   * written before it is lost.
   */
  drained(): Promise<void> {
    if (this.#writes === 0) return Promise.resolve();
    return new Promise((resolve) => this.#deferred.push(resolve));
  }

  /**
   * Undefined while the agent's frames may be read; a promise to wait for
   * before the next chunk of its output is decoded (its tenant is over its
   * share of the scheduler while another tenant is active).
   */
  hold(): Promise<void> | undefined {
    return this.#d.scheduler.hold(this.#d.entity);
  }

  /** Serve one decoded frame. Never throws. */
  onFrame(frame: Decoded): void {
    switch (frame.kind) {
      case "call":
        return this.#call(frame.frame, frame.bytes);
      case "batch":
        return this.#batch(frame.frames, frame.bytes);
      case "bad":
        return this.#bad(frame);
      case "ctl": {
        // A control frame (an exit above all) takes effect after the output sent before it.
        const apply = () => this.#d.control(frame.ctl, frame.body);
        if (this.#writes === 0) return apply();
        this.#deferred.push(apply);
        return;
      }
      default: {
        const never: never = frame;
        throw new Error(`unknown frame ${never}`);
      }
    }
  }

  #call(call: CallFrame, bytes: number): void {
    const d = this.#d;
    if (call.id !== 0 && this.#inflight >= inflightCallsMax) {
      return void this.#answer(refuse(call.id, "EAGAIN", "too many syscalls in flight"));
    }
    const hold = new Hold(d.account);
    try {
      hold.reserve(bytes);
    } catch (err) {
      if (call.id === 0) return d.dropped(call);
      const { code, message } = toErrno(err);
      return void this.#answer(refuse(call.id, code, message));
    }
    this.#inflight++;
    if (call.id === 0) {
      // Fire-and-forget calls (output) are served as they arrive: their
      // order is the agent's, and an output limit is seen at once. They
      // still take rate tokens and count as the agent's syscalls.
      this.#writes++;
      void d.dispatcher.dispatch(d.proc, call, hold).then(() => {
        this.#inflight--;
        hold.release();
        this.#writeDone();
      });
      return;
    }
    const blocking = d.dispatcher.blocking(call.call);
    const job = () =>
      this.#held(
        blocking,
        d.dispatcher.dispatch(d.proc, call, hold).then((done) => {
          this.#inflight--;
          return this.#answer(done, hold);
        }),
      );
    if (!d.scheduler.submit(d.entity, job)) {
      this.#inflight--;
      hold.release();
      this.#answer(refuse(call.id, "EAGAIN", "syscall queue full"));
    }
  }

  /** What the scheduler's slot waits for: all of a working call, at most a slice of a blocking one. */
  #held(blocking: boolean, work: Promise<void>): Promise<void> {
    return blocking ? this.#d.slice(work) : work;
  }

  #writeDone(): void {
    if (--this.#writes > 0) return;
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const run of deferred) run();
  }

  #batch(frames: CallFrame[], bytes: number): void {
    const d = this.#d;
    const request = new Hold(d.account);
    try {
      request.reserve(bytes);
    } catch (err) {
      const { code, message } = toErrno(err);
      return void this.#answerBatch(frames.map((f) => refuse(f.id, code, message)));
    }
    const reply = new BatchReply(frames.length, request);
    this.#inflight += frames.length;
    for (let from = 0; from < frames.length;) {
      const slice = this.#nextSlice(frames, from);
      from += slice.length;
      const blocking = slice.some((f) => d.dispatcher.blocking(f.call));
      const job = () => this.#held(blocking, this.#serveSlice(slice, reply));
      if (!d.scheduler.submit(d.entity, job)) {
        this.#inflight -= slice.length;
        void this.#reply(reply, slice.map((f) => refuse(f.id, "EAGAIN", "syscall queue full")), new Hold(d.account));
      }
    }
  }

  /** The calls of the next scheduler job: up to `batchSliceCalls`, of which at most `batchSliceIoCalls` I/O-bound. */
  #nextSlice(frames: CallFrame[], from: number): CallFrame[] {
    let io = 0;
    let to = from;
    while (to < frames.length && to - from < batchSliceCalls) {
      if (this.#d.dispatcher.ioBound(frames[to].call) && ++io > batchSliceIoCalls) break;
      to++;
    }
    return frames.slice(from, to);
  }

  /** Dispatch one slice of a batch (a full budget refuses the rest of the slice) and add its answers to the reply. */
  async #serveSlice(slice: CallFrame[], reply: BatchReply): Promise<void> {
    const d = this.#d;
    const hold = new Hold(d.account);
    const done = await Promise.all(slice.map((f) => {
      if (d.account.held >= d.account.bytesMax) {
        return refuse(f.id, "EAGAIN", `over the agent's ${d.account.bytesMax} bytes in flight; retry`);
      }
      return d.dispatcher.dispatch(d.proc, f, hold);
    }));
    this.#inflight -= slice.length;
    await this.#reply(reply, done, hold);
  }

  /**
   * Add a slice's answers to its batch's reply; send what has gathered once
   * the batch is complete, once it holds a result that reserved memory (so
   * large answers stream and their memory goes back), or once
   * `batchReplyCallsMax` answers wait.
   */
  #reply(reply: BatchReply, done: Completion[], hold: Hold): Promise<void> {
    reply.add(done, hold);
    if (!reply.complete && hold.bytes === 0 && reply.pending.length < batchReplyCallsMax) return Promise.resolve();
    const { pending, holds } = reply.take();
    const merged = new Hold(this.#d.account);
    for (const h of holds) merged.absorb(h);
    return this.#answerBatch(pending.filter((c) => c.id !== 0), merged);
  }

  #bad(frame: Extract<Decoded, { kind: "bad" }>): void {
    const d = this.#d;
    const withinRate = d.dispatcher.chargeFrame(d.proc);
    d.badFrame(frame.code, frame.message);
    const code: Errno = withinRate ? frame.code : "EAGAIN";
    const message = withinRate ? frame.message : `over the syscall rate (bad frame: ${frame.message})`;
    if (frame.batchIds !== undefined) void this.#answerBatch(frame.batchIds.map((id) => refuse(id, code, message)));
    else if (frame.id !== null && frame.id !== 0) void this.#answer(refuse(frame.id, code, message));
  }

  /** Write one answer; the hold is released once it is written. */
  async #answer(done: Completion, hold?: Hold): Promise<void> {
    const { line, chars } = encodeCompletion(done);
    hold?.cover(chars);
    try {
      await this.#d.send(line);
    } finally {
      hold?.release();
    }
  }

  /**
   * Write a batch's answers in lines of at most `batchAnswerBytesMax` (a
   * large completion gets a line of its own, in pieces); the hold is
   * released once all are written.
   */
  async #answerBatch(done: Completion[], hold?: Hold): Promise<void> {
    if (!done.some(needsPieces)) {
      // The common case: small answers, one line.
      const line = JSON.stringify({ batch: done });
      if (line.length <= batchAnswerBytesMax) {
        hold?.cover(line.length);
        try {
          return await this.#d.send(line);
        } finally {
          hold?.release();
        }
      }
    }
    const lines: AnswerLine[] = [];
    let parts: string[] = [];
    let size = 0;
    let chars = 0;
    const flush = () => {
      if (parts.length > 0) lines.push(`{"batch":[${parts.join(",")}]}`);
      parts = [];
      size = 0;
    };
    for (const completion of done) {
      const encoded = encodeCompletion(completion);
      chars += encoded.chars;
      const part = encoded.line;
      if (typeof part !== "string") {
        flush();
        lines.push(batchLine(part));
        continue;
      }
      if (parts.length > 0 && size + part.length > batchAnswerBytesMax) flush();
      parts.push(part);
      size += part.length + 1;
    }
    flush();
    hold?.cover(chars);
    try {
      await Promise.all(lines.map((line) => this.#d.send(line)));
    } finally {
      hold?.release();
    }
  }
}

/** One completion in pieces as a batch line of its own. */
function* batchLine(completion: Iterable<string>): Generator<string> {
  yield '{"batch":[';
  yield* completion;
  yield "]}";
}

function refuse(id: number, code: Errno, message: string): Completion {
  return { id, ok: false, error: { code, message } };
}
