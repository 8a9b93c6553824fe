/**
 * Pub/sub topics: named per tenant. Every subscriber gets every message
 * published after it subscribed, copied into an arena slab charged to the
 * subscriber (a slow subscriber pays for its own backlog). A backlog keeps at
 * most `topicBacklogMax` messages: overflow drops the oldest and counts it;
 * `recv` reports the drops since the previous `recv`. A subscriber whose
 * quota is full loses the message (counted as dropped) rather than failing
 * the publisher. A topic exists while it has subscribers.
 *
 * @module
 */

import { KernelError } from "../errno.ts";
import type { Process } from "../process/mod.ts";
import type { IpcContext, PidState } from "./context.ts";
import { randomId } from "./ids.ts";
import { topicBacklogMax } from "./limits.ts";
import { checkName } from "./message_queue.ts";
import type { Slab, SlabOwner } from "./store.ts";
import { WaitQueue } from "./wait_queue.ts";

/** One topic: its name and subscribers. */
export interface Topic {
  readonly name: string;
  readonly subs: Set<TopicSubscription>;
}

/** One message waiting in a backlog. */
interface Pending {
  readonly slab: Slab | null;
}

/** One subscriber's backlog. */
export class TopicSubscription implements SlabOwner {
  readonly id = randomId("sub_");
  readonly pid: number;
  readonly tenant: string;
  readonly topic: Topic;
  readonly readable: WaitQueue;
  /** Messages dropped since the last `recv`. */
  dropped = 0;
  backlog: Pending[] = [];
  head = 0;

  /** @param ctx shared state @param state the subscriber @param topic what it follows */
  constructor(ctx: IpcContext, state: PidState, topic: Topic) {
    this.pid = state.pid;
    this.tenant = state.tenant;
    this.topic = topic;
    this.readable = new WaitQueue(ctx.waits);
  }

  /** Messages waiting. */
  get size(): number {
    return this.backlog.length - this.head;
  }

  /** Subscriptions have one holder: nobody inherits them. */
  heir(): undefined {
    return undefined;
  }

  /** Take the oldest message. */
  shift(): Pending | undefined {
    if (this.size === 0) return undefined;
    const item = this.backlog[this.head++];
    if (this.head * 2 >= this.backlog.length) {
      this.backlog = this.backlog.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

const decoder = new TextDecoder();

/** The topic operations. */
export class Topics {
  #ctx: IpcContext;

  /** @param ctx shared state */
  constructor(ctx: IpcContext) {
    this.#ctx = ctx;
  }

  /** Subscribe `proc` to the tenant's topic `name`. */
  subscribe(proc: Process, name: string): { sub: string } {
    checkName(name, "ipc.topic.subscribe");
    const state = this.#ctx.pidState(proc);
    this.#ctx.addObject(proc.tenant);
    const space = this.#ctx.space(proc.tenant);
    let topic = space.topics.get(name);
    if (topic === undefined) space.topics.set(name, topic = { name, subs: new Set() });
    const sub = new TopicSubscription(this.#ctx, state, topic);
    topic.subs.add(sub);
    space.subs.set(sub.id, sub);
    state.subs.add(sub);
    return { sub: sub.id };
  }

  /** Publish to every current subscriber; returns how many got the message. */
  publish(proc: Process, name: string, data: Uint8Array): number {
    checkName(name, "ipc.topic.publish");
    const topic = this.#ctx.findSpace(proc.tenant)?.topics.get(name);
    if (topic === undefined) return 0;
    let delivered = 0;
    for (const sub of topic.subs) {
      if (sub.size >= topicBacklogMax) {
        const oldest = sub.shift()!;
        if (oldest.slab !== null) this.#ctx.store.free(oldest.slab);
        sub.dropped++;
      }
      let slab: Slab | null = null;
      if (data.length > 0) {
        try {
          slab = this.#ctx.store.put(data, sub.pid, sub.tenant, sub);
        } catch (err) {
          if (!(err instanceof KernelError && err.code === "ENOMEM")) throw err;
          sub.dropped++;
          continue;
        }
      }
      sub.backlog.push({ slab });
      sub.readable.wakeOne();
      delivered++;
    }
    return delivered;
  }

  /** Receive the next message of subscription `id`. */
  async recv(
    proc: Process,
    id: string,
    timeoutMs: number | undefined,
    nonblock: boolean,
  ): Promise<{ data: string; dropped: number }> {
    const state = this.#ctx.pidState(proc);
    const deadline = this.#ctx.deadline(timeoutMs);
    for (;;) {
      const sub = this.#lookup(state, id, "ipc.topic.recv");
      const item = sub.shift();
      if (item !== undefined) {
        let data = "";
        if (item.slab !== null) {
          data = decoder.decode(this.#ctx.store.view(item.slab));
          this.#ctx.store.free(item.slab);
        }
        const dropped = sub.dropped;
        sub.dropped = 0;
        return { data, dropped };
      }
      if (nonblock) throw new KernelError("EAGAIN", "ipc.topic.recv: nothing to receive");
      await this.#ctx.park(sub.readable, state, deadline, "ipc.topic.recv");
    }
  }

  /** End subscription `id`. */
  unsubscribe(proc: Process, id: string): void {
    const state = this.#ctx.pidState(proc);
    this.release(state, this.#lookup(state, id, "ipc.topic.unsubscribe"));
  }

  /** End `sub` and free its backlog. */
  release(state: PidState, sub: TopicSubscription): void {
    state.subs.delete(sub);
    for (let item = sub.shift(); item !== undefined; item = sub.shift()) {
      if (item.slab !== null) this.#ctx.store.free(item.slab);
    }
    const space = this.#ctx.space(sub.tenant);
    space.subs.delete(sub.id);
    sub.topic.subs.delete(sub);
    if (sub.topic.subs.size === 0) space.topics.delete(sub.topic.name);
    sub.readable.wakeAll();
    this.#ctx.dropObject(sub.tenant);
  }

  #lookup(state: PidState, id: string, what: string): TopicSubscription {
    const sub = this.#ctx.findSpace(state.tenant)?.subs.get(id);
    if (sub === undefined) throw new KernelError("ENOENT", `${what}: no such subscription`);
    if (sub.pid !== state.pid) throw new KernelError("EBADF", `${what}: subscription belongs to another agent`);
    return sub;
  }
}
