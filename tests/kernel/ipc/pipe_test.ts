import assert from "node:assert/strict";
import { pipeBufferBytesMax } from "../../../kernel/ipc/mod.ts";
import { b64, harness, settle, track, unb64 } from "./helpers.ts";

type Fds = { readFd: number; writeFd: number };
type Read = { data: string; eof: boolean };

Deno.test("pipe: round trip, descriptors start at 3, close frees", async () => {
  const h = harness();
  const p = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  assert.deepEqual([readFd, writeFd], [3, 4]);
  assert.equal(await h.ok(p, "ipc.write", { fd: writeFd, data: b64("hello, pipe") }), 11);
  assert.ok(h.ipc.bytesOf(p.pid) > 0, "pipe bytes are charged in the arena");
  const got = await h.ok<Read>(p, "ipc.read", { fd: readFd, max: 5 });
  assert.deepEqual([unb64(got.data), got.eof], ["hello", false]);
  const rest = await h.ok<Read>(p, "ipc.read", { fd: readFd, max: 100 });
  assert.equal(unb64(rest.data), ", pipe");
  assert.equal(h.ipc.bytesOf(p.pid), 0, "a drained pipe holds no arena bytes");
  await h.ok(p, "ipc.close", { fd: writeFd });
  await h.ok(p, "ipc.close", { fd: readFd });
  assert.equal(h.ipc.heldBy(p.pid), 0);
  assert.equal(h.ipc.tenants(), 0);
});

Deno.test("pipe: data wraps around the ring intact", async () => {
  const h = harness();
  const p = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  let expected = "";
  let got = "";
  for (let i = 0; i < 200; i++) {
    const chunk = `chunk-${i}-`.repeat(i % 37 + 1);
    expected += chunk;
    await h.ok(p, "ipc.write", { fd: writeFd, data: b64(chunk) });
    const r = await h.ok<Read>(p, "ipc.read", { fd: readFd, max: 97 + (i % 50) });
    got += unb64(r.data);
  }
  await h.ok(p, "ipc.close", { fd: writeFd });
  for (;;) {
    const r = await h.ok<Read>(p, "ipc.read", { fd: readFd, max: 4096 });
    got += unb64(r.data);
    if (r.eof) break;
  }
  assert.equal(got, expected);
});

Deno.test("pipe: backpressure blocks the writer until the reader drains; nonblock gets EAGAIN", async () => {
  const h = harness();
  const p = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  const full = new Uint8Array(pipeBufferBytesMax).fill(7).toBase64();
  assert.equal(await h.ok(p, "ipc.write", { fd: writeFd, data: full }), pipeBufferBytesMax);
  assert.equal(await h.err(p, "ipc.write", { fd: writeFd, data: b64("x"), nonblock: true }), "EAGAIN");
  const blocked = track(h.ok(p, "ipc.write", { fd: writeFd, data: b64("tail") }));
  await settle();
  assert.equal(blocked.done, false, "writer to a full pipe waits");
  const first = await h.ok<Read>(p, "ipc.read", { fd: readFd, max: 10 });
  assert.equal(Uint8Array.fromBase64(first.data).length, 10);
  assert.equal(await blocked.promise, 4);
  // Nonblock writes what fits.
  assert.equal(await h.ok(p, "ipc.write", { fd: writeFd, data: b64("0123456789"), nonblock: true }), 6);
  assert.equal(await h.err(p, "ipc.write", { fd: writeFd, data: b64("z"), nonblock: true }), "EAGAIN");
  // A blocked write with a timeout gives up with ETIMEDOUT.
  assert.equal(await h.err(p, "ipc.write", { fd: writeFd, data: b64("z"), timeoutMs: 5 }), "ETIMEDOUT");
});

Deno.test("pipe: EPIPE without readers (also for a blocked writer), eof without writers", async () => {
  const h = harness();
  const p = h.spawn();
  const a = await h.ok<Fds>(p, "ipc.pipe", {});
  await h.ok(p, "ipc.close", { fd: a.readFd });
  assert.equal(await h.err(p, "ipc.write", { fd: a.writeFd, data: b64("x") }), "EPIPE");

  const b = await h.ok<Fds>(p, "ipc.pipe", {});
  await h.ok(p, "ipc.write", { fd: b.writeFd, data: new Uint8Array(pipeBufferBytesMax).toBase64() });
  const blocked = h.err(p, "ipc.write", { fd: b.writeFd, data: b64("more") });
  await settle();
  await h.ok(p, "ipc.close", { fd: b.readFd });
  assert.equal(await blocked, "EPIPE");

  const c = await h.ok<Fds>(p, "ipc.pipe", {});
  await h.ok(p, "ipc.write", { fd: c.writeFd, data: b64("last") });
  const waiting = h.ok<Read>(p, "ipc.read", { fd: c.readFd, max: 10 });
  assert.equal(unb64((await waiting).data), "last");
  const empty = track(h.ok<Read>(p, "ipc.read", { fd: c.readFd, max: 10 }));
  await settle();
  assert.equal(empty.done, false, "reader of an empty pipe waits");
  await h.ok(p, "ipc.close", { fd: c.writeFd });
  assert.deepEqual(await empty.promise, { data: "", eof: true });
  assert.deepEqual(await h.ok(p, "ipc.read", { fd: c.readFd, max: 10 }), { data: "", eof: true });
});

Deno.test("pipe: EBADF for wrong ends and descriptors not held; ETIMEDOUT; EAGAIN on empty nonblock", async () => {
  const h = harness();
  const p = h.spawn();
  const q = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  assert.equal(await h.err(p, "ipc.read", { fd: writeFd, max: 1 }), "EBADF");
  assert.equal(await h.err(p, "ipc.write", { fd: readFd, data: b64("x") }), "EBADF");
  assert.equal(await h.err(p, "ipc.read", { fd: 99, max: 1 }), "EBADF");
  assert.equal(await h.err(q, "ipc.read", { fd: readFd, max: 1 }), "EBADF", "another pid's descriptor");
  assert.equal(await h.err(p, "ipc.close", { fd: 42 }), "EBADF");
  assert.equal(await h.err(p, "ipc.read", { fd: readFd, max: 1, timeoutMs: 5 }), "ETIMEDOUT");
  assert.equal(await h.err(p, "ipc.read", { fd: readFd, max: 1, nonblock: true }), "EAGAIN");
  assert.equal(await h.err(p, "ipc.read", { fd: readFd, max: 1, timeoutMs: 0 }), "ETIMEDOUT");
  assert.equal(h.ipc.heldBy(p.pid), 2, "timed-out waiters leave nothing parked");
});

Deno.test("pipe: inherit passes ends to a child; the pipe survives its creator", async () => {
  const h = harness();
  const parent = h.spawn();
  const child = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(parent, "ipc.pipe", {});
  assert.deepEqual(h.ipc.inherit(parent.pid, child.pid, [readFd]), [readFd]);
  await h.ok(parent, "ipc.write", { fd: writeFd, data: b64("from parent") });
  const parentBytes = h.ipc.bytesOf(parent.pid);
  assert.ok(parentBytes > 0);
  h.ipc.releaseAll(parent.pid);
  assert.equal(h.ipc.bytesOf(parent.pid), 0);
  assert.equal(h.arena.usageOfPid(parent.pid), 0);
  assert.equal(h.ipc.bytesOf(child.pid), parentBytes, "buffered bytes re-charged to the surviving holder");
  const got = await h.ok<Read>(child, "ipc.read", { fd: readFd, max: 100 });
  assert.deepEqual([unb64(got.data), got.eof], ["from parent", true]);
  await h.ok(child, "ipc.close", { fd: readFd });
  assert.equal(h.arena.stats().usedBytes, 0);
  assert.throws(() => h.ipc.inherit(child.pid, parent.pid, [77]), /descriptor|holds/);
});
