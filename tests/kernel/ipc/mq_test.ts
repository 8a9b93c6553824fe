import assert from "node:assert/strict";
import { queueMessagesMax } from "../../../kernel/ipc/mod.ts";
import { harness, settle, track } from "./helpers.ts";

type Id = { id: string };
type Msg = { data: string; priority: number };

Deno.test("mq: FIFO keeps send order whatever the priority", async () => {
  const h = harness();
  const p = h.spawn();
  const { id } = await h.ok<Id>(p, "ipc.mq.open", { name: "jobs", kind: "fifo" });
  assert.match(id, /^q_[0-9a-f]{16}$/);
  const sent = [["a", 1], ["b", 9], ["c", 0], ["d", 9]] as const;
  for (const [data, priority] of sent) await h.ok(p, "ipc.mq.send", { id, data, priority });
  const got: string[] = [];
  for (let i = 0; i < sent.length; i++) got.push((await h.ok<Msg>(p, "ipc.mq.recv", { id })).data);
  assert.deepEqual(got, ["a", "b", "c", "d"]);
  assert.equal(h.ipc.bytesOf(p.pid), 0, "received messages are freed");
});

Deno.test("mq: priority delivers higher first, FIFO within a priority", async () => {
  const h = harness();
  const p = h.spawn();
  const { id } = await h.ok<Id>(p, "ipc.mq.open", { name: "urgent", kind: "priority" });
  const sent: [string, number][] = [["low1", 1], ["hi1", 5], ["mid1", 3], ["hi2", 5], ["low2", 1], ["zero", 0]];
  for (let i = 0; i < 40; i++) sent.push([`bulk${i}`, 2]);
  for (const [data, priority] of sent) await h.ok(p, "ipc.mq.send", { id, data, priority });
  const got: Msg[] = [];
  for (let i = 0; i < sent.length; i++) got.push(await h.ok<Msg>(p, "ipc.mq.recv", { id }));
  assert.deepEqual(got.slice(0, 3).map((m) => m.data), ["hi1", "hi2", "mid1"]);
  assert.deepEqual(got.slice(3, 43).map((m) => m.data), sent.slice(6).map(([d]) => d));
  assert.deepEqual(got.slice(43).map((m) => [m.data, m.priority]), [["low1", 1], ["low2", 1], ["zero", 0]]);
});

Deno.test("mq: same name same queue within a tenant, other tenants get their own", async () => {
  const h = harness();
  const a1 = h.spawn("acme");
  const a2 = h.spawn("acme");
  const b = h.spawn("globex");
  const one = await h.ok<Id>(a1, "ipc.mq.open", { name: "shared", kind: "fifo" });
  const two = await h.ok<Id>(a2, "ipc.mq.open", { name: "shared", kind: "fifo" });
  const other = await h.ok<Id>(b, "ipc.mq.open", { name: "shared", kind: "fifo" });
  assert.equal(one.id, two.id);
  assert.notEqual(one.id, other.id);
  assert.equal(await h.err(a1, "ipc.mq.open", { name: "shared", kind: "priority" }), "EINVAL");
  await h.ok(a1, "ipc.mq.send", { id: one.id, data: "for acme" });
  assert.equal(await h.err(b, "ipc.mq.send", { id: one.id, data: "x" }), "ENOENT");
  assert.equal(await h.err(b, "ipc.mq.recv", { id: one.id, nonblock: true }), "ENOENT");
  assert.deepEqual(await h.ok(a2, "ipc.mq.recv", { id: two.id }), { data: "for acme", priority: 0 });
});

Deno.test("mq: full queue EAGAIN, blocking recv wakes on send, timeout, unicode", async () => {
  const h = harness();
  const p = h.spawn();
  const { id } = await h.ok<Id>(p, "ipc.mq.open", { name: "small", kind: "fifo", maxMessages: 2 });
  await h.ok(p, "ipc.mq.send", { id, data: "1" });
  await h.ok(p, "ipc.mq.send", { id, data: "" });
  assert.equal(await h.err(p, "ipc.mq.send", { id, data: "3" }), "EAGAIN");
  assert.equal((await h.ok<Msg>(p, "ipc.mq.recv", { id })).data, "1");
  assert.equal((await h.ok<Msg>(p, "ipc.mq.recv", { id })).data, "");
  assert.equal(await h.err(p, "ipc.mq.recv", { id, timeoutMs: 5 }), "ETIMEDOUT");
  assert.equal(await h.err(p, "ipc.mq.recv", { id, nonblock: true }), "EAGAIN");
  const waiting = track(h.ok<Msg>(p, "ipc.mq.recv", { id, timeoutMs: 60_000 }));
  await settle();
  assert.equal(waiting.done, false);
  await h.ok(p, "ipc.mq.send", { id, data: "héllo ✓ 🎉", priority: 4 });
  assert.deepEqual(await waiting.promise, { data: "héllo ✓ 🎉", priority: 4 });
  assert.equal(
    await h.err(p, "ipc.mq.open", { name: "big", kind: "fifo", maxMessages: queueMessagesMax + 1 }),
    "EINVAL",
  );
});

Deno.test("mq: close frees the queue after its last holder; close twice is EBADF", async () => {
  const h = harness();
  const p = h.spawn();
  const { id } = await h.ok<Id>(p, "ipc.mq.open", { name: "tmp", kind: "priority" });
  await h.ok(p, "ipc.mq.send", { id, data: "left behind" });
  assert.ok(h.ipc.bytesOf(p.pid) > 0);
  await h.ok(p, "ipc.mq.close", { id });
  assert.equal(h.ipc.bytesOf(p.pid), 0);
  assert.equal(await h.err(p, "ipc.mq.close", { id }), "ENOENT");
  const again = await h.ok<Id>(p, "ipc.mq.open", { name: "tmp", kind: "fifo" });
  assert.notEqual(again.id, id);
  const q = h.spawn();
  await h.ok(q, "ipc.mq.open", { name: "tmp", kind: "fifo" });
  await h.ok(q, "ipc.mq.close", { id: again.id });
  assert.equal(await h.err(q, "ipc.mq.close", { id: again.id }), "EBADF");
});

Deno.test("mq: a wake taken by a receiver released before it runs is passed on", async () => {
  const h = harness();
  const a = h.spawn();
  const b = h.spawn();
  const { id } = await h.ok<Id>(a, "ipc.mq.open", { name: "handoff", kind: "fifo" });
  await h.ok(b, "ipc.mq.open", { name: "handoff", kind: "fifo" });
  const first = h.err(a, "ipc.mq.recv", { id });
  const second = h.ok<Msg>(b, "ipc.mq.recv", { id });
  await settle();
  // Synchronously: wake a's waiter, then release a before its continuation runs.
  h.ipc.queues.send(b, id, new TextEncoder().encode("only one"), 0);
  h.ipc.releaseAll(a.pid);
  assert.equal(await first, "ECANCELED");
  assert.deepEqual(await second, { data: "only one", priority: 0 });
});
