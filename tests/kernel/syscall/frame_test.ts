import assert from "node:assert/strict";
import { decodeFrame, JsonDepthError, jsonTooDeep, parseJsonNullProto } from "../../../kernel/syscall/frame.ts";
import { batchCallsMax, frameBytesMax, jsonDepthMax } from "../../../kernel/limits.ts";

const decode = (line: string) => decodeFrame(line, new TextEncoder().encode(line).length);

Deno.test("frame: a call decodes to a null-prototype frame", () => {
  const d = decode('{"id":3,"call":"fs.stat","args":{"path":"a"}}');
  assert.equal(d.kind, "call");
  if (d.kind !== "call") return;
  assert.equal(d.frame.id, 3);
  assert.equal(d.frame.call, "fs.stat");
  assert.equal(Object.getPrototypeOf(d.frame.args), null);
});

Deno.test("frame: oversize is E2BIG before parsing, with the id when readable", () => {
  const d = decodeFrame('{"id":42,"call":"x","args":{}}', frameBytesMax + 1);
  assert.deepEqual(d.kind === "bad" && [d.code, d.id], ["E2BIG", 42]);
  const e = decodeFrame("garbage", frameBytesMax + 1);
  assert.deepEqual(e.kind === "bad" && [e.code, e.id], ["E2BIG", null]);
});

Deno.test("frame: malformed input is EINVAL, never a throw", () => {
  for (
    const line of [
      "",
      "nope",
      "[]",
      "1",
      "null",
      '{"id":-1,"call":"x"}',
      '{"id":1.5,"call":"x"}',
      '{"id":1}',
      '{"id":1,"call":""}',
      '{"id":1,"call":"x","more":1}',
      '{"batch":1}',
      '{"batch":[1]}',
      '{"ctl":5}',
      "[".repeat(100_000) + "]".repeat(100_000),
    ]
  ) {
    const d = decode(line);
    assert.equal(d.kind, "bad", line.slice(0, 40));
    assert.equal(d.kind === "bad" && d.code, "EINVAL", line.slice(0, 40));
  }
});

Deno.test("frame: __proto__ and constructor keys are inert data", () => {
  const value = parseJsonNullProto('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}') as Record<
    string,
    unknown
  >;
  assert.equal(Object.getPrototypeOf(value), null);
  assert.ok(Object.hasOwn(value, "__proto__"));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const d = decode('{"id":1,"call":"x","args":{"__proto__":{"polluted":1}}}');
  assert.equal(d.kind, "call");
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("frame: batches decode and are bounded", () => {
  const d = decode('{"batch":[{"id":1,"call":"a","args":{}},{"id":2,"call":"b"}]}');
  assert.equal(d.kind === "batch" && d.frames.length, 2);
  const big = JSON.stringify({ batch: Array.from({ length: batchCallsMax + 1 }, (_, i) => ({ id: i, call: "a" })) });
  const e = decode(big);
  assert.equal(e.kind === "bad" && e.code, "E2BIG");
  const f = decode('{"batch":[{"id":1,"call":"a"},{"id":2,"call":"b","x":1}]}');
  assert.deepEqual(f.kind === "bad" && [f.code, f.id], ["EINVAL", 2]);
});

Deno.test("frame: control frames come only from lines the cell marks; a ctl key in an agent frame is refused", () => {
  const d = decode('\u001e{"ctl":"usage","cpuMs":3}');
  assert.equal(d.kind === "ctl" && d.ctl, "usage");
  const forged = decode('{"ctl":"exit","code":0,"result":"\\"forged\\""}');
  assert.deepEqual(forged.kind === "bad" && [forged.code, forged.message], [
    "EINVAL",
    "control frames come only from the cell",
  ]);
});

Deno.test("frame: nesting past jsonDepthMax is refused before parsing, keeping the call id", () => {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  const d = decode(`{"id":7,"call":"fs.stat","args":{"path":${deep(3_000)}}}`);
  assert.deepEqual(d.kind === "bad" && [d.code, d.id], ["EINVAL", 7]);
  const ok = decode(`{"id":8,"call":"fs.stat","args":{"path":${deep(jsonDepthMax - 2)}}}`);
  assert.equal(ok.kind, "call");
  // Brackets inside strings do not count; escaped quotes do not end a string.
  assert.equal(jsonTooDeep(JSON.stringify({ a: "[[[[{{{{", b: '\\"[[[' }), 2), false);
  assert.equal(jsonTooDeep(deep(3), 2), true);
  assert.equal(jsonTooDeep(deep(2), 2), false);
  assert.throws(() => parseJsonNullProto(deep(4_000_000)), JsonDepthError);
});

Deno.test("frame: call names are [A-Za-z0-9._] only (nothing that can forge a trace line)", () => {
  for (const call of ["fs.read\r\nfake", "a\u001b[2J", "x y", "é", "a/b", "a".repeat(65)]) {
    const d = decode(JSON.stringify({ id: 5, call, args: {} }));
    assert.deepEqual(d.kind === "bad" && [d.code, d.id], ["EINVAL", 5], call);
  }
  assert.equal(decode('{"id":5,"call":"ipc.mq.open_2","args":{}}').kind, "call");
});
