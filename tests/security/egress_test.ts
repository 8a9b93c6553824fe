/**
 * Egress through `sys.net.fetch` in real cells: alternative spellings of
 * loopback, IPv6 forms, 0.0.0.0, the metadata address, and a redirect from
 * an allowed loopback server to a loopback port the policy does not allow.
 * All EPERM (or refused before any connection); the target never sees a
 * request; a bystander agent is unaffected.
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";
import { assertBystanderOk, attemptHarness, type Outcome, startBystander } from "./helpers.ts";

Deno.test("security egress: numeric/IPv6 loopback spellings, 0.0.0.0, metadata and a redirect to a disallowed port are refused", async () => {
  let targetHits = 0;
  let allowedHits = 0;
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    targetHits++;
    return new Response("TARGET-SECRET");
  });
  const allowed = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    allowedHits++;
    const path = new URL(req.url).pathname;
    const to = path === "/r-ip"
      ? `http://127.0.0.1:${target.addr.port}/`
      : path === "/r-name"
      ? `http://localhost:${target.addr.port}/`
      : path === "/r-v6"
      ? `http://[::ffff:127.0.0.1]:${target.addr.port}/`
      : path === "/r-meta"
      ? "http://169.254.169.254/latest/meta-data/"
      : null;
    return to === null ? new Response("allowed-ok") : new Response(null, { status: 302, headers: { location: to } });
  });
  const tp = target.addr.port;
  const ap = allowed.addr.port;
  try {
    await withRuntime(async (runtime) => {
      runtime.policy.setTenant("egress", {
        version: 1,
        rules: [
          { id: "loop", effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.1/32"], ports: [ap] },
          { id: "sdk", effect: "allow", calls: ["io.write", "time.now", "proc.info"] },
        ],
      });
      const bystander = startBystander(runtime, "egress");
      const urls: Record<string, string> = {
        decimal: `http://2130706433:${tp}/`,
        hex: `http://0x7f000001:${tp}/`,
        octal: `http://0177.0.0.1:${tp}/`,
        short: `http://127.1:${tp}/`,
        dottedHex: `http://0x7f.0.0.1:${tp}/`,
        plain: `http://127.0.0.1:${tp}/`,
        localhost: `http://localhost:${tp}/`,
        v6loop: `http://[::1]:${tp}/`,
        v6mapped: `http://[::ffff:127.0.0.1]:${tp}/`,
        v6mappedHex: `http://[::ffff:7f00:1]:${tp}/`,
        nat64: `http://[64:ff9b::7f00:1]:${tp}/`,
        v4compat: `http://[::127.0.0.1]:${tp}/`,
        zero: `http://0.0.0.0:${tp}/`,
        zeroShort: `http://0:${tp}/`,
        v6unspec: `http://[::]:${tp}/`,
        metadata: "http://169.254.169.254/latest/meta-data/",
        metadataDecimal: "http://2852039166/latest/meta-data/",
        privateTen: "http://10.0.0.1/",
        userinfo: `http://127.0.0.1:${ap}@127.0.0.1:${tp}/`,
        redirectIp: `http://127.0.0.1:${ap}/r-ip`,
        redirectName: `http://127.0.0.1:${ap}/r-name`,
        redirectV6: `http://127.0.0.1:${ap}/r-v6`,
        redirectMeta: `http://127.0.0.1:${ap}/r-meta`,
        fileScheme: "file:///etc/passwd",
        control: `http://127.0.0.1:${ap}/`,
      };
      const r = await runtime.run({
        tenant: "egress",
        capabilities: ["net.fetch"],
        code: `export default async () => {
          ${attemptHarness}
          const urls = ${JSON.stringify(urls)};
          for (const [name, url] of Object.entries(urls)) {
            await attempt(name, async () => { const res = await sys.net.fetch(url, { timeoutMs: 2000 }); return res.status + " " + res.text(); });
          }
          await attempt("rawFetch", () => fetch(urls.plain));
          return out;
        }`,
      });
      assert.equal(r.reason, "exit", r.message);
      const out = r.result as Record<string, Outcome>;
      console.log(Object.entries(out).map(([k, o]) => `${k}=${o.ok ? "ok" : o.code}`).join(" "));
      assert.ok(!JSON.stringify(out).includes("TARGET-SECRET"), JSON.stringify(out));
      assert.deepEqual(out.control, { ok: true, value: "200 allowed-ok" }, "the allowed server works");
      for (const [name, o] of Object.entries(out)) {
        if (name === "control") continue;
        assert.equal(o.ok, false, `${name}: ${JSON.stringify(o)}`);
        // The global fetch is the same syscall: its TypeError carries the errno.
        const want = name === "rawFetch"
          ? ["EPERM"]
          : name === "fileScheme" || name === "userinfo"
          ? ["EINVAL", "EPERM"]
          // `localhost` goes to DNS (not /etc/hosts): refused as a loopback answer, or unresolvable.
          : name === "redirectName"
          ? ["EPERM", "ENOENT"]
          : name.startsWith("v6") || name === "nat64" || name === "v4compat"
          // IPv6 literals are refused at the dispatch-time policy check as "invalid" (EINVAL): see the report.
          ? ["EPERM", "EINVAL"]
          : ["EPERM"];
        assert.ok(want.includes((o as { code: string }).code), `${name}: ${JSON.stringify(o)}`);
      }
      assert.equal(targetHits, 0, "the disallowed loopback service saw a request");
      assert.equal(allowedHits, 5, "control + four redirects reached the allowed server");
      await assertBystanderOk(bystander);
    });
  } finally {
    await target.shutdown();
    await allowed.shutdown();
  }
});
