import assert from "node:assert/strict";
import { fdsPerPidMax, objectsPerTenantMax, pipeBufferBytesMax } from "../../../kernel/ipc/mod.ts";
import { b64, harness, settle } from "./helpers.ts";

type Fds = { readFd: number; writeFd: number };

Deno.test("ENOMEM: a pid quota stops pipe writes, queue sends and segments; others unaffected", async () => {
  const h = harness();
  const p = h.spawn();
  const q = h.spawn();
  h.arena.quotas.setPid(p.pid, 16 * 1024);
  const { writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  assert.equal(await h.err(p, "ipc.write", { fd: writeFd, data: new Uint8Array(32 * 1024).toBase64() }), "ENOMEM");
  assert.equal(await h.ok(p, "ipc.write", { fd: writeFd, data: b64("small fits") }), 10);
  assert.equal(await h.err(p, "ipc.shm.create", { size: 64 * 1024 }), "ENOMEM");
  const { id } = await h.ok<{ id: string }>(p, "ipc.mq.open", { name: "q", kind: "fifo" });
  let sent = 0;
  let code = "";
  for (let i = 0; i < 100 && code === ""; i++) {
    const done = await h.call(p, "ipc.mq.send", { id, data: "m".repeat(2000) });
    if (done.ok) sent++;
    else code = done.error.code;
  }
  assert.equal(code, "ENOMEM");
  assert.ok(sent > 0 && sent < 16);
  assert.ok(h.arena.usageOfPid(p.pid) <= 16 * 1024);
  await h.ok(q, "ipc.shm.create", { size: 64 * 1024 });
});

Deno.test("ENOMEM: a full arena answers ENOMEM, and the tenant object cap too", async () => {
  const h = harness(256 * 1024);
  const p = h.spawn();
  const ids: string[] = [];
  let code = "";
  while (code === "") {
    const done = await h.call(p, "ipc.shm.create", { size: 64 * 1024 });
    if (done.ok) ids.push((done.value as { id: string }).id);
    else code = done.error.code;
  }
  assert.equal(code, "ENOMEM");
  assert.ok(ids.length >= 1 && ids.length <= 4);
  const other = h.spawn("globex");
  let objects = 0;
  for (;;) {
    const done = await h.call(other, "ipc.topic.subscribe", { name: "t" });
    if (!done.ok) {
      assert.equal(done.error.code, "ENOMEM");
      break;
    }
    objects++;
  }
  assert.equal(objects, objectsPerTenantMax);
  const fds = h.spawn("initech");
  for (let i = 0; i < fdsPerPidMax / 2; i++) await h.ok(fds, "ipc.pipe", {});
  assert.equal(await h.err(fds, "ipc.pipe", {}), "ENOMEM");
});

Deno.test("releaseAll: frees everything of the pid, cancels its waiters with ECANCELED", async () => {
  const h = harness();
  const p = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  await h.ok(p, "ipc.write", { fd: writeFd, data: new Uint8Array(pipeBufferBytesMax).toBase64() });
  const second = await h.ok<Fds>(p, "ipc.pipe", {});
  const { id } = await h.ok<{ id: string }>(p, "ipc.mq.open", { name: "q", kind: "priority" });
  await h.ok(p, "ipc.mq.send", { id, data: "queued", priority: 3 });
  await h.ok<{ sub: string }>(p, "ipc.topic.subscribe", { name: "t" });
  await h.ok(p, "ipc.topic.publish", { name: "t", data: "backlog" });
  const { sub } = await h.ok<{ sub: string }>(p, "ipc.topic.subscribe", { name: "t" });
  const shm = await h.ok<{ id: string }>(p, "ipc.shm.create", { size: 10_000 });
  const blocked = [
    h.err(p, "ipc.write", { fd: writeFd, data: b64("more") }),
    h.err(p, "ipc.read", { fd: second.readFd, max: 1 }),
    h.err(p, "ipc.topic.recv", { sub }),
    h.err(p, "ipc.mq.recv", { id: (await h.ok<{ id: string }>(p, "ipc.mq.open", { name: "e", kind: "fifo" })).id }),
  ];
  await settle();
  assert.ok(h.ipc.heldBy(p.pid) >= 4 + 2 + 2 + 1 + 4);
  const bytes = h.arena.usageOfPid(p.pid);
  assert.ok(bytes > pipeBufferBytesMax);
  const released = h.ipc.releaseAll(p.pid);
  assert.deepEqual(released, { objects: 4 + 2 + 2 + 1, bytes });
  assert.deepEqual(await Promise.all(blocked), ["ECANCELED", "ECANCELED", "ECANCELED", "ECANCELED"]);
  assert.equal(h.ipc.heldBy(p.pid), 0);
  assert.equal(h.ipc.bytesOf(p.pid), 0);
  assert.equal(h.arena.usageOfPid(p.pid), 0);
  assert.equal(h.arena.stats().usedBytes, 0);
  assert.equal(h.ipc.tenants(), 0);
  assert.equal(await h.err(p, "ipc.read", { fd: readFd, max: 1 }), "EBADF");
  assert.equal(await h.err(p, "ipc.shm.attach", { id: shm.id }), "ENOENT");
  assert.deepEqual(h.ipc.releaseAll(p.pid), { objects: 0, bytes: 0 });
});

Deno.test("releaseAll: jointly held objects stay alive for the other holder", async () => {
  const h = harness();
  const a = h.spawn();
  const b = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(a, "ipc.pipe", {});
  h.ipc.inherit(a.pid, b.pid, [writeFd]);
  const { id } = await h.ok<{ id: string }>(a, "ipc.mq.open", { name: "q", kind: "fifo" });
  await h.ok(b, "ipc.mq.open", { name: "q", kind: "fifo" });
  await h.ok(a, "ipc.mq.send", { id, data: "from a" });
  const shm = await h.ok<{ id: string }>(a, "ipc.shm.create", { size: 300 });
  await h.ok(a, "ipc.shm.write", { id: shm.id, offset: 0, data: b64("a wrote") });
  await h.ok(b, "ipc.shm.attach", { id: shm.id });
  const bReading = h.err(b, "ipc.read", { fd: readFd, max: 1 });
  // b does not hold the read end; a blocked writer of b is EPIPE'd when a's read end goes.
  assert.equal(await bReading, "EBADF");
  await h.ok(b, "ipc.write", { fd: writeFd, data: new Uint8Array(pipeBufferBytesMax).toBase64() });
  const bWriting = h.err(b, "ipc.write", { fd: writeFd, data: b64("x") });
  await settle();
  h.ipc.releaseAll(a.pid);
  assert.equal(await bWriting, "EPIPE");
  assert.equal(h.arena.usageOfPid(a.pid), 0);
  assert.deepEqual(await h.ok(b, "ipc.mq.recv", { id }), { data: "from a", priority: 0 });
  assert.equal(await h.ok(b, "ipc.shm.read", { id: shm.id, offset: 0, length: 7 }), b64("a wrote"));
  h.ipc.releaseAll(b.pid);
  assert.equal(h.arena.stats().usedBytes, 0);
  assert.equal(h.ipc.tenants(), 0);
});

Deno.test("releaseAll: when the heir's quota is full the kernel keeps a shared object's bytes", async () => {
  const h = harness();
  const a = h.spawn();
  const b = h.spawn();
  const { id } = await h.ok<{ id: string }>(a, "ipc.shm.create", { size: 8192 });
  await h.ok(a, "ipc.shm.write", { id, offset: 8000, data: b64("survives") });
  await h.ok(b, "ipc.shm.attach", { id });
  h.arena.quotas.setPid(b.pid, 0);
  assert.deepEqual(h.ipc.releaseAll(a.pid), { objects: 1, bytes: 8192 });
  assert.equal(h.arena.usageOfPid(a.pid), 0);
  assert.equal(h.arena.usageOfPid(b.pid), 0);
  assert.equal(h.arena.usageOfPid(0), 8192);
  assert.equal(await h.ok(b, "ipc.shm.read", { id, offset: 8000, length: 8 }), b64("survives"));
  await h.ok(b, "ipc.shm.detach", { id });
  assert.equal(h.arena.stats().usedBytes, 0);
});
