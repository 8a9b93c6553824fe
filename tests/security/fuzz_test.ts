/**
 * Property tests (fast-check) of the parsers that see hostile input first:
 * the frame decoder, the guest path normaliser (against a reference model
 * written here) and the policy evaluator on random documents (deny
 * overrides allow, against a tiny reference model of calls + literal paths).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeFrame } from "../../kernel/syscall/frame.ts";
import { KernelError } from "../../kernel/errno.ts";
import { pathBytesMax, pathSegmentsMax } from "../../kernel/limits.ts";
import { normalizeGuestPath } from "../../sandbox/path/normalize.ts";
import { compilePolicy, evaluate, safeParsePolicy } from "../../sandbox/policy/mod.ts";

const kinds = new Set(["call", "batch", "ctl", "bad"]);
const encoder = new TextEncoder();

const jsonish = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({
    id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
    call: fc.oneof(fc.constantFrom("time.now", "fs.readText", "__proto__", ""), fc.string()),
    args: fc.oneof(fc.jsonValue(), fc.constant({ __proto__: { polluted: 1 } })),
  }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.array(fc.jsonValue(), { maxLength: 5 }).map((batch) => JSON.stringify({ batch })),
  fc.tuple(fc.constantFrom('{"__proto__":', '{"constructor":', '{"ctl":', '{"batch":[', '{"id":1,'), fc.json()).map((
    [a, b],
  ) => a + b + "}"),
);

Deno.test("fuzz: decodeFrame never throws and always returns a known kind", () => {
  fc.assert(
    fc.property(jsonish, fc.option(fc.nat(), { nil: undefined }), (line, declared) => {
      const d = decodeFrame(line, declared ?? encoder.encode(line).length);
      assert.ok(kinds.has(d.kind), d.kind);
      if (d.kind === "call") {
        assert.ok(Number.isSafeInteger(d.frame.id) && d.frame.id >= 0);
        assert.equal(typeof d.frame.call, "string");
      }
      if (d.kind === "bad") assert.equal(typeof d.code, "string");
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }),
    { numRuns: 3000 },
  );
});

/** Reference model: accept/reject and segments, written from the documented rules. */
function refNormalize(raw: string): string[] | "EACCES" {
  if (encoder.encode(raw).length > pathBytesMax) return "EACCES";
  if (raw.indexOf("\0") >= 0) return "EACCES";
  if (raw[0] === "/" || raw[0] === "\\") return "EACCES";
  const c = raw.charCodeAt(0);
  if (raw.length >= 2 && raw[1] === ":" && ((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return "EACCES";
  const stack: string[] = [];
  for (const seg of raw.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (stack.length === 0) return "EACCES";
      stack.pop();
    } else stack.push(seg);
  }
  return stack.length > pathSegmentsMax ? "EACCES" : stack;
}

const pathArb = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.array(
    fc.oneof(
      fc.constantFrom("..", ".", "", "a", "b", "\u2025", "\uff0e\uff0e", "%2e%2e", "..\\..", "\\", "C:", "\0", "x\0y"),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 80 },
  ).map((parts) => parts.join("/")),
  fc.nat({ max: 5000 }).map((n) => "a/".repeat(n)),
);

Deno.test("fuzz: normalizeGuestPath throws only EACCES/EINVAL, never yields a bad segment, and agrees with a reference model", () => {
  fc.assert(
    fc.property(pathArb, (raw) => {
      let got: string[] | "EACCES";
      try {
        got = normalizeGuestPath(raw);
      } catch (err) {
        assert.ok(err instanceof KernelError, String(err));
        assert.ok(err.code === "EACCES" || err.code === "EINVAL", err.code);
        got = "EACCES";
      }
      if (got !== "EACCES") {
        for (const seg of got) {
          assert.ok(seg !== "" && seg !== "." && seg !== "..", JSON.stringify(seg));
          assert.ok(!seg.includes("/") && !seg.includes("\0"), JSON.stringify(seg));
        }
      }
      assert.deepEqual(got, refNormalize(raw), JSON.stringify(raw).slice(0, 200));
    }),
    { numRuns: 4000 },
  );
  for (const v of [1, null, undefined, {}, [], Symbol("x"), 1n]) {
    assert.throws(() => normalizeGuestPath(v), (e: unknown) => e instanceof KernelError && e.code === "EINVAL");
  }
});

// --- policy: random documents, random requests, deny overrides allow ------------

const callNames = ["fs.readText", "fs.writeText", "net.fetch", "time.now", "ipc.send"];
const pathNames = ["a", "a/b", "data/x", "secret", "data/secret"];

interface MiniRule {
  effect: "allow" | "deny";
  calls: string[];
  paths?: string[];
}

const ruleArb: fc.Arbitrary<MiniRule> = fc.record({
  effect: fc.constantFrom("allow" as const, "deny" as const),
  calls: fc.uniqueArray(fc.constantFrom("*", "fs.*", ...callNames), { minLength: 1, maxLength: 3 }),
  paths: fc.option(fc.uniqueArray(fc.constantFrom(...pathNames), { minLength: 1, maxLength: 3 }), { nil: undefined }),
});

function refCall(pattern: string, call: string): boolean {
  return pattern === "*" || pattern === call || (pattern.endsWith(".*") && call.startsWith(pattern.slice(0, -1)));
}

/** Tiny model: any matching deny → deny; else any matching allow → allow; else deny. */
function refDecide(rules: MiniRule[], call: string, path: string | undefined): "allow" | "deny" {
  const matches = (r: MiniRule) =>
    r.calls.some((c) => refCall(c, call)) && (r.paths === undefined || (path !== undefined && r.paths.includes(path)));
  if (rules.some((r) => r.effect === "deny" && matches(r))) return "deny";
  return rules.some((r) => r.effect === "allow" && matches(r)) ? "allow" : "deny";
}

Deno.test("fuzz: policy — random documents × random requests: deny overrides allow, default deny", () => {
  fc.assert(
    fc.property(
      fc.array(ruleArb, { maxLength: 8 }),
      fc.array(
        fc.record({
          call: fc.constantFrom(...callNames),
          path: fc.option(fc.constantFrom(...pathNames), { nil: undefined }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      (rules, requests) => {
        const policy = compilePolicy({ version: 1, rules });
        for (const req of requests) {
          const got = evaluate(policy, req).effect;
          assert.equal(got, refDecide(rules, req.call, req.path), JSON.stringify({ rules, req }));
        }
        // Adding a matching deny for any request turns it into a deny, whatever else allows it.
        const req = requests[0];
        const withDeny = compilePolicy({
          version: 1,
          rules: [...rules, { effect: "deny", calls: [req.call], ...(req.path ? { paths: [req.path] } : {}) }],
        });
        assert.equal(evaluate(withDeny, req).effect, "deny");
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("fuzz: policy — arbitrary documents never throw from safeParsePolicy and never pollute", () => {
  const docArb = fc.oneof(
    fc.anything(),
    fc.jsonValue(),
    fc.record({ version: fc.oneof(fc.constant(1), fc.anything()), rules: fc.array(fc.anything(), { maxLength: 4 }) }),
    fc.json().map((t) => JSON.parse(t)),
    fc.constantFrom(
      '{"version":1,"rules":[],"__proto__":{"polluted":1}}',
      '{"version":1,"rules":[{"effect":"allow","calls":["*"],"constructor":{"prototype":{"polluted":1}}}]}',
    ).map((t) => JSON.parse(t)),
  );
  fc.assert(
    fc.property(
      docArb,
      fc.record({ call: fc.string(), path: fc.option(fc.string(), { nil: undefined }) }),
      (doc, req) => {
        const parsed = safeParsePolicy(doc);
        if (parsed.success) {
          const d = evaluate(compilePolicy(parsed.data), req);
          assert.ok(d.effect === "allow" || d.effect === "deny");
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      },
    ),
    { numRuns: 2000 },
  );
});
