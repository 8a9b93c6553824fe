import assert from "node:assert/strict";
import { topicBacklogMax } from "../../../kernel/ipc/mod.ts";
import { harness, settle, track } from "./helpers.ts";

type Sub = { sub: string };
type Got = { data: string; dropped: number };

Deno.test("topic: fan-out to 10 subscribers, only messages after subscribing", async () => {
  const h = harness();
  const publisher = h.spawn();
  assert.equal(await h.ok(publisher, "ipc.topic.publish", { name: "news", data: "before anyone" }), 0);
  const subs: { proc: ReturnType<typeof h.spawn>; sub: string }[] = [];
  for (let i = 0; i < 10; i++) {
    const proc = h.spawn();
    subs.push({ proc, sub: (await h.ok<Sub>(proc, "ipc.topic.subscribe", { name: "news" })).sub });
  }
  for (let m = 0; m < 5; m++) {
    assert.equal(await h.ok(publisher, "ipc.topic.publish", { name: "news", data: `m${m}` }), 10);
  }
  const late = h.spawn();
  const lateSub = (await h.ok<Sub>(late, "ipc.topic.subscribe", { name: "news" })).sub;
  assert.equal(await h.ok(publisher, "ipc.topic.publish", { name: "news", data: "m5" }), 11);
  for (const { proc, sub } of subs) {
    const got: string[] = [];
    for (let m = 0; m < 6; m++) got.push((await h.ok<Got>(proc, "ipc.topic.recv", { sub })).data);
    assert.deepEqual(got, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    assert.equal(await h.err(proc, "ipc.topic.recv", { sub, nonblock: true }), "EAGAIN");
  }
  assert.deepEqual(await h.ok(late, "ipc.topic.recv", { sub: lateSub }), { data: "m5", dropped: 0 });
  assert.equal(await h.err(subs[0].proc, "ipc.topic.recv", { sub: lateSub }), "EBADF", "another pid's subscription");
});

Deno.test("topic: a slow subscriber's backlog is bounded; the oldest are dropped and counted", async () => {
  const h = harness();
  const pub = h.spawn();
  const slow = h.spawn();
  const { sub } = await h.ok<Sub>(slow, "ipc.topic.subscribe", { name: "firehose" });
  const extra = 37;
  for (let i = 0; i < topicBacklogMax + extra; i++) {
    await h.ok(pub, "ipc.topic.publish", { name: "firehose", data: `n${i}` });
  }
  const first = await h.ok<Got>(slow, "ipc.topic.recv", { sub });
  assert.deepEqual(first, { data: `n${extra}`, dropped: extra });
  const second = await h.ok<Got>(slow, "ipc.topic.recv", { sub });
  assert.deepEqual(second, { data: `n${extra + 1}`, dropped: 0 });
  assert.ok(h.ipc.bytesOf(slow.pid) > 0, "the backlog is charged to the subscriber");
  assert.equal(h.ipc.bytesOf(pub.pid), 0);
});

Deno.test("topic: blocking recv wakes on publish; timeout; unsubscribe frees; tenants isolated", async () => {
  const h = harness();
  const a = h.spawn("acme");
  const b = h.spawn("globex");
  const { sub } = await h.ok<Sub>(a, "ipc.topic.subscribe", { name: "t" });
  assert.equal(await h.err(a, "ipc.topic.recv", { sub, timeoutMs: 5 }), "ETIMEDOUT");
  const waiting = track(h.ok<Got>(a, "ipc.topic.recv", { sub }));
  await settle();
  assert.equal(waiting.done, false);
  assert.equal(await h.ok(b, "ipc.topic.publish", { name: "t", data: "other tenant" }), 0);
  assert.equal(await h.err(b, "ipc.topic.recv", { sub }), "ENOENT");
  assert.equal(await h.ok(a, "ipc.topic.publish", { name: "t", data: "hi" }), 1);
  assert.deepEqual(await waiting.promise, { data: "hi", dropped: 0 });
  await h.ok(a, "ipc.topic.publish", { name: "t", data: "unread" });
  await h.ok(a, "ipc.topic.unsubscribe", { sub });
  assert.equal(h.ipc.bytesOf(a.pid), 0);
  assert.equal(h.ipc.heldBy(a.pid), 0);
  assert.equal(await h.ok(a, "ipc.topic.publish", { name: "t", data: "nobody" }), 0);
});
