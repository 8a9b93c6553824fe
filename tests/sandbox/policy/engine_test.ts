import assert from "node:assert/strict";
import { z } from "zod";
import {
  compilePolicy,
  type Decision,
  decisionErrno,
  evaluate,
  intersect,
  intersectPartsMax,
  type PolicyRequest,
  rateKeysPerRuleMax,
  resourceKey,
} from "../../../sandbox/policy/mod.ts";

type RuleIn = Record<string, unknown>;
const policyOf = (rules: RuleIn[], clock?: () => number) =>
  compilePolicy({ version: 1, rules }, clock ? { clock } : {});
const effect = (rules: RuleIn[], req: PolicyRequest) => evaluate(policyOf(rules), req).effect;

Deno.test("engine: default deny with ruleId default-deny", () => {
  const d = evaluate(policyOf([]), { call: "fs.read", path: "a" });
  assert.deepEqual(d, {
    effect: "deny",
    ruleId: "default-deny",
    layer: "policy",
    reason: "default",
    cacheable: true,
  });
  assert.ok(Object.isFrozen(d));
  assert.equal(decisionErrno(d), "EPERM");
});

Deno.test("engine: call patterns: exact, family, prefix and *", () => {
  const exact = [{ effect: "allow", calls: ["fs.read"] }];
  assert.equal(effect(exact, { call: "fs.read" }), "allow");
  assert.equal(effect(exact, { call: "fs.readdir" }), "deny");
  assert.equal(effect(exact, { call: "fs" }), "deny");
  const family = [{ effect: "allow", calls: ["fs.*"] }];
  assert.equal(effect(family, { call: "fs.write" }), "allow");
  assert.equal(effect(family, { call: "fs.dir.list" }), "allow");
  assert.equal(effect(family, { call: "fs" }), "deny");
  assert.equal(effect(family, { call: "fs." }), "deny");
  assert.equal(effect(family, { call: "fsx.read" }), "deny");
  const prefix = [{ effect: "allow", calls: ["fs.read*"] }];
  for (const call of ["fs.readText", "fs.readBytes", "fs.readDir"]) assert.equal(effect(prefix, { call }), "allow");
  for (const call of ["fs.read", "fs.writeText", "fs.rea", "fsx.readText"]) {
    assert.equal(effect(prefix, { call }), "deny");
  }
  assert.equal(
    effect([{ effect: "allow", calls: ["*"] }], { call: "anything.at.all" }),
    "allow",
  );
});

Deno.test("engine: path globs", () => {
  const cases: Array<[string, string, boolean]> = [
    ["**", ".", true],
    ["**", "a/b/c", true],
    ["*", "a", true],
    ["*", "a/b", false],
    ["*", ".", false],
    [".", ".", true],
    [".", "a", false],
    ["src/**", "src", true],
    ["src/**", "src/a/b.ts", true],
    ["src/**", "srcx/a", false],
    ["src/**/*.ts", "src/a.ts", true],
    ["src/**/*.ts", "src/a/b/c.ts", true],
    ["src/**/*.ts", "src/a/b/c.js", false],
    ["**/.env", ".env", true],
    ["**/.env", "a/b/.env", true],
    ["**/.env", "a/b/.envx", false],
    ["*.md", ".hidden.md", true], // `*` matches dotfiles: a deny must not miss them
    ["a/**/b/**/c", "a/b/c", true],
    ["a/**/b/**/c", "a/x/b/y/z/c", true],
    ["a/**/b/**/c", "a/x/y/c", false],
    ["?", "a", true],
    ["?", "ab", false],
    ["?", "\u{1f600}", true], // one code point, two UTF-16 units
    ["a?c", "a\u{1f600}c", true],
    ["*?", "\u{1f600}", true],
    ["*??", "\u{1f600}", false],
    ["a*", "a", true],
    ["a*", "ba", false],
    ["*a", "ba", true],
    ["*a*b?", "xaybz", true],
    ["*a*b?", "xaybzz", false],
    ["*a*b?", "xaybzbz", true],
    ["*a*b?", "xayb", false],
    ["secrets/*", "secrets/.key", true],
    ["secrets/*", "secrets", false],
  ];
  for (const [glob, path, expected] of cases) {
    const got = effect(
      [{ effect: "allow", calls: ["fs.read"], paths: [glob] }],
      {
        call: "fs.read",
        path,
      },
    );
    assert.equal(got === "allow", expected, `${glob} vs ${path}`);
  }
});

Deno.test("engine: a rule with a field does not match a request without it", () => {
  const rules = [
    { effect: "allow", calls: ["*"], paths: ["**"] },
    { effect: "allow", calls: ["*"], hosts: ["*"] },
    { effect: "allow", calls: ["*"], ports: [443] },
    { effect: "allow", calls: ["*"], methods: ["GET"] },
  ];
  for (const r of rules) {
    assert.equal(effect([r], { call: "x" }), "deny", JSON.stringify(r));
  }
  assert.equal(effect(rules.slice(0, 1), { call: "x", path: "." }), "allow");
  assert.equal(effect(rules.slice(1, 2), { call: "x", host: "a.b" }), "allow");
  assert.equal(
    effect(rules.slice(1, 2), { call: "x", addr: Uint8Array.of(1, 2, 3, 4) }),
    "allow",
  );
  assert.equal(effect(rules.slice(2, 3), { call: "x", port: 443 }), "allow");
  assert.equal(effect(rules.slice(2, 3), { call: "x", port: 80 }), "deny");
  assert.equal(
    effect(rules.slice(3, 4), { call: "x", method: "get" }),
    "allow",
  );
  assert.equal(
    effect(rules.slice(3, 4), { call: "x", method: "POST" }),
    "deny",
  );
});

Deno.test("engine: every present field must match", () => {
  const rules = [{
    effect: "allow",
    calls: ["net.fetch"],
    hosts: ["*.example.com"],
    ports: [443],
    methods: ["GET", "HEAD"],
  }];
  const base = {
    call: "net.fetch",
    host: "api.example.com",
    port: 443,
    method: "GET",
  };
  assert.equal(effect(rules, base), "allow");
  assert.equal(effect(rules, { ...base, port: 80 }), "deny");
  assert.equal(effect(rules, { ...base, method: "DELETE" }), "deny");
  assert.equal(effect(rules, { ...base, host: "example.com" }), "deny");
  assert.equal(effect(rules, { ...base, call: "net.connect" }), "deny");
});

Deno.test("engine: hosts: names, suffix wildcards and CIDRs", () => {
  const names = [{
    effect: "allow",
    calls: ["*"],
    hosts: ["example.com", "*.example.org"],
  }];
  const host = (h: string) => effect(names, { call: "x", host: h });
  assert.equal(host("example.com"), "allow");
  assert.equal(host("EXAMPLE.COM."), "allow");
  assert.equal(host("www.example.com"), "deny");
  assert.equal(host("a.example.org"), "allow");
  assert.equal(host("a.b.example.org"), "allow");
  assert.equal(
    host("example.org"),
    "deny",
    "the suffix wildcard excludes the apex",
  );
  assert.equal(host("badexample.org"), "deny");
  assert.equal(host("example.org.evil.com"), "deny");
  assert.equal(host("\u212aexample.com"), "deny", "non-ASCII host is invalid");

  const cidrs = [{
    effect: "allow",
    calls: ["*"],
    hosts: ["10.0.0.0/8", "fd00::/8", "::1"],
  }];
  const addr = (a: Uint8Array, h?: string) => evaluate(policyOf(cidrs), { call: "x", addr: a, host: h });
  assert.equal(addr(Uint8Array.of(10, 1, 2, 3)).effect, "allow");
  assert.equal(addr(Uint8Array.of(11, 1, 2, 3)).effect, "deny");
  const mapped = Uint8Array.of(
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    255,
    255,
    10,
    9,
    9,
    9,
  );
  assert.equal(addr(mapped).effect, "allow", "IPv4-mapped is its IPv4");
  const loop6 = new Uint8Array(16);
  loop6[15] = 1;
  assert.equal(addr(loop6).effect, "allow");
  // addr wins over an IP-literal host; a literal host stands in when addr is absent.
  assert.equal(addr(Uint8Array.of(11, 0, 0, 1), "10.0.0.1").effect, "deny");
  assert.equal(effect(cidrs, { call: "x", host: "10.0.0.1" }), "allow");
  assert.equal(effect(cidrs, { call: "x", host: "[::1]" }), "allow");
  assert.equal(
    effect(cidrs, { call: "x", host: "0x0a000001" }),
    "deny",
    "hosts must be canonical",
  );
  assert.equal(effect(cidrs, { call: "x", host: "10.example.com" }), "deny");
});

Deno.test("engine: deny overrides allow regardless of order", () => {
  const allow = { id: "all", effect: "allow", calls: ["fs.*"], paths: ["**"] };
  const deny = {
    id: "no-secrets",
    effect: "deny",
    calls: ["fs.read"],
    paths: ["secrets/**"],
  };
  for (const rules of [[allow, deny], [deny, allow]]) {
    const d = evaluate(policyOf(rules), { call: "fs.read", path: "secrets/k" });
    assert.equal(d.effect, "deny");
    assert.equal(d.ruleId, "no-secrets");
    assert.equal(d.effect === "deny" && d.reason, "rule");
    assert.equal(
      evaluate(policyOf(rules), { call: "fs.read", path: "src/k" }).ruleId,
      "all",
    );
  }
  // Unnamed rules are named by their index.
  const d = evaluate(
    policyOf([{ effect: "allow", calls: ["*"] }, {
      effect: "deny",
      calls: ["x"],
    }]),
    {
      call: "x",
    },
  );
  assert.equal(d.ruleId, "1");
});

Deno.test("engine: malformed requests are denied as invalid, never thrown", () => {
  const policy = policyOf([{
    effect: "allow",
    calls: ["*"],
    paths: ["**"],
    hosts: ["*"],
  }]);
  const bad: unknown[] = [
    null,
    undefined,
    42,
    {},
    { call: "" },
    { call: "x".repeat(200) },
    { call: 1 },
    { call: "fs.read", path: "" },
    { call: "fs.read", path: "/etc/passwd" },
    { call: "fs.read", path: "a/../b" },
    { call: "fs.read", path: "./a" },
    { call: "fs.read", path: "a//b" },
    { call: "fs.read", path: "a/" },
    { call: "fs.read", path: "a\\..\\b" },
    { call: "fs.read", path: "a\0b" },
    { call: "fs.read", path: "\ud800" },
    { call: "fs.read", path: "a".repeat(5000) },
    { call: "fs.read", path: 7 },
    { call: "fs.read", path: null },
    { call: "net.fetch", host: "" },
    { call: "net.fetch", host: "a b" },
    { call: "net.fetch", host: "\u00e9.com" },
    { call: "net.fetch", host: "evil.com:80" },
    { call: "net.fetch", host: "evil.com.." },
    { call: "net.fetch", host: ".evil.com" },
    { call: "net.fetch", host: "a..evil.com" },
    { call: "net.fetch", host: "user@evil.com" },
    { call: "net.fetch", host: "evil.com/x" },
    { call: "net.fetch", host: "[::1" },
    { call: "net.fetch", addr: [127, 0, 0, 1] },
    { call: "net.fetch", addr: new Uint8Array(5) },
    { call: "net.fetch", port: -1 },
    { call: "net.fetch", port: 65536 },
    { call: "net.fetch", port: 1.5 },
    { call: "net.fetch", port: NaN },
    { call: "net.fetch", method: "" },
    { call: "net.fetch", method: "GET /" },
    { call: "net.fetch", method: "po\u017ft" }, // long s upper-cases to POST
    { call: "x", rateKey: 5 },
    {
      get call(): string {
        throw new Error("boom");
      },
    },
  ];
  for (const [i, req] of bad.entries()) {
    const d = evaluate(policy, req as PolicyRequest);
    assert.equal(d.effect, "deny", `case ${i}`);
    assert.equal(d.effect === "deny" && d.reason, "invalid");
    assert.equal(decisionErrno(d), "EINVAL");
    assert.equal(d.cacheable, false);
  }
});

Deno.test("engine: intersection allows only what both allow", () => {
  const agent = policyOf([
    { id: "agent-fs", effect: "allow", calls: ["fs.*"], paths: ["**"] },
    { id: "agent-net", effect: "allow", calls: ["net.fetch"], hosts: ["*"] },
  ]);
  const tenant = policyOf([
    { id: "tenant-fs", effect: "allow", calls: ["fs.read"], paths: ["src/**"] },
    {
      id: "tenant-net",
      effect: "allow",
      calls: ["net.fetch"],
      hosts: ["*.example.com"],
    },
    { id: "tenant-no-env", effect: "deny", calls: ["*"], paths: ["**/.env"] },
  ]);
  const both = intersect(agent, tenant);
  assert.equal(both.rulesCount, 5);
  const d = (r: PolicyRequest) => evaluate(both, r);
  assert.equal(d({ call: "fs.read", path: "src/a" }).ruleId, "agent-fs");
  assert.equal(d({ call: "fs.read", path: "src/a" }).effect, "allow");
  assert.equal(d({ call: "fs.write", path: "src/a" }).ruleId, "default-deny");
  assert.equal(d({ call: "fs.read", path: "docs/a" }).effect, "deny");
  assert.equal(
    d({ call: "fs.read", path: "src/.env" }).ruleId,
    "tenant-no-env",
  );
  assert.equal(d({ call: "net.fetch", host: "a.example.com" }).effect, "allow");
  assert.equal(d({ call: "net.fetch", host: "evil.com" }).effect, "deny");
  // Symmetric in effect.
  const other = intersect(tenant, agent);
  for (const path of ["src/a", "docs/a", "src/.env"]) {
    assert.equal(
      evaluate(other, { call: "fs.read", path }).effect,
      d({ call: "fs.read", path }).effect,
    );
  }
  // Idempotent and bounded.
  assert.equal(intersect(both, both).rulesCount, 5);
  let chain = agent;
  for (let i = 1; i < intersectPartsMax; i++) {
    chain = intersect(chain, policyOf([]));
  }
  assert.throws(() => intersect(chain, policyOf([])), RangeError);
});

Deno.test("engine: rate limits with a fake clock", () => {
  let now = 1000;
  const policy = policyOf([
    {
      id: "fetch",
      effect: "allow",
      calls: ["net.fetch"],
      hosts: ["*"],
      rate: { perSec: 2, burst: 3 },
    },
  ], () => now);
  const req = { call: "net.fetch", host: "a.com", rateKey: "pid-1" };
  const results: Decision[] = [];
  for (let i = 0; i < 4; i++) results.push(evaluate(policy, req));
  assert.deepEqual(results.map((d) => d.effect), [
    "allow",
    "allow",
    "allow",
    "deny",
  ]);
  const limited = results[3];
  assert.equal(limited.effect === "deny" && limited.reason, "rate");
  assert.equal(limited.ruleId, "fetch");
  assert.equal(decisionErrno(limited), "EAGAIN");
  assert.equal(limited.cacheable, false);
  assert.equal(
    results[0].cacheable,
    false,
    "a rate-limited allow must not be cached",
  );
  // Another key has its own bucket.
  assert.equal(evaluate(policy, { ...req, rateKey: "pid-2" }).effect, "allow");
  now += 499; // 0.998 tokens
  assert.equal(evaluate(policy, req).effect, "deny");
  now += 1; // 1 token
  assert.equal(evaluate(policy, req).effect, "allow");
  assert.equal(evaluate(policy, req).effect, "deny");
  now += 100_000; // refills only up to burst
  for (let i = 0; i < 3; i++) {
    assert.equal(evaluate(policy, req).effect, "allow");
  }
  assert.equal(evaluate(policy, req).effect, "deny");
  // A clock going backwards or NaN refills nothing.
  now -= 50_000;
  assert.equal(evaluate(policy, req).effect, "deny");
  now = NaN;
  assert.equal(evaluate(policy, req).effect, "deny");
});

Deno.test("engine: rate is a constraint on every matching allow; all-or-none tokens", () => {
  let now = 0;
  const policy = policyOf([
    {
      id: "specific",
      effect: "allow",
      calls: ["net.fetch"],
      hosts: ["api.example.com"],
    },
    {
      id: "capped",
      effect: "allow",
      calls: ["net.fetch"],
      hosts: ["*.example.com"],
      rate: { perSec: 1, burst: 1 },
    },
    // Refills one token per 1000 s: effectively never within this test.
    {
      id: "slow",
      effect: "allow",
      calls: ["net.fetch"],
      hosts: ["api.example.com"],
      rate: { perSec: 0.001, burst: 2 },
    },
  ], () => now);
  const req = { call: "net.fetch", host: "api.example.com" };
  const first = evaluate(policy, req); // capped 1→0, slow 2→1
  assert.equal(first.effect, "allow");
  assert.equal(first.ruleId, "specific");
  const second = evaluate(policy, req); // denied by capped; slow must stay at 1
  assert.equal(
    second.ruleId,
    "capped",
    "the more specific allow does not escape the cap",
  );
  assert.equal(second.effect === "deny" && second.reason, "rate");
  now += 1000; // capped 0→1; slow ≈1.001 (≈0.001 had the denial charged it)
  assert.equal(
    evaluate(policy, req).effect,
    "allow",
    "the denied request took no token",
  );
  now += 1000;
  const third = evaluate(policy, req);
  assert.equal(third.ruleId, "slow");
  // Another host only matches `capped`.
  assert.equal(
    evaluate(policy, { call: "net.fetch", host: "b.example.com" }).effect,
    "allow",
  );
});

Deno.test("engine: a hard deny wins over a rate denial; tokens untouched by denials", () => {
  const now = 0;
  const agent = policyOf([
    { effect: "allow", calls: ["x"], rate: { perSec: 1, burst: 1 } },
  ], () => now);
  const tenant = policyOf([{ effect: "allow", calls: ["x"], ports: [1] }, {
    id: "no",
    effect: "deny",
    calls: ["x"],
    ports: [2],
  }]);
  const both = intersect(agent, tenant);
  assert.equal(evaluate(both, { call: "x", port: 3 }).ruleId, "default-deny");
  assert.equal(evaluate(both, { call: "x", port: 2 }).ruleId, "no");
  assert.equal(
    evaluate(both, { call: "x", port: 1 }).effect,
    "allow",
    "denials took no token",
  );
  const limited = evaluate(both, { call: "x", port: 1 });
  assert.equal(limited.effect === "deny" && limited.reason, "rate");
  assert.equal(
    evaluate(both, { call: "x", port: 2 }).ruleId,
    "no",
    "hard deny beats rate",
  );
});

Deno.test("engine: tenant rate buckets are shared across agents", () => {
  const now = 0;
  const tenant = policyOf([{
    effect: "allow",
    calls: ["x"],
    rate: { perSec: 1, burst: 2 },
  }], () => now);
  const a = intersect(policyOf([{ effect: "allow", calls: ["*"] }]), tenant);
  const b = intersect(policyOf([{ effect: "allow", calls: ["*"] }]), tenant);
  assert.equal(evaluate(a, { call: "x" }).effect, "allow");
  assert.equal(evaluate(b, { call: "x" }).effect, "allow");
  assert.equal(evaluate(a, { call: "x" }).effect, "deny");
  // A freshly compiled instance has fresh buckets.
  const again = policyOf([{
    effect: "allow",
    calls: ["x"],
    rate: { perSec: 1, burst: 2 },
  }], () => now);
  assert.equal(evaluate(again, { call: "x" }).effect, "allow");
});

Deno.test("engine: rate key table is bounded and never resets a bucket in debt", () => {
  let now = 0;
  const policy = policyOf([{
    effect: "allow",
    calls: ["x"],
    rate: { perSec: 1, burst: 1 },
  }], () => now);
  for (let i = 0; i < rateKeysPerRuleMax; i++) {
    assert.equal(
      evaluate(policy, { call: "x", rateKey: `k${i}` }).effect,
      "allow",
    );
  }
  const over = evaluate(policy, { call: "x", rateKey: "fresh" });
  assert.equal(
    over.effect === "deny" && over.reason,
    "rate",
    "full table of indebted buckets",
  );
  assert.equal(
    evaluate(policy, { call: "x", rateKey: "k0" }).effect,
    "deny",
    "k0 was not reset",
  );
  now += 1000; // all buckets full again: the sweep frees them
  assert.equal(
    evaluate(policy, { call: "x", rateKey: "fresh" }).effect,
    "allow",
  );
});

Deno.test("engine: hostile globs and paths stay bounded (no regex backtracking)", () => {
  const glob = Array(20).fill("*a").join("") + "*b";
  const policy = policyOf([
    { effect: "allow", calls: ["*"], paths: [glob, "**/**/**/**/**/**/**/**/z"] },
  ]);
  const path = Array(16).fill("a".repeat(255)).join("/");
  // Completes (O(n·m) worst case); a backtracking regex would not finish.
  assert.equal(evaluate(policy, { call: "x", path }).effect, "deny");
  assert.equal(evaluate(policy, { call: "x", path: "a".repeat(255) }).effect, "deny");
  assert.equal(evaluate(policy, { call: "x", path: "aaab" }).effect, "deny");
  assert.equal(evaluate(policy, { call: "x", path: `${"a".repeat(20)}b` }).effect, "allow");
  // A segment longer than NAME_MAX cannot exist: invalid.
  const long = evaluate(policy, { call: "x", path: "a".repeat(256) });
  assert.equal(long.effect === "deny" && long.reason, "invalid");
});

Deno.test("engine: past the match-step budget a request is denied, never allowed", () => {
  // Each deny glob costs O(|glob|·|segment|) steps and does not match; the
  // allow would. Running out of budget must not turn "skipped" into allow.
  const hostile = "*a*" + "a".repeat(100) + "b";
  const rules: RuleIn[] = Array.from({ length: 30 }, () => ({
    effect: "deny",
    calls: ["fs.read"],
    paths: [hostile],
  }));
  rules.push({ effect: "allow", calls: ["fs.read"], paths: ["**"] });
  const policy = policyOf(rules);
  const costly = evaluate(policy, { call: "fs.read", path: "a".repeat(255) });
  assert.equal(costly.effect, "deny");
  assert.equal(costly.effect === "deny" && costly.reason, "invalid");
  assert.equal(decisionErrno(costly), "EINVAL");
  // The same policy still decides ordinary requests.
  assert.equal(evaluate(policy, { call: "fs.read", path: "src/a.ts" }).effect, "allow");
  const hit = evaluate(policy, { call: "fs.read", path: `${"a".repeat(101)}b` });
  assert.equal(hit.effect === "deny" && hit.reason, "rule");
  // The budget is per call: the next one starts afresh.
  assert.equal(evaluate(policy, { call: "fs.read", path: "b" }).effect, "allow");
});

Deno.test("engine: compilePolicy validates its input", () => {
  const isZod = (e: unknown) => e instanceof z.ZodError;
  assert.throws(
    () => compilePolicy({ version: 1, rules: [{ effect: "allow" }] }),
    isZod,
  );
  assert.throws(() => compilePolicy(null), isZod);
});

Deno.test("engine: resourceKey is injective over request fields", () => {
  const reqs: PolicyRequest[] = [
    { call: "x" },
    { call: "x", path: "a" },
    { call: "x", host: "a" },
    { call: "x", method: "a" },
    { call: "x", path: "a-" },
    { call: "x", path: "a", host: "-" },
    { call: "x", path: "1:a" },
    { call: "x", port: 1 },
    { call: "x", port: 11 },
    { call: "x", addr: Uint8Array.of(1, 2, 3, 4) },
    { call: "x", addr: Uint8Array.of(1, 2, 3, 4), port: 5 },
    { call: "x", addr: Uint8Array.of(1, 2, 3, 45) },
    { call: "x", method: "GET" },
    { call: "x", method: "POST" },
    { call: "x", rateKey: "" },
    { call: "x", path: "\0-----" },
    { call: "x", path: "\0------" },
    { call: "x", path: "\u00001:a-----" },
    { call: "x", path: "" },
  ];
  const keys = new Set(reqs.map(resourceKey));
  assert.equal(keys.size, reqs.length);
  assert.equal(resourceKey({ call: "fs.read", path: "src/a.ts" }), "src/a.ts");
  assert.equal(
    resourceKey({ call: "x", path: "a", port: 443 }),
    "\x001:a--3:443--",
  );
  assert.equal(resourceKey({ call: "x" }), "\x00------");
});

Deno.test("engine: ask rules: deny beats ask, ask beats allow, and an ask anywhere in the chain asks", () => {
  const ask = { id: "review", effect: "ask", calls: ["fs.writeText"], paths: ["out/**"] };
  const all = { effect: "allow", calls: ["*"] };
  const d = evaluate(policyOf([ask, all]), { call: "fs.writeText", path: "out/a" });
  assert.deepEqual([d.effect, d.ruleId], ["ask", "review"]);
  assert.equal(decisionErrno(d), null, "an ask is not an errno: the call waits");
  assert.equal(effect([ask, all], { call: "fs.writeText", path: "src/a" }), "allow");
  assert.equal(
    effect([ask, { effect: "deny", calls: ["fs.*"] }, all], { call: "fs.writeText", path: "out/a" }),
    "deny",
  );
  assert.equal(
    effect([ask], { call: "fs.writeText", path: "out/a" }),
    "ask",
    "an ask rule alone lets its document pass",
  );
  const chain = intersect(policyOf([ask, all]), policyOf([all]));
  assert.equal(evaluate(chain, { call: "fs.writeText", path: "out/a" }).effect, "ask");
  const denied = intersect(policyOf([ask, all]), policyOf([{ effect: "deny", calls: ["fs.writeText"] }, all]));
  assert.equal(evaluate(denied, { call: "fs.writeText", path: "out/a" }).effect, "deny");
});
