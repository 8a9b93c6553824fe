import assert from "node:assert/strict";
import { shmBytesMax } from "../../../kernel/ipc/mod.ts";
import { b64, harness, unb64 } from "./helpers.ts";

type Id = { id: string };

Deno.test("shm: read/write round trip, zeroed, shared between attached pids", async () => {
  const h = harness();
  const a = h.spawn();
  const b = h.spawn();
  const { id } = await h.ok<Id>(a, "ipc.shm.create", { size: 100 });
  assert.match(id, /^shm_[0-9a-f]{16}$/);
  assert.equal(await h.ok(a, "ipc.shm.read", { id, offset: 0, length: 4 }), new Uint8Array(4).toBase64());
  assert.equal(await h.ok(a, "ipc.shm.write", { id, offset: 10, data: b64("shared!") }), 7);
  assert.equal(await h.err(b, "ipc.shm.read", { id, offset: 10, length: 7 }), "EBADF", "not attached yet");
  assert.deepEqual(await h.ok(b, "ipc.shm.attach", { id }), { size: 100 });
  assert.equal(unb64(await h.ok<string>(b, "ipc.shm.read", { id, offset: 10, length: 7 })), "shared!");
  await h.ok(b, "ipc.shm.write", { id, offset: 96, data: b64("end!") });
  assert.equal(unb64(await h.ok<string>(a, "ipc.shm.read", { id, offset: 96, length: 4 })), "end!");
  assert.equal(await h.ok(a, "ipc.shm.read", { id, offset: 100, length: 0 }), "");
});

Deno.test("shm: out-of-range offsets and lengths are EINVAL; sizes checked", async () => {
  const h = harness();
  const p = h.spawn();
  const { id } = await h.ok<Id>(p, "ipc.shm.create", { size: 64 });
  assert.equal(await h.err(p, "ipc.shm.read", { id, offset: 60, length: 5 }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.read", { id, offset: 65, length: 0 }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.read", { id, offset: -1, length: 1 }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.read", { id, offset: 0, length: -1 }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.write", { id, offset: 62, data: b64("abc") }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.write", { id, offset: -3, data: b64("abc") }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.write", { id, offset: 0, data: "%%%not base64" }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.create", { size: -1 }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.create", { size: 0 }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.create", { size: 1.5 }), "EINVAL");
  assert.equal(await h.err(p, "ipc.shm.create", { size: shmBytesMax + 1 }), "E2BIG");
});

Deno.test("shm: another tenant's segment is ENOENT; freed after the last detach", async () => {
  const h = harness();
  const a = h.spawn("acme");
  const a2 = h.spawn("acme");
  const x = h.spawn("globex");
  const { id } = await h.ok<Id>(a, "ipc.shm.create", { size: 5000 });
  assert.equal(await h.err(x, "ipc.shm.attach", { id }), "ENOENT");
  assert.equal(await h.err(x, "ipc.shm.read", { id, offset: 0, length: 1 }), "ENOENT");
  assert.equal(await h.err(x, "ipc.shm.write", { id, offset: 0, data: b64("x") }), "ENOENT");
  await h.ok(a2, "ipc.shm.attach", { id });
  await h.ok(a, "ipc.shm.write", { id, offset: 0, data: b64("kept") });
  const used = h.arena.stats().usedBytes;
  assert.ok(used >= 5000);
  await h.ok(a, "ipc.shm.detach", { id });
  assert.equal(h.arena.stats().usedBytes, used, "still attached by a2");
  assert.equal(await h.err(a, "ipc.shm.detach", { id }), "EBADF");
  assert.equal(unb64(await h.ok<string>(a2, "ipc.shm.read", { id, offset: 0, length: 4 })), "kept");
  await h.ok(a2, "ipc.shm.detach", { id });
  assert.equal(h.arena.stats().usedBytes, 0);
  assert.equal(await h.err(a2, "ipc.shm.attach", { id }), "ENOENT");
});
