import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import {
  compilePolicy,
  evaluate,
  globProblem,
  hostPattern,
  parsePolicy,
  parsePolicyText,
  policyBytesMax,
  policyNodesMax,
  rulesMax,
  safeParsePolicy,
} from "../../../sandbox/policy/mod.ts";

const isZod = (e: unknown) => e instanceof z.ZodError;
const ok = (doc: unknown) => safeParsePolicy(doc).success;
const rule = (extra: Record<string, unknown> = {}) => ({
  effect: "allow",
  calls: ["fs.read"],
  ...extra,
});
const doc = (...rules: unknown[]) => ({ version: 1, rules });

Deno.test("schema: a full document parses", () => {
  const parsed = parsePolicy(doc(
    rule({ id: "a", paths: ["src/**", "*.md", "."] }),
    { effect: "deny", calls: ["fs.*"], paths: ["secrets/**"] },
    {
      id: "net",
      effect: "allow",
      calls: ["net.fetch"],
      hosts: [
        "*.example.com",
        "example.com",
        "10.0.0.0/8",
        "::1",
        "fd00::/8",
        "*",
      ],
      ports: [443, 8443],
      methods: ["GET", "post"],
      rate: { perSec: 2.5, burst: 10 },
    },
    { effect: "allow", calls: ["*"] },
  ));
  assert.equal(parsed.rules.length, 4);
  assert.equal(parsed.rules[2].rate?.burst, 10);
});

Deno.test("schema: strict objects reject unknown keys at every level", () => {
  assert.ok(!ok({ version: 1, rules: [], extra: 1 }));
  assert.ok(!ok(doc(rule({ extra: 1 }))));
  assert.ok(!ok(doc(rule({ rate: { perSec: 1, burst: 1, x: 1 } }))));
  assert.ok(!ok({ version: 2, rules: [] }));
  assert.ok(!ok({ version: "1", rules: [] }));
  assert.ok(!ok(doc(rule({ effect: "maybe" }))));
});

Deno.test("schema: version may be left out, and is then 1", () => {
  const parsed = safeParsePolicy({ rules: [] });
  assert.ok(parsed.success);
  assert.equal(parsed.data.version, 1);
});

Deno.test("schema: pattern grammar", () => {
  for (const good of ["fs.read", "fs.*", "*", "ipc.mq.send", "net.*", "fs.read*", "ipc.mq.re*"]) {
    assert.ok(ok(doc(rule({ calls: [good] }))), good);
  }
  for (
    const bad of [
      "",
      "fs.",
      "*.read",
      "fs*",
      "FS.read",
      "fs..read",
      "fs.*.x",
      " fs.read",
      "fs.read**",
      "fs.*read",
    ]
  ) {
    assert.ok(!ok(doc(rule({ calls: [bad] }))), bad);
  }
  assert.ok(!ok(doc(rule({ calls: [] }))), "empty calls");
  assert.ok(!ok(doc(rule({ paths: [] }))), "empty paths");
  assert.ok(!ok(doc(rule({ ports: [0] }))));
  assert.ok(!ok(doc(rule({ ports: [65536] }))));
  assert.ok(!ok(doc(rule({ ports: [1.5] }))));
  assert.ok(!ok(doc(rule({ methods: ["GET /"] }))));
  assert.ok(!ok(doc(rule({ rate: { perSec: 0, burst: 1 } }))));
  assert.ok(!ok(doc(rule({ rate: { perSec: 1, burst: 0.5 } }))));
  assert.ok(!ok(doc(rule({ rate: { perSec: Infinity, burst: 1 } }))));
  assert.ok(!ok(doc(rule({ rate: { perSec: NaN, burst: 1 } }))));
});

Deno.test("schema: globs that could mean something else are rejected", () => {
  for (
    const good of ["**", "*", "src/**", "a/**/b", "?.ts", "a*b?c", ".env", "."]
  ) {
    assert.equal(globProblem(good), null, good);
  }
  for (
    const bad of [
      "",
      "/etc/passwd",
      "../x",
      "a/../b",
      "a/./b",
      "./a",
      "a//b",
      "a/",
      "a**",
      "**b/c",
      "*.{pem,key}",
      "[ab]",
      "!secret",
      "a\\b",
      "a\u0000b",
      "a\nb",
      "\ud800",
      "x".repeat(1025),
      "x".repeat(256),
    ]
  ) {
    assert.notEqual(globProblem(bad), null, JSON.stringify(bad));
    assert.ok(!ok(doc(rule({ paths: [bad] }))), JSON.stringify(bad));
  }
});

Deno.test("schema: host patterns", () => {
  assert.deepEqual(hostPattern("*"), { kind: "any" });
  assert.deepEqual(hostPattern("Example.COM."), {
    kind: "name",
    name: "example.com",
  });
  assert.deepEqual(hostPattern("*.example.com"), {
    kind: "suffix",
    suffix: ".example.com",
  });
  assert.equal(hostPattern("127.0.0.1/32")?.kind, "cidr");
  assert.equal(hostPattern("127.0.0.1")?.kind, "cidr");
  assert.equal(hostPattern("::1")?.kind, "cidr");
  for (
    const bad of [
      "",
      "a.*.com",
      "*example.com",
      "**.example.com",
      "exa mple.com",
      "-a.com",
      "a..com",
      "10.0.0.1/8",
      "0177.0.0.1",
      "1.2.3",
      "2130706433",
      "fe80::1%eth0",
      "[::1]",
      "example.com:443",
      "b\u00fccher.de",
      `${"a".repeat(64)}.com`,
    ]
  ) {
    assert.equal(hostPattern(bad), null, bad);
    assert.ok(!ok(doc(rule({ hosts: [bad] }))), bad);
  }
});

Deno.test("schema: ids are unique, not numeric, not reserved; rate only on allow", () => {
  assert.ok(!ok(doc(rule({ id: "a" }), rule({ id: "a" }))));
  assert.ok(!ok(doc(rule({ id: "7" }))), "would collide with an index");
  assert.ok(!ok(doc(rule({ id: "default-deny" }))), "audit spoofing");
  assert.ok(!ok(doc(rule({ id: "" }))));
  assert.ok(!ok(doc(rule({ id: "x".repeat(65) }))));
  assert.ok(
    !ok(doc({ effect: "deny", calls: ["*"], rate: { perSec: 1, burst: 1 } })),
  );
});

Deno.test("schema: oversized documents are rejected", () => {
  const many = Array.from({ length: rulesMax + 1 }, () => rule());
  assert.ok(ok(doc(...many.slice(0, rulesMax))));
  assert.ok(!ok(doc(...many)));
  assert.ok(!ok(doc(rule({ calls: Array(33).fill("fs.read") }))));
  assert.ok(!ok(doc(rule({ paths: Array(65).fill("a") }))));
  assert.ok(!ok(doc(rule({ hosts: Array(65).fill("a.com") }))));
  assert.ok(!ok(doc(rule({ ports: Array(65).fill(1) }))));
  assert.ok(!ok(doc(rule({ methods: Array(17).fill("GET") }))));
  assert.ok(!ok(doc(rule({ methods: ["A".repeat(17)] }))));
  assert.ok(!ok(doc(rule({ calls: [`a${".b".repeat(64)}`] }))));
});

Deno.test("schema: a huge array is refused before zod walks it", () => {
  const huge = new Array(10_000_000);
  const result = safeParsePolicy({ version: 1, rules: huge });
  assert.equal(result.success, false);
  const nested: unknown[] = [];
  let cursor = nested;
  for (let i = 0; i < 100_000; i++) {
    const next: unknown[] = [];
    cursor.push(next);
    cursor = next;
  }
  assert.equal(safeParsePolicy({ version: 1, rules: nested }).success, false);
  const wide = Array.from({ length: policyNodesMax }, () => 1);
  assert.equal(
    safeParsePolicy({ version: 1, rules: [rule({ ports: wide })] }).success,
    false,
  );
});

Deno.test("schema: parsePolicyText caps size and turns JSON errors into ZodError", () => {
  assert.equal(parsePolicyText('{"version":1,"rules":[]}').rules.length, 0);
  assert.throws(() => parsePolicyText("{"), isZod);
  assert.throws(() => parsePolicyText(" ".repeat(policyBytesMax + 1)), isZod);
  // 2-byte UTF-8 characters: under the cap in code units, over it in bytes.
  const multibyte = `{"version":1,"rules":[],"x":"${"\u00e9".repeat(policyBytesMax / 2)}"}`;
  assert.ok(multibyte.length < policyBytesMax + 100);
  assert.throws(() => parsePolicyText(multibyte), isZod);
});

Deno.test("schema pollution: __proto__, constructor and prototype keys are rejected", () => {
  const texts = [
    '{"version":1,"rules":[],"__proto__":{"polluted":true}}',
    '{"version":1,"rules":[{"effect":"allow","calls":["*"],"__proto__":{"paths":["x"]}}]}',
    '{"version":1,"rules":[{"effect":"allow","calls":["*"],"constructor":{"prototype":{"polluted":true}}}]}',
    '{"version":1,"rules":[{"effect":"allow","calls":["*"],"rate":{"perSec":1,"burst":1,"__proto__":{}}}]}',
    '{"version":1,"rules":[],"prototype":1}',
  ];
  for (const text of texts) {
    assert.throws(() => parsePolicyText(text), isZod, text);
    assert.equal(safeParsePolicy(JSON.parse(text)).success, false, text);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("schema pollution: a polluted Object.prototype is never read", () => {
  const proto = Object.prototype as Record<string, unknown>;
  try {
    proto.paths = ["**"];
    proto.rate = { perSec: 1, burst: 1 };
    proto.id = "hijack";
    const parsed = parsePolicy(doc(rule()));
    assert.equal(Object.getPrototypeOf(parsed.rules[0]), null);
    assert.equal(parsed.rules[0].paths, undefined);
    assert.equal(parsed.rules[0].rate, undefined);
    const policy = compilePolicy(
      doc({ effect: "deny", calls: ["fs.read"] }, rule()),
    );
    // Had `paths` been inherited, the deny would not match a path-less request.
    const d = evaluate(policy, { call: "fs.read", path: "a" });
    assert.equal(d.effect, "deny");
    assert.equal(d.ruleId, "0");
  } finally {
    delete proto.paths;
    delete proto.rate;
    delete proto.id;
  }
});

Deno.test("schema pollution: getters, class instances and proxies are refused safely", () => {
  let reads = 0;
  const tricky = {
    version: 1,
    get rules() {
      reads++;
      return [];
    },
  };
  assert.equal(safeParsePolicy(tricky).success, false);
  assert.equal(reads, 0, "a getter is never invoked");
  assert.equal(
    safeParsePolicy(
      new (class {
        version = 1;
        rules = [];
      })(),
    ).success,
    false,
  );
  assert.equal(safeParsePolicy(new Map([["version", 1]])).success, false);
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  const r = safeParsePolicy(proxy);
  assert.equal(r.success, false);
  if (!r.success) assert.ok(r.error instanceof z.ZodError);
  const throwing = new Proxy({}, {
    ownKeys() {
      throw new Error("boom");
    },
  });
  assert.throws(() => parsePolicy(throwing), isZod);
  // A null-prototype input is fine.
  const bare = Object.assign(Object.create(null), { version: 1, rules: [] });
  assert.equal(safeParsePolicy(bare).success, true);
});

Deno.test("schema property: arbitrary JSON never throws anything but a ZodError", () => {
  const ruleLike = fc.record({
    id: fc.oneof(
      fc.string(),
      fc.constantFrom("__proto__", "constructor", "1", "a"),
    ),
    effect: fc.constantFrom("allow", "deny", "x"),
    calls: fc.array(fc.constantFrom("fs.read", "fs.*", "*", "", "x.*.y")),
    paths: fc.array(fc.string({ maxLength: 8 })),
    hosts: fc.array(
      fc.constantFrom(
        "*",
        "a.com",
        "*.a.com",
        "10.0.0.0/8",
        "::1",
        "1.2.3",
        "bad host",
      ),
    ),
    ports: fc.array(fc.oneof(fc.integer(), fc.double())),
    rate: fc.record({ perSec: fc.double(), burst: fc.integer() }, {
      requiredKeys: [],
    }),
    extra: fc.jsonValue(),
  }, { requiredKeys: [] });
  const docLike = fc.oneof(
    fc.jsonValue(),
    fc.record({
      version: fc.oneof(fc.constant(1), fc.jsonValue()),
      rules: fc.array(ruleLike),
    }, {
      requiredKeys: [],
    }),
  );
  fc.assert(
    fc.property(docLike, (value) => {
      try {
        const parsed = parsePolicy(value);
        compilePolicy(parsed);
      } catch (e) {
        assert.ok(e instanceof z.ZodError, String(e));
      }
      try {
        parsePolicyText(JSON.stringify(value) ?? "");
      } catch (e) {
        assert.ok(e instanceof z.ZodError, String(e));
      }
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.anything(), (value) => {
      const result = safeParsePolicy(value);
      if (!result.success) assert.ok(result.error instanceof z.ZodError);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("schema: ask is for calls only, and carries no rate", () => {
  assert.ok(ok(doc({ effect: "ask", calls: ["net.fetch"], hosts: ["*.example.com"] })));
  assert.ok(!ok(doc({ effect: "ask", imports: ["lodash"] })), "imports are decided before anyone could be asked");
  assert.ok(!ok(doc({ effect: "ask", calls: ["*"], rate: { perSec: 1, burst: 1 } })));
});
