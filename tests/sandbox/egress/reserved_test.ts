import assert from "node:assert/strict";
import { parseIp, ReservedEndpoints } from "../../../sandbox/egress/mod.ts";

const ip = (text: string) => parseIp(text)!;

Deno.test("reserved: a loopback listener reserves all of loopback and unspecified at its port only", () => {
  const r = new ReservedEndpoints();
  r.add({ hostname: "127.0.0.1", port: 8787 }, "the agentos API");
  for (const text of ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "0.1.2.3"]) {
    assert.match(r.match(ip(text), 8787) ?? "", /127\.0\.0\.1:8787 \(the agentos API\)/, text);
  }
  assert.equal(r.match(ip("127.0.0.1"), 8788), null, "another port");
  assert.equal(r.match(ip("10.0.0.1"), 8787), null, "another host at the port");
  assert.equal(r.match(ip("93.184.216.34"), 8787), null);
  assert.deepEqual(r.list(), ["127.0.0.1:8787 (the agentos API)"]);
});

Deno.test("reserved: a specific non-loopback listener reserves itself, its mapped form and unspecified", () => {
  const r = new ReservedEndpoints();
  r.add({ hostname: "10.1.2.3", port: 80 }, "api");
  assert.notEqual(r.match(ip("10.1.2.3"), 80), null);
  assert.notEqual(r.match(ip("::ffff:10.1.2.3"), 80), null);
  assert.notEqual(r.match(ip("64:ff9b::a01:203"), 80), null, "an embedded IPv4 (NAT64)");
  assert.notEqual(r.match(ip("0.0.0.0"), 80), null);
  assert.equal(r.match(ip("127.0.0.1"), 80), null);
  assert.equal(r.match(ip("10.1.2.4"), 80), null);
});

Deno.test("reserved: a wildcard listener reserves loopback and every interface address; unknown interfaces = every address", () => {
  const known = new ReservedEndpoints();
  known.add({ hostname: "0.0.0.0", port: 9000 }, "api", () => ["192.168.1.5", "fe80::1%eth0", "2001:db8::5"]);
  for (const text of ["127.0.0.1", "::1", "0.0.0.0", "192.168.1.5", "fe80::1", "2001:db8::5"]) {
    assert.notEqual(known.match(ip(text), 9000), null, text);
  }
  assert.equal(known.match(ip("192.168.1.6"), 9000), null);
  const v6 = new ReservedEndpoints();
  v6.add({ hostname: "[::]", port: 9000 }, "api", () => []);
  assert.notEqual(v6.match(ip("127.0.0.1"), 9000), null, "a dual-stack wildcard covers IPv4 loopback");
  const unknown = new ReservedEndpoints();
  unknown.add({ hostname: "0.0.0.0", port: 9000 }, "api", () => {
    throw new Deno.errors.NotCapable("no sys");
  });
  assert.notEqual(unknown.match(ip("93.184.216.34"), 9000), null, "fail closed at that port");
  assert.equal(unknown.match(ip("93.184.216.34"), 9001), null);
});

Deno.test("reserved: a hostname that is not an IP literal or a bad port is a programmer error", () => {
  const r = new ReservedEndpoints();
  assert.throws(() => r.add({ hostname: "localhost", port: 1 }, "api"), RangeError);
  assert.throws(() => r.add({ hostname: "127.0.0.1", port: 0 }, "api"), RangeError);
});
