/**
 * `net.fetch` through real cells: loopback is refused unless a policy names
 * its CIDR; the capability gates the call; the global `fetch` is the same
 * syscall (same checks, same errno on its `TypeError`).
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";

const code = (url: string) =>
  `export default async () => {
    const out = {};
    try { const r = await sys.net.fetch(${JSON.stringify(url)}); out.sdk = r.status + " " + r.text(); }
    catch (e) { out.sdk = e.code; }
    try { const r = await fetch(${JSON.stringify(url)}); out.raw = r.status + " " + await r.text(); }
    catch (e) { out.raw = e.name + " " + e.code; }
    return out;
  }`;

Deno.test("net.fetch: loopback needs an explicit CIDR; capability gates; the global fetch is the same syscall", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    hits++;
    return new Response("pong");
  });
  const url = `http://127.0.0.1:${server.addr.port}/ping`;
  try {
    await withRuntime(async (runtime) => {
      const refused = await runtime.run({ code: code(url), capabilities: ["net.fetch"], tenant: "t1" });
      assert.deepEqual(refused.result, { sdk: "EPERM", raw: "TypeError EPERM" });
      assert.equal(hits, 0);

      runtime.policy.setTenant("t1", {
        version: 1,
        rules: [
          { effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.1/32"], ports: [server.addr.port] },
          { effect: "allow", calls: ["io.write", "time.now"] },
        ],
      });
      const allowed = await runtime.run({ code: code(url), capabilities: ["net.fetch"], tenant: "t1" });
      assert.deepEqual(allowed.result, { sdk: "200 pong", raw: "200 pong" });
      assert.equal(hits, 2);

      const otherPort = await runtime.run({
        code: code(`http://127.0.0.1:${server.addr.port + 1}/`),
        capabilities: ["net.fetch"],
        tenant: "t1",
      });
      assert.equal((otherPort.result as { sdk: string }).sdk, "EPERM");

      const noCap = await runtime.run({ code: code(url), tenant: "t1" });
      assert.deepEqual(noCap.result, { sdk: "EACCES", raw: "TypeError EACCES" });
      assert.equal(hits, 2);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("net.fetch: an IPv6 literal URL is decided by policy, not refused as invalid", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "::1", port: 0, onListen: () => {} }, () => {
    hits++;
    return new Response("v6");
  });
  const url = `http://[::1]:${server.addr.port}/`;
  try {
    await withRuntime(async (runtime) => {
      const refused = await runtime.run({ code: code(url), capabilities: ["net.fetch"], tenant: "v6" });
      assert.equal((refused.result as { sdk: string }).sdk, "EPERM");
      runtime.policy.setTenant("v6", {
        version: 1,
        rules: [
          { effect: "allow", calls: ["net.fetch"], hosts: ["::1/128"], ports: [server.addr.port] },
          { effect: "allow", calls: ["io.write", "time.now"] },
        ],
      });
      const allowed = await runtime.run({ code: code(url), capabilities: ["net.fetch"], tenant: "v6" });
      assert.deepEqual(allowed.result, { sdk: "200 v6", raw: "200 v6" });
      assert.equal(hits, 2);
    });
  } finally {
    await server.shutdown();
  }
});
