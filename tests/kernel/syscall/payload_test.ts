import assert from "node:assert/strict";
import { encodeCompletion, fromBase64Yielding, payloadPieceChars } from "../../../kernel/syscall/payload.ts";
import type { Completion } from "../../../kernel/syscall/frame.ts";

const joined = (done: Completion) => {
  const { line } = encodeCompletion(done);
  return typeof line === "string" ? line : [...line].join("");
};

Deno.test("payload: large string results are written in pieces that parse back to the same completion", () => {
  const emoji = "😀";
  // A surrogate pair cut by the piece boundary, quotes, backslashes and control characters.
  const text = "a".repeat(payloadPieceChars - 1) + emoji + '"\\\n\u0001' + "b".repeat(payloadPieceChars);
  for (
    const done of [
      { id: 3, ok: true, value: text },
      { id: 4, ok: true, value: { status: 200, bodyBase64: "QUJD".repeat(payloadPieceChars), gone: undefined } },
      { id: 5, ok: true, value: { small: "x" } },
      { id: 6, ok: false, error: { code: "EIO", message: "m" } },
    ] as Completion[]
  ) {
    const line = joined(done);
    assert.ok(!line.includes("\n"));
    assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(done)));
  }
  assert.notEqual(typeof encodeCompletion({ id: 1, ok: true, value: text }).line, "string");
  assert.equal(typeof encodeCompletion({ id: 1, ok: true, value: "small" }).line, "string");
});

Deno.test("payload: base64 decoded in pieces equals one decode; bad input is a SyntaxError", async () => {
  const bytes = crypto.getRandomValues(new Uint8Array(65_536));
  const big = new Uint8Array(3 * payloadPieceChars + 5);
  for (let i = 0; i < big.length; i += bytes.length) {
    big.set(bytes.subarray(0, Math.min(bytes.length, big.length - i)), i);
  }
  assert.deepEqual(await fromBase64Yielding(big.toBase64()), big);
  assert.deepEqual(await fromBase64Yielding(bytes.toBase64()), bytes);
  const bad = big.toBase64();
  await assert.rejects(fromBase64Yielding(bad.slice(0, payloadPieceChars) + "=" + bad.slice(payloadPieceChars + 1)));
  await assert.rejects(fromBase64Yielding("!".repeat(payloadPieceChars * 2)));
});
