import assert from "node:assert/strict";
import { messageBytesMax, nameCharsMax, pipeBufferBytesMax } from "../../../kernel/ipc/mod.ts";
import { b64, harness } from "./helpers.ts";

type Fds = { readFd: number; writeFd: number };

Deno.test("bad input: descriptors not held are EBADF", async () => {
  const h = harness();
  const p = h.spawn();
  const other = h.spawn();
  const { readFd } = await h.ok<Fds>(other, "ipc.pipe", {});
  assert.equal(await h.err(p, "ipc.read", { fd: readFd, max: 10 }), "EBADF");
  assert.equal(await h.err(p, "ipc.read", { fd: 0, max: 10 }), "EBADF");
  assert.equal(await h.err(p, "ipc.write", { fd: 1, data: b64("x") }), "EBADF");
});

Deno.test("bad input: a 10 MB queue or topic name is E2BIG, answered cheaply", async () => {
  const h = harness();
  const p = h.spawn();
  const huge = "n".repeat(10 * 1024 * 1024);
  const started = performance.now();
  assert.equal(await h.err(p, "ipc.mq.open", { name: huge, kind: "fifo" }), "E2BIG");
  assert.equal(await h.err(p, "ipc.topic.subscribe", { name: huge }), "E2BIG");
  assert.equal(await h.err(p, "ipc.topic.publish", { name: huge, data: "x" }), "E2BIG");
  const tookMs = performance.now() - started;
  assert.equal(await h.err(p, "ipc.mq.open", { name: "x".repeat(nameCharsMax + 1), kind: "fifo" }), "E2BIG");
  await h.ok(p, "ipc.mq.open", { name: "x".repeat(nameCharsMax), kind: "fifo" });
  assert.equal(await h.err(p, "ipc.mq.open", { name: "", kind: "fifo" }), "EINVAL");
  assert.equal(h.ipc.heldBy(p.pid), 1, "nothing was created for the oversized names");
  // Not a timing assertion on the machine, only a sanity bound against scanning 10 MB thrice per byte.
  assert.ok(tookMs < 5_000);
});

Deno.test("bad input: oversized payloads are E2BIG", async () => {
  const h = harness();
  const p = h.spawn();
  const { writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  const big = new Uint8Array(pipeBufferBytesMax + 1).toBase64();
  assert.equal(await h.err(p, "ipc.write", { fd: writeFd, data: big }), "E2BIG");
  assert.equal(await h.err(p, "ipc.write", { fd: writeFd, data: "A".repeat(10 * 1024 * 1024) }), "E2BIG");
  const { id } = await h.ok<{ id: string }>(p, "ipc.mq.open", { name: "q", kind: "fifo" });
  assert.equal(await h.err(p, "ipc.mq.send", { id, data: "é".repeat(messageBytesMax / 2 + 1) }), "E2BIG");
  assert.equal(await h.err(p, "ipc.mq.send", { id, data: "x".repeat(10 * 1024 * 1024) }), "E2BIG");
  assert.equal(await h.err(p, "ipc.topic.publish", { name: "t", data: "x".repeat(messageBytesMax + 1) }), "E2BIG");
});

Deno.test("bad input: negative sizes, offsets and unknown keys are EINVAL", async () => {
  const h = harness();
  const p = h.spawn();
  const { readFd, writeFd } = await h.ok<Fds>(p, "ipc.pipe", {});
  const { id } = await h.ok<{ id: string }>(p, "ipc.mq.open", { name: "q", kind: "priority" });
  const cases: [string, unknown][] = [
    ["ipc.read", { fd: readFd, max: -1 }],
    ["ipc.read", { fd: -3, max: 1 }],
    ["ipc.read", { fd: readFd, max: 1, timeoutMs: -5 }],
    ["ipc.write", { fd: writeFd, data: "!!not base64!!" }],
    ["ipc.write", { fd: writeFd, data: b64("x"), extra: 1 }],
    ["ipc.pipe", { size: 1 }],
    ["ipc.close", { fd: "3" }],
    ["ipc.mq.open", { name: "q2", kind: "lifo" }],
    ["ipc.mq.open", { name: "q2", kind: "fifo", maxMessages: -1 }],
    ["ipc.mq.open", { name: "q2", kind: "fifo", maxMessages: 0 }],
    ["ipc.mq.send", { id, data: "x", priority: -1 }],
    ["ipc.mq.send", { id, data: 5 }],
    ["ipc.mq.recv", { id, timeoutMs: -1 }],
    ["ipc.topic.subscribe", { name: "t", __proto__x: 1 }],
    ["ipc.topic.recv", { sub: "x", timeoutMs: -1 }],
    ["ipc.shm.create", { size: -4096 }],
    ["ipc.shm.read", { id: "shm_0", offset: -1, length: 1 }],
    ["ipc.shm.write", { id: "shm_0", offset: -1, data: "" }],
    ["ipc.shm.attach", { id: "shm_0", mode: "rw" }],
  ];
  for (const [call, args] of cases) {
    assert.equal(await h.err(p, call, args), "EINVAL", `${call} ${JSON.stringify(args)}`);
  }
});

Deno.test("bad input: unknown and foreign ids are ENOENT; no capability is EACCES", async () => {
  const h = harness();
  const a = h.spawn("acme");
  const b = h.spawn("globex");
  const { id } = await h.ok<{ id: string }>(a, "ipc.shm.create", { size: 128 });
  assert.equal(await h.err(b, "ipc.shm.attach", { id }), "ENOENT");
  assert.equal(await h.err(a, "ipc.shm.attach", { id: "shm_0000000000000000" }), "ENOENT");
  assert.equal(await h.err(a, "ipc.mq.send", { id, data: "wrong kind of id" }), "ENOENT");
  assert.equal(await h.err(a, "ipc.topic.recv", { sub: id }), "ENOENT");
  const noCap = h.spawn("acme", []);
  assert.equal(await h.err(noCap, "ipc.pipe", {}), "EACCES");
  assert.equal(await h.err(noCap, "ipc.shm.attach", { id }), "EACCES");
});
