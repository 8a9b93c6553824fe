/**
 * The verified-text cache: bounded by bytes, least recently used first.
 */
import assert from "node:assert/strict";
import { SourceCache } from "../../../sandbox/packages/source_cache.ts";

Deno.test("packages: the source cache keeps at most its bytes, dropping the least recently used", () => {
  const cache = new SourceCache(100);
  assert.ok(cache.set("a", "A", 40));
  assert.ok(cache.set("b", "B", 40));
  assert.equal(cache.get("a"), "A"); // a is now the most recent
  assert.ok(cache.set("c", "C", 40));
  assert.equal(cache.get("b"), undefined, "b was the least recently used");
  assert.equal(cache.get("a"), "A");
  assert.equal(cache.get("c"), "C");
  assert.equal(cache.bytes, 80);
  assert.equal(cache.evicted, 1);
  assert.equal(cache.set("huge", "H", 101), false, "larger than the whole cache: not kept");
  assert.ok(cache.set("a", "A2", 50));
  assert.equal(cache.bytes, 90);
  assert.equal(cache.get("a"), "A2");
});
