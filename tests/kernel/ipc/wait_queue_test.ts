import assert from "node:assert/strict";
import { WaitQueue, WaitRegistry } from "../../../kernel/ipc/mod.ts";
import { KernelError } from "../../../kernel/errno.ts";

Deno.test("wait queue: wakeOne is FIFO, wakeAll wakes all, timeouts resolve false", async () => {
  const q = new WaitQueue();
  const order: number[] = [];
  const a = q.wait(undefined, 1).then((w) => order.push(w ? 1 : -1));
  const b = q.wait(undefined, 2).then((w) => order.push(w ? 2 : -2));
  assert.equal(q.size, 2);
  assert.equal(q.wakeOne(), true);
  await a;
  assert.deepEqual(order, [1]);
  assert.equal(q.wakeAll(), 1);
  await b;
  assert.deepEqual(order, [1, 2]);
  assert.equal(q.wakeOne(), false);
  assert.equal(await q.wait(1), false);
  assert.equal(await q.wait(0), false);
  assert.equal(q.size, 0);
});

Deno.test("wait queue: the registry cancels a pid's waiters with ECANCELED across queues", async () => {
  const registry = new WaitRegistry();
  const q1 = new WaitQueue(registry);
  const q2 = new WaitQueue(registry);
  const mine = [q1.wait(60_000, 7), q2.wait(undefined, 7)];
  const theirs = q1.wait(undefined, 8);
  assert.equal(registry.count(7), 2);
  assert.equal(registry.cancel(7), 2);
  for (const p of mine) {
    await assert.rejects(p, (err) => err instanceof KernelError && err.code === "ECANCELED");
  }
  assert.equal(registry.count(7), 0);
  assert.equal(q1.size, 1);
  q1.wakeAll();
  assert.equal(await theirs, true);
  assert.equal(registry.count(8), 0);
});
