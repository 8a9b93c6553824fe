import assert from "node:assert/strict";
import fc from "fast-check";
import { jsonTooDeep } from "../../../kernel/syscall/frame.ts";
import { type FramedLine, LineFramer } from "../../../kernel/syscall/framer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feed `chunks` and collect every line as [kind, text or head]. */
function lines(framer: LineFramer, chunks: string[]): [string, string][] {
  const out: [string, string][] = [];
  const take = (line: FramedLine) => out.push([line.kind, dec.decode(line.kind === "line" ? line.bytes : line.head)]);
  for (const chunk of chunks) framer.push(enc.encode(chunk), take);
  return out;
}

Deno.test("framer: lines split across chunks come out whole; empty lines are skipped", () => {
  const framer = new LineFramer({ bytesMax: 100, depthMax: 8 });
  assert.deepEqual(lines(framer, ['{"id":1', ',"call":"a"}\n\n{"id"', ":2}\n"]), [
    ["line", '{"id":1,"call":"a"}'],
    ["line", '{"id":2}'],
  ]);
});

Deno.test("framer: an oversize line is skipped to its newline keeping its head; the next line is intact", () => {
  const framer = new LineFramer({ bytesMax: 50, depthMax: 8 });
  const big = `{"id":9,"call":"x","args":{"s":"${"a".repeat(200)}"}}`;
  const out = lines(framer, [big.slice(0, 30), big.slice(30) + '\n{"id":3}\n']);
  assert.equal(out[0][0], "oversize");
  assert.ok(out[0][1].startsWith('{"id":9,'));
  assert.deepEqual(out[1], ["line", '{"id":3}']);
});

Deno.test("framer: nesting past depthMax is refused while it arrives, across chunks", () => {
  const framer = new LineFramer({ bytesMax: 10_000_000, depthMax: 4 });
  const out = lines(framer, ['{"id":4,"a":[[', "[[[1]]]]]}\n", "[[[[]]]]\n"]);
  assert.deepEqual(out.map((l) => l[0]), ["deep", "line"]);
  assert.ok(out[0][1].startsWith('{"id":4,'));
});

Deno.test("framer: brackets inside strings do not count, escapes survive chunk boundaries", () => {
  const framer = new LineFramer({ bytesMax: 1000, depthMax: 2 });
  const text = JSON.stringify({ a: '[[[[\\"]]{{', b: ["x\\"] });
  for (let cut = 0; cut <= text.length; cut++) {
    const out = lines(framer, [text.slice(0, cut), text.slice(cut) + "\n"]);
    assert.deepEqual(out, [["line", text]], `cut at ${cut}`);
  }
});

Deno.test("framer: agrees with jsonTooDeep on any text split at any point (property)", () => {
  const atoms = fc.constantFrom("[", "]", "{", "}", '"', "\\", "a", ",", ":", "1", '\\"', "\\\\");
  fc.assert(
    fc.property(fc.array(atoms, { maxLength: 80 }), fc.nat(), fc.integer({ min: 0, max: 6 }), (parts, at, max) => {
      const text = parts.join("");
      if (text.length === 0) return;
      const cut = at % (text.length + 1);
      const framer = new LineFramer({ bytesMax: 1_000_000, depthMax: max });
      const out = lines(framer, [text.slice(0, cut), text.slice(cut), "\n"]);
      assert.equal(out.length, 1);
      assert.equal(out[0][0] === "deep", jsonTooDeep(text, max), text);
    }),
    { numRuns: 2000 },
  );
});
