import assert from "node:assert/strict";
import fc from "fast-check";
import { KernelError } from "../../../kernel/errno.ts";
import {
  Arena,
  type ArenaBlock,
  arenaBytesDefault,
  arenaBytesMax,
  arenaBytesMin,
  type ArenaOwner,
  sizeClassBytesMax,
  sizeClassBytesMin,
  sizeClassLinearBytesStep,
  sizeClassPow2BytesMax,
} from "../../../kernel/memory/mod.ts";

const KiB = 1024;
const alice: ArenaOwner = { pid: 1, tenant: "acme" };
const bob: ArenaOwner = { pid: 2, tenant: "acme" };
const carol: ArenaOwner = { pid: 3, tenant: "globex" };

/** Reference rounding, written independently of the arena's bit tricks. */
function expectedCapacity(bytes: number): number {
  if (bytes <= sizeClassPow2BytesMax) {
    let size = sizeClassBytesMin;
    while (size < bytes) size *= 2;
    return size;
  }
  if (bytes <= sizeClassBytesMax) {
    return Math.ceil(bytes / sizeClassLinearBytesStep) *
      sizeClassLinearBytesStep;
  }
  return Math.ceil(bytes / sizeClassBytesMin) * sizeClassBytesMin;
}

/** Every segregated class: 64 B … 4 KiB by powers of two, 8 KiB … 64 KiB by 8 KiB. */
function segregatedClasses(): number[] {
  const classes: number[] = [];
  for (let size = sizeClassBytesMin; size <= sizeClassPow2BytesMax; size *= 2) {
    classes.push(size);
  }
  for (
    let size = sizeClassLinearBytesStep;
    size <= sizeClassBytesMax;
    size += sizeClassLinearBytesStep
  ) classes.push(size);
  return classes;
}

function throwsErrno(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(
      error instanceof KernelError,
      `expected KernelError, got ${error}`,
    );
    assert.equal(error.code, code);
    return true;
  });
}

function assertPristine(arena: Arena): void {
  arena.checkInvariants();
  const stats = arena.stats();
  assert.equal(stats.usedBytes, 0);
  assert.equal(stats.blocks, 0);
  assert.equal(stats.freeBytes, arena.capacityBytes);
  assert.equal(stats.largestFreeBytes, arena.capacityBytes);
}

Deno.test("constructor: default size, and asserts multiple of 64 and >= 64 KiB", () => {
  const arena = new Arena();
  assert.equal(arena.capacityBytes, arenaBytesDefault);
  assert.equal(arena.capacityBytes, 64 * KiB * KiB);
  assertPristine(arena);
  assert.throws(
    () => new Arena({ capacityBytes: arenaBytesMin - 64 }),
    /multiple/,
  );
  assert.throws(
    () => new Arena({ capacityBytes: arenaBytesMin + 32 }),
    /multiple/,
  );
  assert.throws(() => new Arena({ capacityBytes: Number.NaN }), /multiple/);
  assert.throws(() => new Arena({ capacityBytes: arenaBytesMax + 64 }), /multiple/);
  assertPristine(new Arena({ capacityBytes: arenaBytesMin }));
});

Deno.test("alloc: rounds each request to its size class", () => {
  const arena = new Arena({ capacityBytes: 1024 * KiB });
  const cases: [number, number][] = [
    [1, 64],
    [64, 64],
    [65, 128],
    [100, 128],
    [129, 256],
    [1000, 1024],
    [4095, 4096],
    [4096, 4096],
    [4097, 8192],
    [8192, 8192],
    [8193, 16384],
    [60 * KiB, 64 * KiB],
    [64 * KiB, 64 * KiB],
    [64 * KiB + 1, 64 * KiB + 64],
    [100_000, 100_032],
  ];
  for (const [bytes, capacity] of cases) {
    const block = arena.alloc(bytes, alice);
    assert.equal(block.capacity, capacity, `capacity of ${bytes}`);
    assert.equal(block.capacity, expectedCapacity(bytes));
    assert.equal(block.bytes, bytes);
    assert.equal(block.offset % 64, 0);
    assert.equal(arena.view(block).length, bytes);
    assert.equal(arena.usageOfPid(1), capacity);
    arena.checkInvariants();
    arena.free(block);
    assertPristine(arena);
  }
});

Deno.test("alloc: every segregated class reuses a freed hole of its own class", () => {
  const arena = new Arena({ capacityBytes: 1024 * KiB });
  for (const size of segregatedClasses()) {
    const before = arena.alloc(size, alice);
    const hole = arena.alloc(size, alice);
    const after = arena.alloc(size, alice);
    arena.free(hole); // both neighbours used: stays a free block of exactly `size`
    arena.checkInvariants();
    const again = arena.alloc(
      size - 1 > sizeClassBytesMin ? size - 1 : size,
      bob,
    );
    assert.equal(again.offset, hole.offset, `class ${size} reused its hole`);
    assert.equal(again.capacity, size);
    arena.checkInvariants();
    for (const block of [before, after, again]) arena.free(block);
    assertPristine(arena);
  }
});

Deno.test("alloc: splits a larger free block, carving from its tail", () => {
  const arena = new Arena({ capacityBytes: 256 * KiB });
  const left = arena.alloc(64, alice);
  const hole = arena.alloc(8 * KiB, alice);
  const right = arena.alloc(64, alice);
  arena.free(hole);
  const small = arena.alloc(64, bob);
  assert.equal(
    small.offset,
    hole.offset + 8 * KiB - 64,
    "carved off the hole's tail",
  );
  arena.checkInvariants();
  const mid = arena.alloc(4 * KiB, bob); // from the 8128-byte remainder
  assert.equal(mid.offset, hole.offset + 8 * KiB - 64 - 4 * KiB);
  arena.checkInvariants();
  const large = arena.alloc(100 * KiB, carol); // from the big tail block
  assert.equal(
    large.offset + large.capacity,
    right.offset,
    "tail of the big free block",
  );
  arena.checkInvariants();
  for (const block of [left, right, small, mid, large]) arena.free(block);
  assertPristine(arena);
});

Deno.test("free: coalesces with the left, the right and both neighbours", () => {
  const arena = new Arena({ capacityBytes: 256 * KiB });
  const blocks = [0, 1, 2, 3, 4, 5].map(() => arena.alloc(1 * KiB, alice));
  const guard = arena.alloc(64, alice);
  const largest = () => arena.stats().largestFreeBytes;
  const tailFree = largest();
  // blocks are carved downwards: blocks[i + 1] sits left of blocks[i]
  arena.free(blocks[1]);
  arena.free(blocks[2]); // merges with its right neighbour blocks[1]
  arena.checkInvariants();
  arena.free(blocks[4]);
  arena.free(blocks[3]); // merges with both
  arena.checkInvariants();
  assert.equal(tailFree, largest(), "the tail block is still the largest");
  arena.free(guard);
  arena.free(blocks[0]);
  arena.checkInvariants();
  const hole = arena.alloc(4 * KiB, bob);
  // blocks[4…0] coalesced into one 5 KiB run; 4 KiB is carved off its tail
  assert.equal(hole.offset, blocks[3].offset);
  assert.equal(
    arena.stats().largestFreeBytes,
    tailFree + 64,
    "guard merged into the tail",
  );
  arena.free(hole);
  arena.free(blocks[5]);
  assertPristine(arena);
});

Deno.test("free: large blocks coalesce in the sorted index", () => {
  const arena = new Arena({ capacityBytes: 1024 * KiB });
  const blocks = [0, 1, 2, 3].map(() => arena.alloc(200 * KiB, alice));
  const rest = arena.alloc(arena.stats().largestFreeBytes, alice);
  assert.equal(arena.stats().freeBytes, 0);
  arena.free(blocks[0]);
  arena.free(blocks[2]);
  arena.checkInvariants();
  throwsErrno(() => arena.alloc(300 * KiB, bob), "ENOMEM");
  throwsErrno(() => arena.alloc(200 * KiB + 1, bob), "ENOMEM"); // one unit short
  const exact = arena.alloc(200 * KiB, bob); // exact fit: takes a whole hole
  assert.equal(exact.offset, blocks[2].offset, "address-ordered first fit");
  arena.free(exact);
  arena.free(blocks[1]);
  arena.checkInvariants();
  assert.equal(arena.stats().largestFreeBytes, 600 * KiB);
  const big = arena.alloc(600 * KiB, bob);
  arena.free(big);
  arena.free(rest);
  arena.free(blocks[3]);
  assertPristine(arena);
});

Deno.test("alloc: bad sizes are EINVAL, oversize is E2BIG", () => {
  const arena = new Arena({ capacityBytes: 64 * KiB });
  for (const bytes of [0, -1, 1.5, Number.NaN, Infinity, -Infinity]) {
    throwsErrno(() => arena.alloc(bytes, alice), "EINVAL");
  }
  throwsErrno(() => arena.alloc("64" as unknown as number, alice), "EINVAL");
  throwsErrno(() => arena.alloc(64 * KiB + 1, alice), "E2BIG");
  throwsErrno(() => arena.alloc(Number.MAX_SAFE_INTEGER, alice), "E2BIG");
  assert.equal(
    arena.stats().failures,
    0,
    "argument errors are not ENOMEM failures",
  );
  const all = arena.alloc(64 * KiB, alice);
  assert.equal(all.capacity, 64 * KiB);
  arena.free(all);
  assertPristine(arena);
});

Deno.test("alloc: a full arena is ENOMEM and stays usable", () => {
  const arena = new Arena({ capacityBytes: 64 * KiB });
  const blocks: ArenaBlock[] = [];
  for (let i = 0; i < 16; i++) {
    blocks.push(arena.alloc(4 * KiB, i % 2 ? alice : carol));
  }
  assert.equal(arena.stats().freeBytes, 0);
  throwsErrno(() => arena.alloc(1, bob), "ENOMEM");
  assert.equal(arena.stats().failures, 1);
  arena.checkInvariants();
  arena.free(blocks[3]);
  arena.free(blocks[5]); // 8 KiB free, but not contiguous
  throwsErrno(() => arena.alloc(8 * KiB, bob), "ENOMEM");
  assert.equal(arena.stats().failures, 2);
  const fits = arena.alloc(4 * KiB, bob);
  assert.equal(fits.offset, blocks[5].offset);
  arena.checkInvariants();
  for (const block of [...blocks.filter((_, i) => i !== 3 && i !== 5), fits]) {
    arena.free(block);
  }
  assertPristine(arena);
  assert.deepEqual(
    { allocs: arena.stats().allocs, frees: arena.stats().frees },
    { allocs: 17, frees: 17 },
  );
});

Deno.test("quota: per pid is ENOMEM for that pid only, counted by capacity", () => {
  const arena = new Arena({ capacityBytes: 256 * KiB });
  arena.quotas.setPid(1, 1 * KiB);
  const a = arena.alloc(600, alice); // 1 KiB class: exactly at quota
  assert.equal(arena.usageOfPid(1), 1 * KiB);
  assert.equal(arena.usageOfTenant("acme"), 1 * KiB);
  throwsErrno(() => arena.alloc(1, alice), "ENOMEM");
  const b = arena.alloc(32 * KiB, bob); // same tenant, other pid: unaffected
  assert.equal(arena.usageOfTenant("acme"), 33 * KiB);
  assert.equal(arena.stats().failures, 1);
  arena.free(a);
  const c = arena.alloc(1 * KiB, alice);
  arena.quotas.clearPid(1);
  const d = arena.alloc(10 * KiB, alice);
  arena.checkInvariants();
  for (const block of [b, c, d]) arena.free(block);
  assert.equal(arena.usageOfPid(1), 0);
  assert.equal(arena.usageOfTenant("acme"), 0);
  assertPristine(arena);
});

Deno.test("quota: per tenant is ENOMEM for all its pids, other tenants unaffected", () => {
  const arena = new Arena({ capacityBytes: 256 * KiB });
  arena.quotas.setTenant("acme", 16 * KiB);
  const a = arena.alloc(8 * KiB, alice);
  const b = arena.alloc(5000, bob); // rounds to 8 KiB: tenant now at quota
  throwsErrno(() => arena.alloc(64, alice), "ENOMEM");
  throwsErrno(() => arena.alloc(64, bob), "ENOMEM");
  const c = arena.alloc(100 * KiB, carol);
  assert.equal(arena.usageOfTenant("globex"), 100 * KiB);
  assert.equal(arena.usageOfTenant("acme"), 16 * KiB);
  assert.equal(arena.usageOfPid(2), 8 * KiB);
  arena.quotas.setTenant("acme", 0);
  arena.free(a);
  throwsErrno(() => arena.alloc(64, alice), "ENOMEM");
  arena.quotas.clearTenant("acme");
  const d = arena.alloc(64, alice);
  for (const block of [b, c, d]) arena.free(block);
  assertPristine(arena);
});

Deno.test("quotas/usageOf: wrong key types and bad limits are assertions", () => {
  const arena = new Arena({ capacityBytes: 64 * KiB });
  assert.throws(() => arena.quotas.setPid("1" as unknown as number, 10), /pid key/);
  assert.throws(() => arena.quotas.setTenant(1 as unknown as string, 10), /tenant key/);
  assert.throws(() => arena.quotas.setPid(1, -1), /bytesMax/);
  assert.throws(() => arena.quotas.setPid(1, 1.5), /bytesMax/);
  assert.throws(() => arena.usageOfPid(-1), /pid key/);
  assert.throws(() => arena.alloc(64, { pid: -1, tenant: "x" }), /owner/);
  assert.throws(() => arena.alloc(64, { pid: 1, tenant: "" }), /owner/);
  assert.equal(arena.usageOfTenant("nobody"), 0);
});

Deno.test("free: double free, stale and forged handles throw without corrupting", () => {
  const arena = new Arena({ capacityBytes: 64 * KiB });
  const a = arena.alloc(100, alice);
  const keep = arena.alloc(100, bob);
  arena.free(a);
  const before = arena.stats();
  assert.throws(() => arena.free(a), /not live/);
  assert.throws(() => arena.view(a), /not live/);
  assert.deepEqual(arena.stats(), before);
  arena.checkInvariants();
  const b = arena.alloc(100, alice); // same offset as `a`, new id
  assert.equal(b.offset, a.offset);
  assert.throws(
    () => arena.free(a),
    /not live/,
    "stale handle to a reused offset",
  );
  assert.throws(() => arena.free({ ...b, capacity: 4096 }), /does not match/);
  assert.throws(() => arena.view({ ...b, bytes: 129 }), /does not match/);
  assert.throws(() => arena.free({ ...b, pid: 9 }), /does not match/);
  assert.throws(() => arena.free({ ...b, offset: b.offset + 1 }), /offset/);
  assert.throws(() => arena.free({ ...b, offset: 64 * KiB }), /offset/);
  arena.checkInvariants();
  arena.free(b);
  arena.free(keep);
  assertPristine(arena);
});

Deno.test("view: is zeroed on alloc, even over a previous owner's data", () => {
  const arena = new Arena({ capacityBytes: 64 * KiB });
  const guard = arena.alloc(64, carol);
  const secret = arena.alloc(200, carol);
  arena.view(secret).fill(0xaa);
  arena.free(secret);
  const next = arena.alloc(200, alice);
  assert.equal(next.offset, secret.offset);
  assert.ok(arena.view(next).every((byte) => byte === 0));
  arena.free(next);
  arena.free(guard);
});

Deno.test("freeAllOf: releases exactly one pid's blocks", () => {
  const arena = new Arena({ capacityBytes: 1024 * KiB });
  const mine = [100, 5000, 70 * KiB, 64].map((n) => arena.alloc(n, alice));
  const other = arena.alloc(3000, { pid: 1, tenant: "globex" }); // same pid, other tenant
  const theirs = arena.alloc(1000, bob);
  arena.view(theirs).fill(7);
  const result = arena.freeAllOf(1);
  assert.deepEqual(result, {
    blocks: 5,
    bytes: 128 + 8 * KiB + 70 * KiB + 64 + 4 * KiB,
  });
  assert.equal(arena.usageOfPid(1), 0);
  assert.equal(arena.usageOfTenant("globex"), 0);
  assert.equal(arena.usageOfTenant("acme"), 1 * KiB);
  assert.ok(arena.view(theirs).every((byte) => byte === 7));
  for (const block of [...mine, other]) {
    assert.throws(() => arena.free(block), /not live/);
  }
  arena.checkInvariants();
  assert.deepEqual(arena.freeAllOf(1), { blocks: 0, bytes: 0 });
  assert.deepEqual(arena.freeAllOf(2), { blocks: 1, bytes: 1 * KiB });
  assertPristine(arena);
  assert.equal(arena.stats().frees, 6);
});

// ---------------------------------------------------------------- properties

const propertyArenaBytes = 512 * KiB;
const owners: ArenaOwner[] = [
  { pid: 1, tenant: "a" },
  { pid: 2, tenant: "a" },
  { pid: 3, tenant: "b" },
  { pid: 4, tenant: "b" },
  { pid: 1, tenant: "b" },
];
/** Random bytes; a block with seed `s` holds `pattern[s … s + bytes)`. */
const pattern = (() => {
  const bytes = new Uint8Array(propertyArenaBytes + 256);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
})();

type Op =
  | { kind: "alloc"; bytes: number; owner: number }
  | { kind: "free"; pick: number }
  | { kind: "write"; pick: number; seed: number }
  | { kind: "verify" }
  | { kind: "freeAllOf"; owner: number };

const sizeArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 4 * KiB }), weight: 10 },
  { arbitrary: fc.integer({ min: 4 * KiB + 1, max: 64 * KiB }), weight: 4 },
  { arbitrary: fc.integer({ min: 64 * KiB + 1, max: 300 * KiB }), weight: 2 },
  {
    arbitrary: fc.constantFrom(0, -3, 1.5, Number.NaN, propertyArenaBytes + 1),
    weight: 1,
  },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      bytes: sizeArb,
      owner: fc.nat(owners.length - 1),
    }),
    weight: 10,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("free" as const),
      pick: fc.nat(),
    }),
    weight: 7,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      pick: fc.nat(),
      seed: fc.nat(255),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: "verify" as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("freeAllOf" as const),
      owner: fc.nat(owners.length - 1),
    }),
    weight: 1,
  },
);
const quotaArb = fc.record({
  pid: fc.dictionary(
    fc.constantFrom("1", "2", "3", "4"),
    fc.integer({ min: 0, max: 400 * KiB }),
  ),
  tenant: fc.dictionary(
    fc.constantFrom("a", "b"),
    fc.integer({ min: 0, max: 500 * KiB }),
  ),
});

interface Live {
  block: ArenaBlock;
  seed: number;
}

/** Runs `ops` against an arena and a model of it, checking both agree after every step. */
class Harness {
  readonly arena = new Arena({ capacityBytes: propertyArenaBytes });
  readonly live: Live[] = [];
  readonly pidQuota = new Map<number, number>();
  readonly tenantQuota = new Map<string, number>();
  failures = 0;

  constructor(
    quotas: { pid: Record<string, number>; tenant: Record<string, number> },
  ) {
    for (const [pid, max] of Object.entries(quotas.pid)) {
      this.pidQuota.set(Number(pid), max);
      this.arena.quotas.setPid(Number(pid), max);
    }
    for (const [tenant, max] of Object.entries(quotas.tenant)) {
      this.tenantQuota.set(tenant, max);
      this.arena.quotas.setTenant(tenant, max);
    }
  }

  held(kind: "pid" | "tenant", key: number | string): number {
    return this.live
      .filter(({ block }) => (kind === "pid" ? block.pid : block.tenant) === key)
      .reduce((sum, { block }) => sum + block.capacity, 0);
  }

  step(op: Op): void {
    switch (op.kind) {
      case "alloc":
        return this.alloc(op.bytes, owners[op.owner]);
      case "free": {
        if (this.live.length === 0) return;
        const [entry] = this.live.splice(op.pick % this.live.length, 1);
        this.verifyOne(entry);
        this.arena.free(entry.block);
        assert.throws(() => this.arena.free(entry.block), /not live/);
        return;
      }
      case "write": {
        if (this.live.length === 0) return;
        const entry = this.live[op.pick % this.live.length];
        entry.seed = op.seed;
        this.arena.view(entry.block).set(
          pattern.subarray(op.seed, op.seed + entry.block.bytes),
        );
        return;
      }
      case "verify":
        return this.verifyAll();
      case "freeAllOf": {
        const pid = owners[op.owner].pid;
        const mine = this.live.filter(({ block }) => block.pid === pid);
        const result = this.arena.freeAllOf(pid);
        assert.deepEqual(result, {
          blocks: mine.length,
          bytes: mine.reduce((sum, { block }) => sum + block.capacity, 0),
        });
        this.live.splice(
          0,
          this.live.length,
          ...this.live.filter(({ block }) => block.pid !== pid),
        );
        return;
      }
      default: {
        const never: never = op;
        throw new Error(`unknown op ${never}`);
      }
    }
  }

  alloc(bytes: number, owner: ArenaOwner): void {
    if (!Number.isInteger(bytes) || bytes <= 0) {
      return throwsErrno(() => this.arena.alloc(bytes, owner), "EINVAL");
    }
    if (bytes > propertyArenaBytes) {
      return throwsErrno(() => this.arena.alloc(bytes, owner), "E2BIG");
    }
    const capacity = expectedCapacity(bytes);
    const pidMax = this.pidQuota.get(owner.pid) ?? Infinity;
    const tenantMax = this.tenantQuota.get(owner.tenant) ?? Infinity;
    const overQuota = this.held("pid", owner.pid) + capacity > pidMax ||
      this.held("tenant", owner.tenant) + capacity > tenantMax;
    if (overQuota || this.arena.stats().largestFreeBytes < capacity) {
      this.failures++;
      return throwsErrno(() => this.arena.alloc(bytes, owner), "ENOMEM");
    }
    const block = this.arena.alloc(bytes, owner);
    assert.equal(block.capacity, capacity);
    const view = this.arena.view(block);
    assert.ok(view.every((byte) => byte === 0), "fresh block is zeroed");
    const seed = block.id % 256;
    view.set(pattern.subarray(seed, seed + bytes));
    this.live.push({ block, seed });
  }

  verifyOne({ block, seed }: Live): void {
    const view = this.arena.view(block);
    const expected = pattern.subarray(seed, seed + block.bytes);
    for (let i = 0; i < view.length; i++) {
      if (view[i] !== expected[i]) {
        assert.fail(`block ${block.id} clobbered at byte ${i}`);
      }
    }
  }

  verifyAll(): void {
    const sorted = this.live.map(({ block }) => block).sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      assert.ok(
        sorted[i - 1].offset + sorted[i - 1].capacity <= sorted[i].offset,
        "live blocks overlap",
      );
    }
    for (const entry of this.live) this.verifyOne(entry);
  }

  checkModel(): void {
    this.arena.checkInvariants();
    const stats = this.arena.stats();
    assert.equal(stats.blocks, this.live.length);
    assert.equal(
      stats.usedBytes,
      this.held("pid", 1) + this.held("pid", 2) + this.held("pid", 3) +
        this.held("pid", 4),
    );
    assert.equal(stats.failures, this.failures);
    for (const pid of [1, 2, 3, 4]) {
      assert.equal(this.arena.usageOfPid(pid), this.held("pid", pid));
    }
    for (const tenant of ["a", "b"]) {
      assert.equal(
        this.arena.usageOfTenant(tenant),
        this.held("tenant", tenant),
      );
    }
  }
}

Deno.test("property: random alloc/free/write/verify keep invariants and data", () => {
  fc.assert(
    fc.property(
      quotaArb,
      fc.array(opArb, { maxLength: 200 }),
      (quotas, ops) => {
        const harness = new Harness(quotas);
        for (const op of ops) {
          harness.step(op);
          harness.checkModel();
        }
        harness.verifyAll();
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: freeing everything, in any order, restores one full free block", () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { maxLength: 80 }),
      fc.infiniteStream(fc.nat()),
      (ops, picks) => {
        const harness = new Harness({ pid: {}, tenant: {} });
        for (const op of ops) harness.step(op);
        harness.verifyAll();
        const order = picks[Symbol.iterator]();
        while (harness.live.length > 0) {
          harness.step({ kind: "free", pick: order.next().value as number });
          harness.arena.checkInvariants();
        }
        assertPristine(harness.arena);
        for (const pid of [1, 2, 3, 4]) {
          assert.equal(harness.arena.usageOfPid(pid), 0);
        }
        const whole = harness.arena.alloc(propertyArenaBytes, owners[0]);
        harness.arena.free(whole);
      },
    ),
    { numRuns: 300 },
  );
});
