/**
 * Message queues: named per tenant, FIFO or priority ordered (higher
 * priority first, FIFO within a priority). Each message's bytes live in one
 * arena slab charged to its sender; the JS heap keeps only a small entry per
 * message (bounded by `maxMessages`).
 *
 * A pid that uses a queue id (open, send or recv) holds the queue until it
 * closes it or is released; the queue is freed when its last holder leaves.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import type { Process } from "../process/mod.ts";
import type { IpcContext, PidState } from "./context.ts";
import { randomId } from "./ids.ts";
import { messageBytesMax, nameCharsMax, queueMessagesMax } from "./limits.ts";
import type { Slab, SlabOwner } from "./store.ts";
import { WaitQueue } from "./wait_queue.ts";

/** Queue ordering. */
export type QueueKind = "fifo" | "priority";

/** One queued message: its slab (null when empty), length and order keys. */
interface Entry {
  readonly slab: Slab | null;
  readonly bytes: number;
  readonly priority: number;
  readonly seq: number;
}

/** Min-heap "before" relation: higher priority first, then lower sequence. */
function before(a: Entry, b: Entry): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

/** One queue. */
export class MessageQueue implements SlabOwner {
  readonly id: string;
  readonly name: string;
  readonly tenant: string;
  readonly kind: QueueKind;
  readonly maxMessages: number;
  readonly holders = new Set<number>();
  readonly readable: WaitQueue;
  #entries: Entry[] = [];
  #head = 0;
  #seq = 0;

  /** @param ctx shared state and the queue's identity */
  constructor(ctx: IpcContext, name: string, tenant: string, kind: QueueKind, maxMessages: number) {
    this.id = randomId("q_");
    this.name = name;
    this.tenant = tenant;
    this.kind = kind;
    this.maxMessages = maxMessages;
    this.readable = new WaitQueue(ctx.waits);
  }

  /** Messages queued. */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** A holder other than `leaving`. */
  heir(leaving: number): number | undefined {
    for (const pid of this.holders) if (pid !== leaving) return pid;
    return undefined;
  }

  /** Enqueue (caller checked capacity). */
  push(slab: Slab | null, bytes: number, priority: number): void {
    const entry: Entry = { slab, bytes, priority, seq: this.#seq++ };
    if (this.kind === "fifo") {
      this.#entries.push(entry);
      return;
    }
    const heap = this.#entries;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!before(heap[i], heap[up])) break;
      [heap[i], heap[up]] = [heap[up], heap[i]];
      i = up;
    }
  }

  /** Dequeue the next message, if any. */
  shift(): Entry | undefined {
    if (this.size === 0) return undefined;
    if (this.kind === "fifo") {
      const entry = this.#entries[this.#head++];
      if (this.#head * 2 >= this.#entries.length) {
        this.#entries = this.#entries.slice(this.#head);
        this.#head = 0;
      }
      return entry;
    }
    const heap = this.#entries;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < heap.length && before(heap[l], heap[best])) best = l;
        if (r < heap.length && before(heap[r], heap[best])) best = r;
        if (best === i) break;
        [heap[i], heap[best]] = [heap[best], heap[i]];
        i = best;
      }
    }
    return top;
  }

  /** Remove every message, returning them (caller frees the slabs). */
  drain(): Entry[] {
    const all = this.#entries.slice(this.#head);
    this.#entries = [];
    this.#head = 0;
    return all;
  }
}

/** Throw `E2BIG` for an over-long name (checked before anything else touches it). */
export function checkName(name: string, what: string): void {
  if (name.length > nameCharsMax) {
    throw new KernelError("E2BIG", `${what}: name is longer than ${nameCharsMax} characters`);
  }
  if (name.length === 0) throw new KernelError("EINVAL", `${what}: name is empty`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a message, or `E2BIG` past `messageBytesMax` (cheap for huge strings). */
export function encodeMessage(data: string, what: string): Uint8Array {
  const tooBig = () => new KernelError("E2BIG", `${what}: message exceeds ${messageBytesMax} bytes`);
  if (data.length > messageBytesMax) throw tooBig();
  const bytes = encoder.encode(data);
  if (bytes.length > messageBytesMax) throw tooBig();
  return bytes;
}

/** The message queue operations. */
export class MessageQueues {
  #ctx: IpcContext;

  /** @param ctx shared state */
  constructor(ctx: IpcContext) {
    this.#ctx = ctx;
  }

  /** Open (or create) the tenant's queue `name`. */
  open(proc: Process, name: string, kind: QueueKind, maxMessages: number | undefined): { id: string } {
    checkName(name, "ipc.mq.open");
    if (maxMessages !== undefined && maxMessages > queueMessagesMax) {
      throw new KernelError("EINVAL", `ipc.mq.open: maxMessages is at most ${queueMessagesMax}`);
    }
    const state = this.#ctx.pidState(proc);
    const space = this.#ctx.space(proc.tenant);
    let queue = space.queuesByName.get(name);
    if (queue !== undefined && queue.kind !== kind) {
      throw new KernelError("EINVAL", `ipc.mq.open: queue exists with kind ${queue.kind}`);
    }
    if (queue === undefined) {
      this.#ctx.addObject(proc.tenant);
      queue = new MessageQueue(this.#ctx, name, proc.tenant, kind, maxMessages ?? queueMessagesMax);
      space.queuesByName.set(name, queue);
      space.queues.set(queue.id, queue);
    }
    this.#hold(state, queue);
    return { id: queue.id };
  }

  /** Send one message. */
  send(proc: Process, id: string, data: Uint8Array, priority: number): number {
    const state = this.#ctx.pidState(proc);
    const queue = this.#lookup(state, id, "ipc.mq.send");
    if (queue.size >= queue.maxMessages) {
      throw new KernelError("EAGAIN", `ipc.mq.send: queue is full (${queue.maxMessages} messages)`);
    }
    const slab = data.length === 0 ? null : this.#ctx.store.put(data, state.pid, state.tenant, queue);
    this.#hold(state, queue);
    queue.push(slab, data.length, priority);
    queue.readable.wakeOne();
    return data.length;
  }

  /** Receive the next message, waiting up to `timeoutMs`. */
  async recv(
    proc: Process,
    id: string,
    timeoutMs: number | undefined,
    nonblock: boolean,
  ): Promise<{ data: string; priority: number }> {
    const state = this.#ctx.pidState(proc);
    const deadline = this.#ctx.deadline(timeoutMs);
    for (;;) {
      const queue = this.#lookup(state, id, "ipc.mq.recv");
      this.#hold(state, queue);
      const entry = queue.shift();
      if (entry !== undefined) {
        let data = "";
        if (entry.slab !== null) {
          data = decoder.decode(this.#ctx.store.view(entry.slab));
          this.#ctx.store.free(entry.slab);
        }
        if (queue.size > 0) queue.readable.wakeOne();
        return { data, priority: entry.priority };
      }
      if (nonblock) throw new KernelError("EAGAIN", "ipc.mq.recv: queue is empty");
      await this.#ctx.park(queue.readable, state, deadline, "ipc.mq.recv");
    }
  }

  /** Close `proc`'s hold on queue `id`. */
  close(proc: Process, id: string): void {
    const state = this.#ctx.pidState(proc);
    const queue = this.#lookup(state, id, "ipc.mq.close");
    if (!state.queues.has(queue)) throw new KernelError("EBADF", "ipc.mq.close: queue is not open");
    this.release(state, queue);
  }

  /** Drop `state`'s hold; frees the queue and its messages when nobody holds it. */
  release(state: PidState, queue: MessageQueue): void {
    state.queues.delete(queue);
    queue.holders.delete(state.pid);
    if (queue.holders.size > 0) return;
    for (const entry of queue.drain()) if (entry.slab !== null) this.#ctx.store.free(entry.slab);
    const space = this.#ctx.space(queue.tenant);
    space.queues.delete(queue.id);
    space.queuesByName.delete(queue.name);
    queue.readable.wakeAll();
    this.#ctx.dropObject(queue.tenant);
  }

  #hold(state: PidState, queue: MessageQueue): void {
    state.queues.add(queue);
    queue.holders.add(state.pid);
  }

  #lookup(state: PidState, id: string, what: string): MessageQueue {
    const queue = this.#ctx.findSpace(state.tenant)?.queues.get(id);
    if (queue === undefined) throw new KernelError("ENOENT", `${what}: no such queue`);
    return queue;
  }
}
