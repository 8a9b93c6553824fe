import assert from "node:assert/strict";
import fc from "fast-check";
import { KernelError } from "../../../kernel/errno.ts";
import {
  type AddressClass,
  cidrContains,
  classify,
  embeddedIPv4,
  formatIp,
  isAllowedAddress,
  parseCidr,
  parseHost,
  parseIp,
} from "../../../sandbox/egress/mod.ts";

/** Host text as a guest might write it → the class its bytes must get. */
const hostileHosts: ReadonlyArray<readonly [string, AddressClass]> = [
  // Loopback in every spelling the WHATWG URL parser accepts.
  ["127.0.0.1", "loopback"],
  ["2130706433", "loopback"],
  ["0x7f000001", "loopback"],
  ["0177.0.0.1", "loopback"],
  ["127.1", "loopback"],
  ["127.0.1", "loopback"],
  ["0x7f.1", "loopback"],
  ["0x7f.0.0.0x1", "loopback"],
  ["0x7F.0X0.0.1", "loopback"],
  ["017700000001", "loopback"],
  ["0177.1", "loopback"],
  ["127.000.000.001", "loopback"],
  ["127.0.0.1.", "loopback"],
  ["0x7f.1.", "loopback"],
  ["%31%32%37.0.0.1", "loopback"],
  ["127%2e0%2e0%2e1", "loopback"],
  ["%30x7f.1", "loopback"],
  ["\uff11\uff12\uff17.\uff10.\uff10.\uff11", "loopback"], // full-width digits
  ["\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11", "loopback"], // ideographic dots
  ["127.255.255.254", "loopback"],
  ["[::1]", "loopback"],
  ["[0:0:0:0:0:0:0:1]", "loopback"],
  ["[::ffff:127.0.0.1]", "loopback"],
  ["[::ffff:7f00:1]", "loopback"],
  ["[0:0:0:0:0:ffff:127.0.0.1]", "loopback"],
  ["[::127.0.0.1]", "loopback"], // IPv4-compatible
  ["[::ffff:0:127.0.0.1]", "loopback"], // IPv4-translated
  ["[64:ff9b::7f00:1]", "loopback"], // NAT64
  ["[64:ff9b::127.0.0.1]", "loopback"],
  ["[64:ff9b:1::7f00:1]", "loopback"], // local-use NAT64, /96 embedding
  ["[64:ff9b:1:7f00:0:100::]", "loopback"], // local-use NAT64, /48 embedding
  ["[64:ff9b:1:a9:fe:a9fe::]", "metadata"], // local-use NAT64, /56 embedding
  ["[2002:7f00:1::]", "loopback"], // 6to4
  ["[2001:0:4136:e378:8000:63bf:80ff:fffe]", "loopback"], // Teredo client
  // Unspecified: reaches the local host on Linux.
  ["0", "unspecified"],
  ["0x0", "unspecified"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["[::]", "unspecified"],
  ["[::ffff:0.0.0.0]", "unspecified"],
  // Cloud metadata.
  ["169.254.169.254", "metadata"],
  ["2852039166", "metadata"],
  ["0xa9fea9fe", "metadata"],
  ["0251.0376.0251.0376", "metadata"],
  ["169.254.43518", "metadata"],
  ["[::ffff:169.254.169.254]", "metadata"],
  ["[::ffff:a9fe:a9fe]", "metadata"],
  ["[64:ff9b::a9fe:a9fe]", "metadata"],
  ["[2002:a9fe:a9fe::]", "metadata"],
  ["[fd00:ec2::254]", "metadata"],
  ["100.100.100.200", "metadata"],
  ["169.254.170.2", "metadata"],
  ["168.63.129.16", "metadata"],
  // Private, link-local, CGNAT.
  ["10.0.0.1", "private"],
  ["012.0.0.1", "private"],
  ["0xa.0.0.1", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["3232235777", "private"],
  ["[::ffff:10.0.0.1]", "private"],
  ["[fc00::1]", "private"],
  ["[fd12:3456::1]", "private"],
  ["[fec0::1]", "private"],
  ["169.254.1.1", "link-local"],
  ["[fe80::1]", "link-local"],
  ["[febf::1]", "link-local"],
  ["100.64.0.1", "cgnat"],
  ["100.127.255.255", "cgnat"],
  // Multicast, broadcast, reserved, documentation.
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["[ff02::1]", "multicast"],
  ["255.255.255.255", "broadcast"],
  ["4294967295", "broadcast"],
  ["240.0.0.1", "reserved"],
  ["198.18.0.1", "reserved"],
  ["198.19.255.255", "reserved"],
  ["192.0.0.8", "reserved"],
  ["[100::1]", "reserved"],
  ["[2001:2::1]", "reserved"],
  ["[::2:0:0:1]", "reserved"], // outside 2000::/3
  ["192.0.2.1", "documentation"],
  ["198.51.100.7", "documentation"],
  ["203.0.113.9", "documentation"],
  ["[2001:db8::1]", "documentation"],
  ["[3fff::1]", "documentation"],
  // Public, including look-alikes just outside the ranges.
  ["8.8.8.8", "public"],
  ["134744072", "public"],
  ["172.32.0.1", "public"],
  ["100.128.0.1", "public"],
  ["[2606:4700:4700::1111]", "public"],
  ["[::ffff:8.8.8.8]", "public"],
  ["[2002:808:808::]", "public"],
  // Leading zeros mean octal: 0...0127 is 87, as in a browser.
  ["00000000000000000000127.0.0.1", "public"],
];

Deno.test("egress: hostile host table has at least 40 forms", () => {
  assert.ok(hostileHosts.length >= 40, `${hostileHosts.length}`);
});

for (const [host, expected] of hostileHosts) {
  Deno.test(`egress: ${JSON.stringify(host)} is ${expected}`, () => {
    const parsed = parseHost(host);
    assert.equal(parsed.kind, "address");
    if (parsed.kind !== "address") return;
    assert.equal(classify(parsed.bytes), expected, formatIp(parsed.bytes));
    assert.equal(
      isAllowedAddress(parsed.bytes, []),
      expected === "public",
      "only public addresses pass without an explicit CIDR",
    );
  });
}

Deno.test("egress: new URL canonicalises numeric hosts (what parseHost relies on)", () => {
  const seen = (h: string) => new URL(`http://${h}/`).hostname;
  assert.equal(seen("2130706433"), "127.0.0.1");
  assert.equal(seen("0x7f.1"), "127.0.0.1");
  assert.equal(seen("[::ffff:127.0.0.1]"), "[::ffff:7f00:1]");
  assert.equal(seen("[0:0:0:0:0:ffff:7f00:1]"), "[::ffff:7f00:1]");
  assert.equal(seen("1e2"), "1e2", "not numeric: a name");
  assert.equal(seen("127.0.0.1.."), "127.0.0.1..", "a name to URL");
  assert.throws(() => seen("4294967296"));
  assert.throws(() => seen("[fe80::1%25eth0]"));
});

const rejectedHosts = [
  "",
  " 127.0.0.1",
  "127.0.0.1\t",
  "127.0.0.1\n",
  "127.0.0.1:80",
  "[::1]:80",
  "[::1]:",
  "user@127.0.0.1",
  "evil.com\\@127.0.0.1",
  "evil.com#@127.0.0.1",
  "127.0.0.1/x",
  "127.0.0.1?",
  "::1",
  "[::1",
  "[::1]]",
  "[fe80::1%25eth0]",
  "[fe80::1%eth0]",
  "[1::2::3]",
  "[::ffff:1.2.3]",
  "4294967296",
  "0x100000000",
  "256.0.0.1",
  "1.256.0.1",
  "1.2.3.4.5",
  "09.0.0.1",
  "0x7f..1",
  "127.0.0.1..",
  "a..b",
  ".",
  "xn--",
  "a".repeat(2000),
  `${"a".repeat(63)}.`.repeat(5),
  "a".repeat(64) + ".com",
  "%5B::1%5D",
];

for (const host of rejectedHosts) {
  Deno.test(`egress: ${JSON.stringify(host.slice(0, 40))} is EINVAL`, () => {
    assert.throws(
      () => parseHost(host),
      (e) => e instanceof KernelError && e.code === "EINVAL",
    );
  });
}

Deno.test("egress: names stay names, lower-cased, one trailing dot dropped", () => {
  assert.deepEqual(parseHost("EXAMPLE.com."), {
    kind: "name",
    name: "example.com",
  });
  assert.deepEqual(parseHost("localhost"), { kind: "name", name: "localhost" });
  assert.deepEqual(parseHost("1e2"), { kind: "name", name: "1e2" });
  assert.deepEqual(parseHost("127.0.0.1.nip.io"), {
    kind: "name",
    name: "127.0.0.1.nip.io",
  });
  assert.deepEqual(parseHost("b\u00fccher.de"), {
    kind: "name",
    name: "xn--bcher-kva.de",
  });
});

Deno.test("egress: parseIp is strict", () => {
  assert.deepEqual(parseIp("10.0.0.1"), Uint8Array.of(10, 0, 0, 1));
  assert.deepEqual(parseIp("::"), new Uint8Array(16));
  assert.deepEqual(
    parseIp("::ffff:1.2.3.4"),
    Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4),
  );
  assert.deepEqual(parseIp("1:2:3:4:5:6:7:8")?.[15], 8);
  assert.deepEqual(parseIp("1:2:3:4:5:6:1.2.3.4")?.[12], 1);
  for (
    const bad of [
      "",
      "0177.0.0.1",
      "127.1",
      "010.0.0.1",
      "256.1.1.1",
      "1.2.3.4 ",
      "[::1]",
      "fe80::1%eth0",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "12345::",
      ":1::",
      "1.2.3.4::",
      "::1.2.3.4:1",
      "g::1",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("egress: formatIp", () => {
  assert.equal(formatIp(Uint8Array.of(1, 2, 3, 4)), "1.2.3.4");
  assert.equal(formatIp(parseIp("::1")!), "0:0:0:0:0:0:0:1");
  assert.equal(formatIp(new Uint8Array(5)), "invalid");
});

Deno.test("egress: parseCidr validates and normalises mapped blocks", () => {
  assert.deepEqual(parseCidr("10.0.0.0/8"), {
    family: 4,
    bytes: Uint8Array.of(10, 0, 0, 0),
    prefix: 8,
  });
  assert.equal(parseCidr("127.0.0.1")?.prefix, 32);
  assert.equal(parseCidr("::1")?.prefix, 128);
  assert.deepEqual(parseCidr("::ffff:127.0.0.0/104"), parseCidr("127.0.0.0/8"));
  for (
    const bad of [
      "10.0.0.1/8",
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/08",
      "10/8",
      "x/1",
      "::1/-1",
      "1.2.3.4/",
    ]
  ) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

Deno.test("egress: cidrContains treats mapped IPv6 as its IPv4", () => {
  const loop = parseCidr("127.0.0.0/8")!;
  assert.ok(cidrContains(loop, Uint8Array.of(127, 9, 9, 9)));
  assert.ok(cidrContains(loop, parseIp("::ffff:127.0.0.1")!));
  assert.ok(!cidrContains(loop, parseIp("64:ff9b::7f00:1")!));
  assert.ok(!cidrContains(loop, Uint8Array.of(128, 0, 0, 1)));
  assert.ok(cidrContains(parseCidr("::/0")!, Uint8Array.of(1, 2, 3, 4)));
  assert.ok(cidrContains(parseCidr("0.0.0.0/0")!, parseIp("::ffff:1.2.3.4")!));
  assert.ok(!cidrContains(parseCidr("0.0.0.0/0")!, parseIp("2001:4860::1")!));
  assert.ok(cidrContains(parseCidr("fd00::/8")!, parseIp("fd12::1")!));
  assert.ok(!cidrContains(parseCidr("fd00::/8")!, parseIp("fc12::1")!));
  assert.ok(!cidrContains(parseCidr("fd00::/8")!, Uint8Array.of(1, 2, 3)));
  assert.ok(!cidrContains(parseCidr("2000::/3")!, Uint8Array.of(1, 2, 3, 4)));
  assert.ok(
    cidrContains(parseCidr("10.0.0.128/25")!, Uint8Array.of(10, 0, 0, 200)),
  );
  assert.ok(
    !cidrContains(parseCidr("10.0.0.128/25")!, Uint8Array.of(10, 0, 0, 127)),
  );
});

Deno.test("egress: isAllowedAddress needs an explicit CIDR; metadata only a host CIDR", () => {
  const local = Uint8Array.of(127, 0, 0, 1);
  assert.equal(isAllowedAddress(local, []), false);
  assert.equal(isAllowedAddress(local, [parseCidr("127.0.0.1/32")!]), true);
  assert.equal(
    isAllowedAddress(parseIp("::ffff:127.0.0.1")!, [parseCidr("127.0.0.1")!]),
    true,
  );
  assert.equal(isAllowedAddress(local, [parseCidr("10.0.0.0/8")!]), false);
  const meta = Uint8Array.of(169, 254, 169, 254);
  assert.equal(isAllowedAddress(meta, [parseCidr("169.254.0.0/16")!]), false);
  assert.equal(isAllowedAddress(meta, [parseCidr("0.0.0.0/0")!]), false);
  assert.equal(
    isAllowedAddress(meta, [parseCidr("169.254.169.254/32")!]),
    true,
  );
  assert.equal(
    isAllowedAddress(Uint8Array.of(169, 254, 1, 1), [
      parseCidr("169.254.0.0/16")!,
    ]),
    true,
  );
  assert.equal(isAllowedAddress(Uint8Array.of(8, 8, 8, 8), []), true);
  assert.equal(
    isAllowedAddress(new Uint8Array(7), [parseCidr("::/0")!]),
    false,
  );
});

Deno.test("egress: embeddedIPv4 finds every embedding", () => {
  assert.equal(embeddedIPv4(parseIp("2606:4700::1")!), null);
  assert.equal(embeddedIPv4(Uint8Array.of(1, 2, 3, 4)), null);
  assert.deepEqual(embeddedIPv4(parseIp("2002:102:304::")!), [
    Uint8Array.of(1, 2, 3, 4),
  ]);
  assert.equal(embeddedIPv4(parseIp("64:ff9b:1::")!)?.length, 4);
  // Teredo: the client address is stored inverted.
  const teredo = embeddedIPv4(parseIp("2001:0:4136:e378:8000:63bf:3fff:fdd2")!);
  assert.deepEqual(teredo?.[0], Uint8Array.of(192, 0, 2, 45));
  assert.deepEqual(teredo?.[1], Uint8Array.of(65, 54, 227, 120));
});

Deno.test("egress: classify fails closed on bad input", () => {
  assert.equal(classify(new Uint8Array(0)), "reserved");
  assert.equal(classify(new Uint8Array(5)), "reserved");
  assert.equal(classify([127, 0, 0, 1] as unknown as Uint8Array), "reserved");
});

const v4Arb = fc.uint8Array({ minLength: 4, maxLength: 4 });

function embed(prefix: readonly number[], v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(prefix);
  out.set(v4, 12);
  return out;
}

Deno.test("egress property: classify never throws on arbitrary bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 20 }), (bytes) => {
      const cls = classify(bytes);
      assert.equal(typeof cls, "string");
      if (bytes.length !== 4 && bytes.length !== 16) {
        assert.equal(cls, "reserved");
      }
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      classify(bytes);
      embeddedIPv4(bytes);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("egress property: mapped, translated and NAT64 forms classify like the IPv4", () => {
  const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
  const translated = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
  const nat64 = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
  fc.assert(
    fc.property(v4Arb, (v4) => {
      const expected = classify(v4);
      assert.equal(classify(embed(mapped, v4)), expected);
      assert.equal(classify(embed(translated, v4)), expected);
      assert.equal(classify(embed(nat64, v4)), expected);
      const sixToFour = new Uint8Array(16);
      sixToFour.set([0x20, 0x02, ...v4]);
      assert.equal(classify(sixToFour), expected);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("egress property: a non-public embedded IPv4 is never public in local-use NAT64", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 10, maxLength: 10 }), (rest) => {
      const bytes = new Uint8Array(16);
      bytes.set([0, 0x64, 0xff, 0x9b, 0, 1]);
      bytes.set(rest, 6);
      const candidates = embeddedIPv4(bytes)!;
      const anyNonPublic = candidates.some((c) => classify(c) !== "public");
      assert.equal(classify(bytes) !== "public", anyNonPublic);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("egress property: parseHost of a decimal or hex integer host equals its bytes", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.boolean(),
      (n, hex) => {
        const host = hex ? `0x${n.toString(16)}` : String(n);
        const parsed = parseHost(host);
        assert.equal(parsed.kind, "address");
        if (parsed.kind !== "address") return;
        const bytes = Uint8Array.of(
          n >>> 24,
          (n >>> 16) & 255,
          (n >>> 8) & 255,
          n & 255,
        );
        assert.deepEqual(parsed.bytes, bytes);
        assert.equal(parsed.canonical, formatIp(bytes));
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("egress property: parseHost never throws anything but KernelError", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (host) => {
      try {
        parseHost(host);
      } catch (e) {
        assert.ok(e instanceof KernelError && e.code === "EINVAL", String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("egress property: strict IPv6 text round-trips through parseIp", () => {
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      const bytes = parseIp(text);
      assert.ok(bytes !== null, text);
      const url = parseHost(`[${text}]`);
      assert.equal(url.kind, "address");
      if (url.kind === "address") assert.deepEqual(url.bytes, bytes);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("egress property: classify of an embedding form is its most alarming candidate", () => {
  const rank: AddressClass[] = [
    "metadata",
    "loopback",
    "unspecified",
    "link-local",
    "private",
    "cgnat",
    "broadcast",
    "multicast",
    "reserved",
    "documentation",
    "public",
  ];
  const prefixes = [
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0x64, 0xff, 0x9b, 0, 1],
    [0x20, 0x02],
    [0x20, 0x01, 0, 0],
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...prefixes),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      (prefix, rest) => {
        const bytes = rest.slice();
        bytes.set(prefix);
        if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] <= 1) return;
        const candidates = embeddedIPv4(bytes);
        assert.ok(candidates !== null);
        const worst = candidates.map(classify).sort((a, b) => rank.indexOf(a) - rank.indexOf(b))[0];
        assert.equal(classify(bytes), worst);
      },
    ),
    { numRuns: 5000 },
  );
});
