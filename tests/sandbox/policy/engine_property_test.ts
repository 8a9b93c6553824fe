/**
 * Property tests: the compiled engine against a slow, obviously-correct
 * reference evaluator written here from the documented semantics.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { compilePolicy, evaluate, intersect, type PolicyRequest, resourceKey } from "../../../sandbox/policy/mod.ts";

// --- reference -----------------------------------------------------------

interface RefCidr {
  bytes: number[]; // 4 or 16
  prefix: number;
}

interface RefRule {
  id?: string;
  effect: "allow" | "deny";
  calls: string[];
  paths?: string[];
  hostNames?: string[]; // names, "*.suffix" or "*"
  cidrs?: RefCidr[];
  ports?: number[];
  methods?: string[];
}

interface RefRequest {
  call: string;
  path?: string;
  host?: string;
  hostBytes?: number[]; // when host is an IP literal
  addr?: number[];
  port?: number;
  method?: string;
}

/** Everything as 16 bytes: IPv4 a.b.c.d is ::ffff:a.b.c.d, prefix + 96. */
function as16(
  bytes: number[],
  prefix?: number,
): { bytes: number[]; prefix: number } {
  if (bytes.length === 16) return { bytes, prefix: prefix ?? 128 };
  return {
    bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...bytes],
    prefix: (prefix ?? 32) + 96,
  };
}

function refCidr(c: RefCidr, addr: number[]): boolean {
  const net = as16(c.bytes, c.prefix);
  const a = as16(addr).bytes;
  for (let bit = 0; bit < net.prefix; bit++) {
    const x = (a[bit >> 3] >> (7 - (bit & 7))) & 1;
    const y = (net.bytes[bit >> 3] >> (7 - (bit & 7))) & 1;
    if (x !== y) return false;
  }
  return true;
}

function segRegex(seg: string): RegExp {
  const body = [...seg].map((ch) =>
    ch === "*" ? "[^/]*" : ch === "?" ? "[^/]" : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${body}$`, "u");
}

function refGlob(glob: string, path: string): boolean {
  const ps = glob === "." ? [] : glob.split("/");
  const ss = path === "." ? [] : path.split("/");
  const rec = (i: number, j: number): boolean => {
    if (i === ps.length) return j === ss.length;
    if (ps[i] === "**") {
      return rec(i + 1, j) || (j < ss.length && rec(i, j + 1));
    }
    return j < ss.length && segRegex(ps[i]).test(ss[j]) && rec(i + 1, j + 1);
  };
  return rec(0, 0);
}

function refCall(pattern: string, call: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) {
    const prefix = pattern.slice(0, -1);
    return call.startsWith(prefix) && call.length > prefix.length;
  }
  return pattern === call;
}

function refHost(rule: RefRule, req: RefRequest): boolean {
  const name = req.host?.toLowerCase().replace(/\.$/, "");
  const addr = req.addr ?? req.hostBytes;
  if (name === undefined && addr === undefined) return false;
  for (const p of rule.hostNames ?? []) {
    if (p === "*") return true;
    if (name === undefined) continue;
    if (
      p.startsWith("*.") ? name.endsWith(p.slice(1)) && name.length > p.length - 1 : name === p.toLowerCase()
    ) {
      return true;
    }
  }
  return addr !== undefined && (rule.cidrs ?? []).some((c) => refCidr(c, addr));
}

function refMatches(rule: RefRule, req: RefRequest): boolean {
  if (!rule.calls.some((c) => refCall(c, req.call))) return false;
  if (
    rule.paths &&
    (req.path === undefined || !rule.paths.some((g) => refGlob(g, req.path!)))
  ) return false;
  if ((rule.hostNames || rule.cidrs) && !refHost(rule, req)) return false;
  if (
    rule.ports && (req.port === undefined || !rule.ports.includes(req.port))
  ) return false;
  if (rule.methods) {
    if (req.method === undefined) return false;
    if (
      !rule.methods.some((m) => m.toUpperCase() === req.method!.toUpperCase())
    ) return false;
  }
  return true;
}

function refEvaluate(
  rules: RefRule[],
  req: RefRequest,
): { effect: string; ruleId: string } {
  const matching = rules.map((r, i) => ({ r, i })).filter(({ r }) => refMatches(r, req));
  const name = ({ r, i }: { r: RefRule; i: number }) => r.id ?? String(i);
  const deny = matching.find(({ r }) => r.effect === "deny");
  if (deny) return { effect: "deny", ruleId: name(deny) };
  const allow = matching.find(({ r }) => r.effect === "allow");
  if (allow) return { effect: "allow", ruleId: name(allow) };
  return { effect: "deny", ruleId: "default-deny" };
}

// --- generators ------------------------------------------------------------

const callNames = [
  "fs.read",
  "fs.write",
  "fs.dir.list",
  "net.fetch",
  "ipc.send",
  "proc.spawn",
];
const segments = ["a", "b", "ab", ".env", "x\u{1f600}", "src"];
const globSegments = [
  "a",
  "b",
  "*",
  "?",
  "a*",
  "*b",
  "**",
  "?b*",
  "x?",
  ".env",
  "*.*",
  "src",
];
const names = [
  "example.com",
  "api.example.com",
  "a.b.example.com",
  "evil.com",
  "Example.COM",
  "x.org",
];
const hostPatterns = [
  "*",
  "example.com",
  "*.example.com",
  "evil.com",
  "*.com",
  "x.org",
];
const methods = ["GET", "get", "POST", "Delete", "PATCH"];
const ports = [80, 443, 8080];

function formatV4(b: number[]): string {
  return b.join(".");
}

function formatV6(b: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  }
  return groups.join(":");
}

/** Small address space so CIDRs and addresses collide often. */
const v4Arb = fc.tuple(
  fc.constantFrom(10, 127, 8),
  fc.constantFrom(0, 1),
  fc.constantFrom(0, 1, 255),
  fc.constantFrom(1, 2),
)
  .map((t) => [...t]);
const v6Arb = fc.oneof(
  v4Arb.map((v4) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...v4]), // mapped
  fc.tuple(
    fc.constantFrom(0xfd, 0x20),
    fc.constantFrom(0, 1),
    fc.constantFrom(0, 1),
  ).map(([a, b, c]) => {
    const out = new Array(16).fill(0);
    out[0] = a;
    out[1] = b;
    out[15] = c;
    return out;
  }),
);
const addrArb = fc.oneof(v4Arb, v6Arb);

const cidrArb: fc.Arbitrary<RefCidr> = addrArb.chain((bytes) =>
  fc.integer({ min: 0, max: bytes.length * 8 }).map((prefix) => {
    const masked = bytes.map((byte, i) => {
      const keep = Math.max(0, Math.min(8, prefix - i * 8));
      return byte & ((0xff << (8 - keep)) & 0xff);
    });
    return { bytes: masked, prefix };
  })
);

function cidrText(c: RefCidr): string {
  return `${c.bytes.length === 4 ? formatV4(c.bytes) : formatV6(c.bytes)}/${c.prefix}`;
}

const pathArb = fc.oneof(
  fc.constant("."),
  fc.array(fc.constantFrom(...segments), { minLength: 1, maxLength: 4 }).map((
    s,
  ) => s.join("/")),
);
const globArb = fc.oneof(
  fc.constant("."),
  fc.array(fc.constantFrom(...globSegments), { minLength: 1, maxLength: 4 })
    .map((s) => s.join("/")),
);

const ruleArb: fc.Arbitrary<RefRule> = fc.record({
  effect: fc.constantFrom("allow" as const, "deny" as const),
  calls: fc.array(
    fc.constantFrom("*", "fs.*", "net.*", "fs.read", "net.fetch", "fs.dir.*"),
    {
      minLength: 1,
      maxLength: 2,
    },
  ),
  paths: fc.option(fc.array(globArb, { minLength: 1, maxLength: 2 }), {
    nil: undefined,
  }),
  hostNames: fc.option(
    fc.array(fc.constantFrom(...hostPatterns), { minLength: 1, maxLength: 2 }),
    {
      nil: undefined,
    },
  ),
  cidrs: fc.option(fc.array(cidrArb, { minLength: 1, maxLength: 2 }), {
    nil: undefined,
  }),
  ports: fc.option(
    fc.array(fc.constantFrom(...ports), { minLength: 1, maxLength: 2 }),
    { nil: undefined },
  ),
  methods: fc.option(
    fc.array(fc.constantFrom(...methods), { minLength: 1, maxLength: 2 }),
    {
      nil: undefined,
    },
  ),
  named: fc.boolean(),
}).map(({ named, ...r }) => ({
  ...r,
  id: undefined as string | undefined,
  named,
}))
  .map(({ named, ...r }) => (named ? { ...r, id: "r" } : r));

const rulesArb = fc.array(ruleArb, { maxLength: 8 }).map((rules) =>
  rules.map((r, i) => (r.id ? { ...r, id: `r${i}` } : r))
);

const requestArb: fc.Arbitrary<RefRequest> = fc.record({
  call: fc.constantFrom(...callNames),
  path: fc.option(pathArb, { nil: undefined }),
  host: fc.option(
    fc.oneof(
      fc.constantFrom(...names).map((n) => ({ host: n })),
      fc.constantFrom(...names).map((n) => ({ host: `${n}.` })),
      v4Arb.map((b) => ({ host: formatV4(b), hostBytes: b })),
      v6Arb.map((b) => ({ host: `[${formatV6(b)}]`, hostBytes: b })),
    ),
    { nil: undefined },
  ),
  addr: fc.option(addrArb, { nil: undefined }),
  port: fc.option(fc.constantFrom(...ports), { nil: undefined }),
  method: fc.option(fc.constantFrom(...methods), { nil: undefined }),
}).map(({ host, ...r }) => ({ ...r, ...(host ?? {}) }));

function toDoc(rules: RefRule[]): unknown {
  return {
    version: 1,
    rules: rules.map((r) => {
      const hosts = [...(r.hostNames ?? []), ...(r.cidrs ?? []).map(cidrText)];
      const out: Record<string, unknown> = { effect: r.effect, calls: r.calls };
      if (r.id !== undefined) out.id = r.id;
      if (r.paths) out.paths = r.paths;
      if (r.hostNames || r.cidrs) out.hosts = hosts;
      if (r.ports) out.ports = r.ports;
      if (r.methods) out.methods = r.methods;
      return out;
    }),
  };
}

function toRequest(r: RefRequest): PolicyRequest {
  return {
    call: r.call,
    path: r.path,
    host: r.host,
    addr: r.addr === undefined ? undefined : Uint8Array.from(r.addr),
    port: r.port,
    method: r.method,
  };
}

// --- properties --------------------------------------------------------------

Deno.test("engine property: matches the reference evaluator", () => {
  fc.assert(
    fc.property(
      rulesArb,
      fc.array(requestArb, { minLength: 1, maxLength: 10 }),
      (rules, reqs) => {
        const policy = compilePolicy(toDoc(rules));
        for (const req of reqs) {
          const got = evaluate(policy, toRequest(req));
          const want = refEvaluate(rules, req);
          assert.deepEqual(
            { effect: got.effect, ruleId: got.ruleId },
            want,
            JSON.stringify({ rules, req }),
          );
        }
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("engine property: intersection allows iff both allow", () => {
  fc.assert(
    fc.property(rulesArb, rulesArb, requestArb, (a, b, req) => {
      const pa = compilePolicy(toDoc(a));
      const pb = compilePolicy(toDoc(b));
      const both = evaluate(intersect(pa, pb), toRequest(req)).effect;
      const each = refEvaluate(a, req).effect === "allow" &&
        refEvaluate(b, req).effect === "allow";
      assert.equal(both === "allow", each);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("engine property: evaluate never throws on arbitrary requests", () => {
  const policy = compilePolicy({
    version: 1,
    rules: [
      {
        effect: "allow",
        calls: ["*"],
        paths: ["**/*a*?b*"],
        hosts: ["*.a.com", "10.0.0.0/8"],
        ports: [1],
      },
      { effect: "deny", calls: ["fs.*"], methods: ["GET"] },
      { effect: "allow", calls: ["net.*"], rate: { perSec: 1, burst: 1 } },
    ],
  });
  const field = fc.oneof(
    fc.anything(),
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.integer(),
    fc.double(),
    fc.uint8Array({ maxLength: 20 }),
  );
  const requestLike = fc.oneof(
    fc.anything(),
    fc.record({
      call: fc.oneof(fc.constantFrom("fs.read", "net.fetch"), field),
      path: field,
      host: field,
      addr: field,
      port: field,
      method: field,
      rateKey: field,
    }, { requiredKeys: [] }),
  );
  fc.assert(
    fc.property(requestLike, (req) => {
      const d = evaluate(policy, req as PolicyRequest);
      assert.ok(d.effect === "allow" || d.effect === "deny");
      assert.equal(d.layer, "policy");
    }),
    { numRuns: 5000 },
  );
});

Deno.test("engine property: resourceKey is injective", () => {
  const text = fc.option(fc.string({ maxLength: 6, unit: "binary" }), { nil: undefined });
  const reqArb = fc.record({
    call: fc.constant("x"),
    path: text,
    host: text,
    addr: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: undefined }),
    port: fc.option(fc.integer({ min: -1, max: 99_999 }), { nil: undefined }),
    method: text,
    rateKey: text,
  });
  const same = (a: PolicyRequest, b: PolicyRequest) =>
    a.path === b.path && a.host === b.host && a.port === b.port &&
    a.method === b.method && a.rateKey === b.rateKey &&
    (a.addr === undefined ? b.addr === undefined : b.addr !== undefined && a.addr.join() === b.addr.join() &&
      a.addr.length === b.addr.length);
  fc.assert(
    fc.property(reqArb, reqArb, (a, b) => {
      if (resourceKey(a) === resourceKey(b)) assert.ok(same(a, b), JSON.stringify([a, b]));
    }),
    { numRuns: 20_000 },
  );
});
