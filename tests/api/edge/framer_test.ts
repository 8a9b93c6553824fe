/**
 * The gate's request framer: heads held back until complete and forwarded
 * with the peer header, bodies by length and chunked, pipelining, every
 * split of the input, and the refusals (ambiguous framing, oversize heads,
 * a client-set peer header, HTTP/2 prior knowledge).
 */
import assert from "node:assert/strict";
import { type FrameError, peerHeader, RequestFramer } from "../../../api/edge/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feed `text` split at `cuts`; returns the forwarded text and the framer. */
function feed(text: string, cuts: number[] = [], headMax = 32 * 1024) {
  const f = new RequestFramer("10.0.0.1", headMax);
  const bytes = enc.encode(text);
  let out = "";
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    const r = f.push(bytes.subarray(at, cut));
    if (!Array.isArray(r)) return { f, out, error: r as FrameError };
    for (const part of r) out += dec.decode(part);
    at = cut;
  }
  return { f, out, error: undefined };
}

const withPeer = (text: string) => text.replace("\r\n", `\r\n${peerHeader}: 10.0.0.1\r\n`);

Deno.test("framer: a head is forwarded only once complete, with the peer header after the request line", () => {
  const head = "GET /v1/agents HTTP/1.1\r\nhost: x\r\n\r\n";
  for (let cut = 1; cut < head.length; cut++) {
    const { f, out, error } = feed(head, [cut]);
    assert.equal(error, undefined);
    assert.equal(out, withPeer(head), `split at ${cut}`);
    assert.equal(f.completed, 1);
    assert.equal(f.phase, "idle");
  }
  const half = feed("GET / HTTP/1.1\r\nhost: x\r\n");
  assert.equal(half.out, "");
  assert.equal(half.f.phase, "head");
});

Deno.test("framer: Content-Length bodies, chunked bodies (every split) and pipelined requests", () => {
  const post = 'POST /v1/agents HTTP/1.1\r\ncontent-length: 11\r\n\r\n{"code":""}';
  const get = "GET /healthz HTTP/1.1\r\n\r\n";
  const chunked =
    "POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ntrailer: t\r\n\r\n";
  const text = post + chunked + get;
  const expected = withPeer(post) + withPeer(chunked) + withPeer(get);
  for (let cut = 1; cut < text.length; cut += 3) {
    const { f, out, error } = feed(text, [cut, Math.min(text.length, cut + 7)]);
    assert.equal(error, undefined, `split at ${cut}: ${error?.message}`);
    assert.equal(out, expected, `split at ${cut}`);
    assert.equal(f.completed, 3);
    assert.equal(f.phase, "idle");
  }
  const partial = feed('POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n{"a"');
  assert.equal(partial.f.phase, "body");
  assert.equal(partial.f.completed, 0);
});

Deno.test("framer: ambiguous or unsupported framing is refused, never guessed", () => {
  const cases: [string, number][] = [
    ["POST / HTTP/1.1\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n", 501],
    ["GET / HTTP/1.1\r\nhost: x\r\n folded\r\n\r\n", 400],
    [`GET / HTTP/1.1\r\n${peerHeader}: 1.2.3.4\r\n\r\n`, 400],
    [`GET / HTTP/1.1\r\nX-AgentOS-Peer: 1.2.3.4\r\n\r\n`, 400],
    ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400],
    ["GET /\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", 400],
  ];
  for (const [text, status] of cases) {
    const { error } = feed(text);
    assert.equal(error?.status, status, JSON.stringify(text));
  }
  const big = feed(`GET / HTTP/1.1\r\nx: ${"a".repeat(2000)}\r\n\r\n`, [100, 1000], 1024);
  assert.equal(big.error?.status, 431);
  assert.equal(big.out, "");
});

Deno.test("framer: empty lines before a request line are skipped; a bare-LF head is understood", () => {
  const { out, f } = feed("\r\n\r\nGET / HTTP/1.1\nhost: x\n\n");
  assert.equal(f.completed, 1);
  assert.ok(out.startsWith(`GET / HTTP/1.1\n${peerHeader}: 10.0.0.1\r\nhost: x\n\n`), JSON.stringify(out));
});
