import assert from "node:assert/strict";
import {
  errnoId,
  EventKind,
  eventKindNames,
  EventRing,
  EventView,
  internedMax,
  Interner,
  ringSlotsDefault,
  toJSON,
} from "../../observability/mod.ts";

function fakeClock(startMs = 1_000): () => number {
  let now = startMs;
  return () => now++;
}

function emitN(ring: EventRing, n: number, pid = 1): void {
  for (let i = 0; i < n; i++) {
    ring.emit(EventKind.syscall, pid, 1, 0, 2, 0, i, i);
  }
}

Deno.test("ring: emits into struct-of-arrays and reads back in order", () => {
  const ring = new EventRing({ slots: 8, clock: fakeClock(5_000) });
  const reader = ring.reader();
  const seq = ring.emit(EventKind.denial, 42, 7, 99, 3, 1, 12.5, 4096, "x");
  assert.equal(seq, 0);
  const view = new EventView();
  assert.equal(reader.next(view), true);
  assert.deepEqual({ ...view }, {
    seq: 0,
    timestampMs: 5_000,
    kind: EventKind.denial,
    pid: 42,
    tenantId: 7,
    causality: 99,
    nameId: 3,
    errnoId: 1,
    latencyUs: 12.5,
    bytes: 4096,
    detail: "x",
    subject: 0,
  });
  assert.equal(reader.next(view), false);
  assert.equal(ring.emitted, 1);
  assert.equal(ring.overwritten, 0);
});

Deno.test("ring: slot count must be a power of two", () => {
  assert.equal(new EventRing().slots, ringSlotsDefault);
  assert.throws(() => new EventRing({ slots: 1000 }), /power of two/);
  assert.throws(() => new EventRing({ slots: 0 }), /power of two/);
  assert.throws(() => new EventRing({ slots: 1 }), /power of two/);
});

Deno.test("ring: rejects an unknown event kind", () => {
  const ring = new EventRing({ slots: 4 });
  assert.throws(() => ring.emit(eventKindNames.length, 1, 1, 0, 0, 0, 0, 0));
  assert.throws(() => ring.emit(-1, 1, 1, 0, 0, 0, 0, 0));
  assert.equal(ring.emitted, 0);
});

Deno.test("ring: wraparound overwrites the oldest and counts it", () => {
  const ring = new EventRing({ slots: 8, clock: fakeClock() });
  const reader = ring.reader(0);
  emitN(ring, 20);
  assert.equal(ring.emitted, 20);
  assert.equal(ring.overwritten, 12);
  assert.equal(ring.oldestSeq, 12);
  const view = new EventView();
  const seen: number[] = [];
  while (reader.next(view)) seen.push(view.seq);
  assert.deepEqual(seen, [12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(reader.dropped, 12);
  // Payloads belong to the right sequence numbers after wrapping.
  assert.equal(ring.read(19, view), true);
  assert.equal(view.latencyUs, 19);
  assert.equal(ring.read(11, view), false);
  assert.equal(ring.read(20, view), false);
});

Deno.test("ring: readers keep independent cursors", () => {
  const ring = new EventRing({ slots: 16 });
  const a = ring.reader();
  emitN(ring, 5);
  const b = ring.reader(); // starts at the head: sees only later events
  const c = ring.reader(ring.oldestSeq); // backlog
  emitN(ring, 3);
  const view = new EventView();
  const drain = (r: ReturnType<EventRing["reader"]>) => {
    const seqs: number[] = [];
    while (r.next(view)) seqs.push(view.seq);
    return seqs;
  };
  assert.equal(a.next(view), true);
  assert.equal(view.seq, 0);
  assert.deepEqual(drain(b), [5, 6, 7]);
  assert.deepEqual(drain(a), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(drain(c), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(a.dropped + b.dropped + c.dropped, 0);
  // A cursor in the future is clamped to the head.
  assert.equal(ring.reader(1_000).cursor, 8);
  assert.throws(() => ring.reader(-1));
  assert.throws(() => ring.reader(1.5));
});

Deno.test("ring: a reader that never reads does not affect the writer", () => {
  const clock = fakeClock();
  const withReaders = new EventRing({ slots: 32, clock });
  const idle = Array.from({ length: 10 }, () => withReaders.reader(0));
  const clock2 = fakeClock();
  const alone = new EventRing({ slots: 32, clock: clock2 });
  emitN(withReaders, 1_000);
  emitN(alone, 1_000);
  assert.equal(withReaders.emitted, alone.emitted);
  assert.equal(withReaders.overwritten, alone.overwritten);
  assert.deepEqual(withReaders.latencyUs, alone.latencyUs);
  assert.deepEqual(withReaders.timestampMs, alone.timestampMs);
  for (const r of idle) {
    assert.equal(r.cursor, 0);
    assert.equal(r.lag, 1_000);
  }
  // When it finally reads, it gets the newest `slots` events and counts the rest.
  const view = new EventView();
  let read = 0;
  while (idle[0].next(view)) read++;
  assert.equal(read, 32);
  assert.equal(idle[0].dropped, 1_000 - 32);
});

Deno.test("ring: a 1,000,000-event burst is absorbed with drops counted", () => {
  const ring = new EventRing({ clock: fakeClock() });
  const late = ring.reader(0);
  const slow = ring.reader(0);
  const view = new EventView();
  let slowRead = 0;
  for (let i = 0; i < 1_000_000; i++) {
    ring.emit(EventKind.syscall, i & 1023, 1, 0, 2, 0, 1, i);
    if (i % 10_000 === 9_999) {
      slowRead += slow.readBatch(1_000, () => {});
    }
  }
  assert.equal(ring.emitted, 1_000_000);
  assert.equal(ring.overwritten, 1_000_000 - ringSlotsDefault);
  // Every event is accounted for: read, dropped or still pending.
  assert.equal(slowRead + slow.dropped + slow.lag, 1_000_000);
  assert.ok(slow.dropped > 0);
  let lateRead = 0;
  let lastSeq = -1;
  while (late.next(view)) {
    assert.equal(
      view.seq,
      lastSeq === -1 ? 1_000_000 - ringSlotsDefault : lastSeq + 1,
    );
    assert.equal(view.bytes, view.seq); // payload matches its sequence number
    lastSeq = view.seq;
    lateRead++;
  }
  assert.equal(lateRead, ringSlotsDefault);
  assert.equal(late.dropped, 1_000_000 - ringSlotsDefault);
  assert.equal(lastSeq, 999_999);
});

Deno.test("ring: readBatch hands out a reused view and respects max", () => {
  const ring = new EventRing({ slots: 64 });
  const reader = ring.reader();
  emitN(ring, 10);
  const views = new Set<EventView>();
  const seqs: number[] = [];
  assert.equal(
    reader.readBatch(4, (v) => {
      views.add(v);
      seqs.push(v.seq);
    }),
    4,
  );
  assert.equal(reader.readBatch(100, (v) => seqs.push(v.seq)), 6);
  assert.equal(reader.readBatch(100, () => {}), 0);
  assert.equal(views.size, 1);
  assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("ring: toJSON materialises names, errno and detail", () => {
  const names = new Interner();
  const ring = new EventRing({ slots: 4, clock: () => 1_700_000_000_000.5 });
  ring.emit(
    EventKind.syscall,
    3,
    2,
    77,
    names.intern("fs.read"),
    errnoId("ENOENT"),
    250,
    0,
    "/workspace/missing",
  );
  ring.emit(EventKind.lifecycle, 3, 2, 77, names.intern("exit"), 0, 0, 0);
  const view = new EventView();
  ring.read(0, view);
  assert.deepEqual(toJSON(view, names), {
    seq: 0,
    timestampMs: 1_700_000_000_000.5,
    kind: "syscall",
    pid: 3,
    tenantId: 2,
    causality: 77,
    name: "fs.read",
    errno: "ENOENT",
    latencyUs: 250,
    bytes: 0,
    detail: "/workspace/missing",
  });
  ring.read(1, view);
  const json = toJSON(view, names);
  assert.equal(json.kind, "lifecycle");
  assert.equal(json.errno, null);
  assert.equal("detail" in json, false);
  assert.equal(errnoId(undefined), 0);
  assert.throws(() => errnoId("EWHAT" as never));
});

Deno.test("ring: default clock is wall time in ms", () => {
  const ring = new EventRing({ slots: 2 });
  const before = Date.now();
  ring.emit(EventKind.syscall, 0, 0, 0, 0, 0, 0, 0);
  const view = new EventView();
  ring.read(0, view);
  assert.ok(Math.abs(view.timestampMs - before) < 60_000);
});

Deno.test("interner: bounded table maps overflow to the reserved id", () => {
  const names = new Interner();
  assert.equal(names.intern(""), Interner.emptyId);
  assert.equal(names.name(Interner.otherId), "other");
  const ids = new Set<number>();
  for (let i = 0; i < internedMax + 1_000; i++) {
    ids.add(names.intern(`call${i}`));
  }
  assert.equal(names.size, internedMax);
  assert.equal(names.overflow, 1_002); // 4096 - 2 reserved ids fit
  assert.equal(ids.size, internedMax - 2 + 1); // unique ids plus "other"
  assert.ok(ids.has(Interner.otherId));
  // Known strings keep resolving; unknown ones stay "other".
  assert.equal(names.name(names.intern("call0")), "call0");
  assert.equal(names.intern("call4095"), Interner.otherId);
  assert.equal(names.lookup("never"), undefined);
  assert.equal(names.overflow, 1_003);
  // Ids fit the ring's 16-bit errno and 32-bit name columns.
  assert.ok(Math.max(...ids) < 65_536);
});

Deno.test("interner: overlong strings are not interned", () => {
  const names = new Interner(16);
  assert.equal(names.intern("x".repeat(10_000)), Interner.otherId);
  assert.equal(names.overflow, 1);
  assert.throws(() => new Interner(1));
});
