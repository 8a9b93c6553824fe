/**
 * The policy engine: compiles a validated policy document into matchers
 * and decides requests.
 *
 * Semantics, in order:
 * 1. A malformed request (non-canonical path, non-ASCII host, bad port …)
 *    is denied with reason `"invalid"`; nothing is matched against it.
 * 2. A rule matches iff its `calls` match and *every* field the rule has
 *    matches the request. A rule with `paths` never matches a request
 *    without `path` (likewise `hosts` without `host`/`addr`, `ports`
 *    without `port`, `methods` without `method`): **the caller must pass
 *    every field its call has**, or a deny rule on that field cannot fire.
 * 3. Any matching `deny` wins (the first in document order names the
 *    decision); else the first matching `allow` names it; else
 *    `"default-deny"`.
 * 4. Rate limits are constraints: every matching allow rule that has a
 *    `rate` must have a token for the request's `rateKey`, or the request
 *    is denied with reason `"rate"` (map it to `EAGAIN`). Tokens are taken
 *    only when the whole decision is an allow, all or none.
 *
 * Decision shape: `{effect:"allow", ruleId, layer:"policy", cacheable}` or
 * `{effect:"deny", ruleId, layer:"policy", reason, cacheable}` with
 * `reason` one of `"rule"` (a deny rule matched → `EPERM`), `"default"`
 * (nothing allowed it; `ruleId` is `"default-deny"` → `EPERM`), `"rate"`
 * (`ruleId` names the exhausted rule → `EAGAIN`) or `"invalid"` (→
 * `EINVAL`). See {@linkcode decisionErrno}. Decisions are frozen and shared.
 * `cacheable` is false whenever a rate rule was involved: caching such a
 * decision would bypass the rate limit.
 *
 * Matching details: host names compare case-insensitively with one
 * trailing dot ignored, and must be the ASCII (punycode) URL hostname;
 * CIDRs compare against `addr`, or against the address of an IP-literal
 * `host` when `addr` is absent; an IPv4-mapped IPv6 address is its IPv4
 * address. Paths compare case-sensitively, code point by code point: on a
 * case-insensitive file system the path layer must pass the real on-disk
 * spelling, or `SECRETS/key` would slip past a deny on `secrets/**`.
 *
 * @module
 */

import type { Errno } from "../../kernel/errno.ts";
import { type Cidr, cidrContains, parseIp } from "../egress/mod.ts";
import { callCharsMax, defaultDenyRuleId, hostPattern, parsePolicy, type PolicyRule } from "./schema.ts";

/** Longest request path, in UTF-16 code units. */
export const requestPathCharsMax = 4096;
/** Longest request host, in characters. */
export const requestHostCharsMax = 255;
/** Longest request method, in characters. */
export const requestMethodCharsMax = 32;
/** Longest rate-limit key, in characters. */
export const rateKeyCharsMax = 256;
/**
 * Most live token buckets per rate rule. When full, buckets that have
 * refilled completely are dropped (they equal a fresh bucket); if none
 * has, a new key is denied with reason `"rate"` rather than evicting a
 * bucket that still holds debt (which would reset it).
 */
export const rateKeysPerRuleMax = 4096;
/** Most distinct call names whose candidate rule lists are memoised. */
export const callIndexEntriesMax = 256;
/**
 * Most matcher steps one {@linkcode evaluate} may take. Glob matching is
 * O(|glob|·|path|) per glob, so a hostile policy × path pair could
 * otherwise stall the (single-threaded) kernel; past the budget the
 * request is denied with reason `"invalid"` (fail closed).
 */
export const matchStepsMax = 100_000;
/** Longest path segment, in UTF-16 code units (NAME_MAX is 255 bytes). */
export const requestSegmentCharsMax = 255;
/** Most policies one {@linkcode intersect} chain may combine. */
export const intersectPartsMax = 8;

/**
 * A caller's step account for one {@linkcode evaluate}: how many matcher
 * steps it may take (at most {@linkcode matchStepsMax}) and, after the
 * call, how many it took. The policy layer charges `steps` to the agent
 * that caused the evaluation.
 */
export interface StepMeter {
  /** In: most steps this evaluation may take (clamped to `[0, matchStepsMax]`). */
  stepsMax: number;
  /** Out: steps taken. */
  steps: number;
  /** Out: whether the budget ran out (the decision is then a deny). */
  exhausted: boolean;
}

/** A request to decide. Absent fields are `undefined`. */
export interface PolicyRequest {
  /** The syscall name, e.g. `"fs.read"`. */
  readonly call: string;
  /** Canonical workspace-relative POSIX path (`"."` is the root). */
  readonly path?: string;
  /** The URL hostname (ASCII, as `new URL().hostname` gives it). */
  readonly host?: string;
  /** The resolved address being connected to: 4 or 16 bytes. */
  readonly addr?: Uint8Array;
  /** The effective destination port (443 for `https:` without a port). */
  readonly port?: number;
  /** The HTTP method; compared upper-cased. */
  readonly method?: string;
  /** Partition of rate buckets, e.g. the pid or tenant; default `""`. */
  readonly rateKey?: string;
}

/** Why a request was denied. */
export type DenyReason = "rule" | "default" | "rate" | "invalid";

/** The verdict of the policy layer. */
export type Decision =
  | {
    readonly effect: "allow";
    /** The first matching allow rule's id, or its index as a string. */
    readonly ruleId: string;
    readonly layer: "policy";
    /** May this decision go into a `DecisionCache`? */
    readonly cacheable: boolean;
  }
  | {
    readonly effect: "deny";
    /** The deciding rule's id or index, or `"default-deny"`. */
    readonly ruleId: string;
    readonly layer: "policy";
    readonly reason: DenyReason;
    /** May this decision go into a `DecisionCache`? */
    readonly cacheable: boolean;
  };

/** Options of {@linkcode compilePolicy}. */
export interface CompileOptions {
  /**
   * Monotonic clock in milliseconds for rate buckets.
   * @default {() => performance.now()}
   */
  readonly clock?: () => number;
}

const denyDefault: Decision = Object.freeze({
  effect: "deny",
  ruleId: defaultDenyRuleId,
  layer: "policy",
  reason: "default",
  cacheable: true,
});
const denyInvalid: Decision = Object.freeze({
  effect: "deny",
  ruleId: defaultDenyRuleId,
  layer: "policy",
  reason: "invalid",
  cacheable: false,
});

// --- compiled matchers ----------------------------------------------------

const globstar = 0,
  literal = 1,
  anySeg = 2,
  prefixSeg = 3,
  suffixSeg = 4,
  wildSeg = 5;

interface SegMatcher {
  readonly kind: number;
  readonly text: string;
}

interface Glob {
  readonly segs: readonly SegMatcher[];
  readonly hasGlobstar: boolean;
  readonly matchesAll: boolean;
  /** Segments a path needs at least (the non-`**` ones). */
  readonly segsMin: number;
  /** With `**` inside: the first and last matchers if they are not `**`. */
  readonly first: SegMatcher | null;
  readonly last: SegMatcher | null;
}

interface HostMatcher {
  readonly any: boolean;
  readonly names: ReadonlySet<string>;
  readonly suffixes: readonly string[];
  readonly cidrs: readonly Cidr[];
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

interface CompiledRule {
  readonly effect: "allow" | "deny";
  readonly callAny: boolean;
  readonly callNames: ReadonlySet<string>;
  readonly callPrefixes: readonly string[];
  readonly globs: readonly Glob[] | null;
  readonly hosts: HostMatcher | null;
  readonly ports: ReadonlySet<number> | null;
  readonly methods: ReadonlySet<string> | null;
  readonly rate: RateLimit | null;
  /** Deny rules: the deny decision. Allow rules: the cacheable allow. */
  readonly decision: Decision;
  /** Allow rules: the same allow, not cacheable (a rate rule took part). */
  readonly uncachedAllow: Decision;
  /** Rate rules: the rate denial. */
  readonly rateDecision: Decision;
}

function compileSegment(segment: string): SegMatcher {
  if (segment === "**") return { kind: globstar, text: "" };
  const stars = segment.split("*").length - 1;
  const hasQ = segment.includes("?");
  if (stars === 0 && !hasQ) return { kind: literal, text: segment };
  if (segment === "*") return { kind: anySeg, text: "" };
  if (stars === 1 && !hasQ && segment.endsWith("*")) {
    return { kind: prefixSeg, text: segment.slice(0, -1) };
  }
  if (stars === 1 && !hasQ && segment.startsWith("*")) {
    return { kind: suffixSeg, text: segment.slice(1) };
  }
  return { kind: wildSeg, text: segment.replace(/\*+/g, "*") };
}

function compileGlob(glob: string): Glob {
  const segs = glob === "." ? [] : glob.split("/").map(compileSegment);
  const fixed = segs.filter((s) => s.kind !== globstar);
  const hasGlobstar = fixed.length < segs.length;
  const edge = (m: SegMatcher | undefined) => m === undefined || m.kind === globstar ? null : m;
  return {
    segs,
    hasGlobstar,
    matchesAll: glob === "**",
    segsMin: fixed.length,
    first: edge(segs[0]),
    last: edge(segs[segs.length - 1]),
  };
}

function compileHosts(patterns: readonly string[]): HostMatcher {
  let any = false;
  const names = new Set<string>();
  const suffixes: string[] = [];
  const cidrs: Cidr[] = [];
  for (const text of patterns) {
    const p = hostPattern(text);
    if (p === null) throw new TypeError("unvalidated host pattern");
    if (p.kind === "any") any = true;
    else if (p.kind === "cidr") cidrs.push(p.cidr);
    else if (p.kind === "name") names.add(p.name);
    else suffixes.push(p.suffix);
  }
  return { any, names, suffixes, cidrs };
}

function compileRule(
  rule: PolicyRule,
  index: number,
  clock: () => number,
): CompiledRule {
  const ruleId = rule.id ?? String(index);
  const callNames = new Set<string>();
  const callPrefixes: string[] = [];
  for (const c of rule.calls) {
    if (c === "*") continue;
    if (c.endsWith(".*")) callPrefixes.push(c.slice(0, -1));
    else callNames.add(c);
  }
  const allow = (cacheable: boolean): Decision =>
    Object.freeze({ effect: "allow", ruleId, layer: "policy", cacheable });
  return {
    effect: rule.effect,
    callAny: rule.calls.includes("*"),
    callNames,
    callPrefixes,
    globs: rule.paths === undefined ? null : rule.paths.map(compileGlob),
    hosts: rule.hosts === undefined ? null : compileHosts(rule.hosts),
    ports: rule.ports === undefined ? null : new Set(rule.ports),
    methods: rule.methods === undefined ? null : new Set(rule.methods.map((m) => m.toUpperCase())),
    rate: rule.rate === undefined ? null : new RateLimit(rule.rate.perSec, rule.rate.burst, clock),
    decision: rule.effect === "allow" ? allow(true) : Object.freeze({
      effect: "deny",
      ruleId,
      layer: "policy",
      reason: "rule",
      cacheable: true,
    }),
    uncachedAllow: allow(false),
    rateDecision: Object.freeze({
      effect: "deny",
      ruleId,
      layer: "policy",
      reason: "rate",
      cacheable: false,
    }),
  };
}

// --- rate limiting ----------------------------------------------------------

/** Token buckets of one rule of one policy instance, keyed by `rateKey`. */
class RateLimit {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(perSec: number, burst: number, clock: () => number) {
    this.#perMs = perSec / 1000;
    this.#burst = burst;
    this.#clock = clock;
  }

  /** The refilled bucket for `key`, or `null` if no bucket can be had. */
  bucketFor(key: string): Bucket | null {
    const now = this.#clock();
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      this.#refill(bucket, now);
      return bucket;
    }
    if (this.#buckets.size >= rateKeysPerRuleMax && !this.#sweep(now)) {
      return null;
    }
    const fresh = { tokens: this.#burst, lastMs: now };
    this.#buckets.set(key, fresh);
    return fresh;
  }

  #refill(bucket: Bucket, now: number): void {
    // A clock that stands still, goes back or is NaN refills nothing.
    if (!(now > bucket.lastMs)) return;
    const tokens = bucket.tokens + (now - bucket.lastMs) * this.#perMs;
    bucket.tokens = tokens < this.#burst ? tokens : this.#burst;
    bucket.lastMs = now;
  }

  /** Drops buckets that are full again; reports whether room was made. */
  #sweep(now: number): boolean {
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.#burst) this.#buckets.delete(key);
    }
    return this.#buckets.size < rateKeysPerRuleMax;
  }
}

// --- rule sets ----------------------------------------------------------------

interface Candidates {
  readonly denies: readonly CompiledRule[];
  readonly allows: readonly CompiledRule[];
  /** Does any allow candidate carry a rate limit? */
  readonly rated: boolean;
}

function callMatches(rule: CompiledRule, call: string): boolean {
  if (rule.callAny || rule.callNames.has(call)) return true;
  for (const prefix of rule.callPrefixes) {
    if (call.length > prefix.length && call.startsWith(prefix)) return true;
  }
  return false;
}

/** The compiled rules of one document, with a memo of rules per call. */
class RuleSet {
  readonly rules: readonly CompiledRule[];
  readonly #byCall = new Map<string, Candidates>();

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
  }

  candidates(call: string): Candidates {
    const memo = this.#byCall.get(call);
    if (memo !== undefined) return memo;
    const matching = this.rules.filter((r) => callMatches(r, call));
    const allows = matching.filter((r) => r.effect === "allow");
    const found: Candidates = {
      denies: matching.filter((r) => r.effect === "deny"),
      allows,
      rated: allows.some((r) => r.rate !== null),
    };
    if (this.#byCall.size < callIndexEntriesMax) this.#byCall.set(call, found);
    return found;
  }
}

const policyToken = Symbol("CompiledPolicy");

/**
 * A compiled policy instance: the unit that owns rate buckets. Build with
 * {@linkcode compilePolicy} or {@linkcode intersect}; decide with
 * {@linkcode evaluate}.
 */
export class CompiledPolicy {
  readonly #parts: readonly RuleSet[];

  /** Internal: use {@linkcode compilePolicy} or {@linkcode intersect}. */
  constructor(token: symbol, parts: readonly RuleSet[]) {
    if (token !== policyToken) throw new TypeError("use compilePolicy()");
    if (parts.length < 1 || parts.length > intersectPartsMax) {
      throw new RangeError(
        `a policy combines 1..${intersectPartsMax} documents`,
      );
    }
    this.#parts = parts;
  }

  /** Total rules across the combined documents. */
  get rulesCount(): number {
    return this.#parts.reduce((n, p) => n + p.rules.length, 0);
  }

  /** Internal: the rule sets of `policy`. */
  static partsOf(policy: CompiledPolicy): readonly RuleSet[] {
    return policy.#parts;
  }
}

/**
 * Validates and compiles a policy document into a fresh policy instance
 * (with its own, empty rate buckets).
 *
 * @param doc an untrusted document; validated with `parsePolicy` first
 * @param options the clock for rate limits
 * @returns the compiled policy
 * @throws {import("zod").ZodError} if the document is invalid
 * @example
 * ```ts
 * const policy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.read"], paths: ["src/**"] },
 * ] });
 * evaluate(policy, { call: "fs.read", path: "src/a.ts" }).effect; // "allow"
 * ```
 */
export function compilePolicy(
  doc: unknown,
  options: CompileOptions = {},
): CompiledPolicy {
  const valid = parsePolicy(doc);
  const clock = options.clock ?? (() => performance.now());
  const rules = valid.rules.map((rule, i) => compileRule(rule, i, clock));
  return new CompiledPolicy(policyToken, [new RuleSet(rules)]);
}

/**
 * The effective policy of two: a request is allowed only if both allow
 * it. A deny from `a` is reported before one from `b`; an allow names
 * `a`'s rule. Rate buckets stay with their instance, so intersecting each
 * agent's policy with one shared tenant policy makes the tenant's rate
 * limits tenant-wide.
 *
 * @param a e.g. the agent's own policy
 * @param b e.g. its tenant's policy
 * @returns a policy that allows what both allow
 * @throws {RangeError} if more than {@linkcode intersectPartsMax} documents combine
 * @example
 * ```ts
 * const agentPolicy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.*"], paths: ["**"] },
 * ] });
 * const tenantPolicy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["fs.read"], paths: ["**"] },
 * ] });
 * const effective = intersect(agentPolicy, tenantPolicy);
 * evaluate(effective, { call: "fs.write", path: "a" }).effect; // "deny"
 * ```
 */
export function intersect(
  a: CompiledPolicy,
  b: CompiledPolicy,
): CompiledPolicy {
  const parts = [...CompiledPolicy.partsOf(a)];
  for (const part of CompiledPolicy.partsOf(b)) {
    if (!parts.includes(part)) parts.push(part);
  }
  return new CompiledPolicy(policyToken, parts);
}

// --- requests -------------------------------------------------------------

interface NormalRequest {
  readonly call: string;
  readonly segs: readonly string[] | null;
  readonly host: string | null;
  readonly addr: Uint8Array | null;
  readonly port: number;
  readonly method: string | null;
  readonly rateKey: string;
}

const canonicalHost = /^(\[[0-9a-f:.]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*)$/;
const methodToken = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function isMethodToken(method: unknown): method is string {
  return typeof method === "string" && method.length <= requestMethodCharsMax &&
    methodToken.test(method);
}

/**
 * Canonical workspace-relative path → segments, in one pass; `null` if not
 * canonical: empty, absolute, `.`/`..`/empty segments, `\\`, NUL, lone
 * surrogates, or longer than {@linkcode requestPathCharsMax}.
 */
function splitPath(path: unknown): string[] | null {
  if (typeof path !== "string") return null;
  const n = path.length;
  if (n === 0 || n > requestPathCharsMax) return null;
  if (path === ".") return [];
  const segs: string[] = [];
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : 47;
    if (c === 47) {
      const len = i - start;
      if (len === 0 || len > requestSegmentCharsMax) return null;
      if (len <= 2 && path.charCodeAt(start) === 46) {
        if (len === 1 || path.charCodeAt(start + 1) === 46) return null;
      }
      segs.push(path.slice(start, i));
      start = i + 1;
    } else if (c === 92 || c === 0) {
      return null;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? path.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return null;
      i++;
    }
  }
  return segs;
}

/**
 * The URL hostname, lower-cased, one trailing dot dropped; `undefined` if
 * it is not a canonical hostname (an LDH/underscore name with no empty
 * label, or a bracketed IPv6 literal): a host such as `evil.com:80` or
 * `evil.com..` must not slip past a deny rule on `evil.com`.
 */
function readHost(host: unknown): string | null | undefined {
  if (host === undefined) return null;
  if (typeof host !== "string" || host.length > requestHostCharsMax) return;
  const lower = host.toLowerCase();
  const name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  return canonicalHost.test(name) ? name : undefined;
}

/** Most IP-literal hosts whose parsed bytes are memoised. */
const hostAddressMemoEntriesMax = 1024;
const hostAddressMemo = new Map<string, Uint8Array | null>();

/**
 * The address of an IP-literal host (`10.0.0.1`, `[::1]`), or `null`.
 * Memoised (bounded; cleared when full) because allocating the bytes costs
 * more than the rest of a decision. The bytes are shared: never mutate.
 */
function hostAddress(host: string): Uint8Array | null {
  const c = host.charCodeAt(0);
  const bracketed = c === 91 && host.endsWith("]");
  if (!bracketed && !(c >= 48 && c <= 57)) return null;
  const memo = hostAddressMemo.get(host);
  if (memo !== undefined) return memo;
  const bytes = parseIp(bracketed ? host.slice(1, -1) : host);
  if (hostAddressMemo.size >= hostAddressMemoEntriesMax) hostAddressMemo.clear();
  hostAddressMemo.set(host, bytes);
  return bytes;
}

/** Reads each field once (no double reads of getters); `null` if invalid. */
function readRequest(request: PolicyRequest): NormalRequest | null {
  if (typeof request !== "object" || request === null) return null;
  const { call, path, addr, port, method, rateKey } = request;
  const host = readHost(request.host);
  if (typeof call !== "string" || call.length === 0) return null;
  if (call.length > callCharsMax || host === undefined) return null;
  const segs = path === undefined ? null : splitPath(path);
  if (path !== undefined && segs === null) return null;
  let bytes: Uint8Array | null = null;
  if (addr !== undefined) {
    if (!(addr instanceof Uint8Array)) return null;
    if (addr.length !== 4 && addr.length !== 16) return null;
    bytes = addr;
  } else if (host !== null) bytes = hostAddress(host);
  if (
    port !== undefined &&
    !(Number.isInteger(port) && port >= 0 && port <= 65535)
  ) {
    return null;
  }
  if (method !== undefined && !isMethodToken(method)) return null;
  if (rateKey !== undefined && typeof rateKey !== "string") return null;
  if (rateKey !== undefined && rateKey.length > rateKeyCharsMax) return null;
  return {
    call,
    segs,
    host,
    addr: bytes,
    port: port ?? -1,
    method: method === undefined ? null : method.toUpperCase(),
    rateKey: rateKey ?? "",
  };
}

// --- matching -------------------------------------------------------------

/** Code units of the code point at `i` (2 for a surrogate pair). */
function cpLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

/**
 * Matcher steps left in the current {@linkcode evaluate} (single-threaded:
 * reset at its start). Every rule considered, host suffix or CIDR
 * compared, glob tried and character stepped over costs one. Matchers
 * return `false` once it is spent, and evaluate then never answers allow.
 */
let stepsLeft = 0;

/**
 * `*`/`?` wildcard match of one segment, in O(|p|·|s|) worst case (no
 * regular expressions, so no catastrophic backtracking on hostile paths).
 * `?` is one code point; `*` steps over whole code points.
 */
function wildMatch(p: string, s: string): boolean {
  let pi = 0, si = 0, starP = -1, starS = 0;
  while (si < s.length) {
    if (--stepsLeft < 0) return false;
    if (pi < p.length) {
      const pc = p.charCodeAt(pi);
      if (pc === 42) {
        starP = pi++;
        starS = si;
        continue;
      }
      if (pc === 63) {
        si += cpLength(s, si);
        pi++;
        continue;
      }
      if (pc === s.charCodeAt(si)) {
        pi++;
        si++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP + 1;
    starS += cpLength(s, starS);
    si = starS;
  }
  while (pi < p.length && p.charCodeAt(pi) === 42) pi++;
  return pi === p.length;
}

function segMatches(m: SegMatcher, s: string): boolean {
  switch (m.kind) {
    case literal:
      return s === m.text;
    case anySeg:
      return true;
    case prefixSeg:
      return s.startsWith(m.text);
    case suffixSeg:
      return s.endsWith(m.text);
    default:
      return wildMatch(m.text, s);
  }
}

/** The same greedy algorithm one level up: `**` over whole segments. */
function globMatches(g: Glob, segs: readonly string[]): boolean {
  if (g.matchesAll) return true;
  const pat = g.segs;
  if (segs.length < g.segsMin || --stepsLeft < 0) return false;
  if (!g.hasGlobstar) {
    if (pat.length !== segs.length) return false;
    for (let i = 0; i < pat.length; i++) {
      if (--stepsLeft < 0 || !segMatches(pat[i], segs[i])) return false;
    }
    return true;
  }
  // Cheap rejections: a non-`**` first (last) matcher must take the first
  // (last) segment in any match.
  if (g.first !== null && !segMatches(g.first, segs[0])) return false;
  if (g.last !== null && !segMatches(g.last, segs[segs.length - 1])) {
    return false;
  }
  let pi = 0, si = 0, starP = -1, starS = 0;
  while (si < segs.length) {
    if (--stepsLeft < 0) return false;
    if (pi < pat.length && pat[pi].kind === globstar) {
      starP = pi++;
      starS = si;
      continue;
    }
    if (pi < pat.length && segMatches(pat[pi], segs[si])) {
      pi++;
      si++;
      continue;
    }
    if (starP < 0) return false;
    pi = starP + 1;
    si = ++starS;
  }
  while (pi < pat.length && pat[pi].kind === globstar) pi++;
  return pi === pat.length;
}

function hostMatches(
  h: HostMatcher,
  host: string | null,
  addr: Uint8Array | null,
): boolean {
  if (host === null && addr === null) return false;
  if (h.any) return true;
  if (host !== null) {
    if (h.names.has(host)) return true;
    for (const suffix of h.suffixes) {
      if (--stepsLeft < 0) return false;
      if (host.length > suffix.length && host.endsWith(suffix)) return true;
    }
  }
  if (addr !== null) {
    for (const cidr of h.cidrs) {
      if (--stepsLeft < 0) return false;
      if (cidrContains(cidr, addr)) return true;
    }
  }
  return false;
}

/** Cheapest checks first: ports and methods, then hosts, then paths. Each rule costs a step. */
function ruleMatches(rule: CompiledRule, req: NormalRequest): boolean {
  if (--stepsLeft < 0) return false;
  if (rule.ports !== null && !rule.ports.has(req.port)) return false;
  if (
    rule.methods !== null &&
    (req.method === null || !rule.methods.has(req.method))
  ) {
    return false;
  }
  if (rule.hosts !== null && !hostMatches(rule.hosts, req.host, req.addr)) {
    return false;
  }
  if (rule.globs === null) return true;
  const segs = req.segs;
  if (segs === null) return false;
  const globs = rule.globs;
  for (let i = 0; i < globs.length; i++) {
    if (globMatches(globs[i], segs)) return true;
  }
  return false;
}

// --- evaluation -------------------------------------------------------------

/**
 * Decides a request against a policy. Never throws for any request value;
 * takes rate tokens on an allow.
 *
 * Cost: at most {@linkcode matchStepsMax} matcher steps (or
 * `meter.stepsMax`, if lower). A request whose budget runs out is denied
 * with reason `"invalid"` (not cacheable), unless a deny rule matched
 * before it ran out: running out never turns into an allow, nor into a
 * cached denial.
 *
 * @param policy a compiled policy
 * @param request the request; every field its call has must be present
 * @param meter optional step account: its budget, and the steps taken
 * @returns the decision (frozen, shared)
 * @example
 * ```ts
 * import { KernelError } from "../../kernel/errno.ts";
 * const policy = compilePolicy({ version: 1, rules: [
 *   { effect: "allow", calls: ["net.fetch"], hosts: ["*.example.com"], ports: [443] },
 * ] });
 * const meter = { stepsMax: 1000, steps: 0, exhausted: false };
 * const d = evaluate(policy, { call: "net.fetch", host: "api.example.com",
 *   addr: Uint8Array.of(93, 184, 216, 34), port: 443, method: "GET" }, meter);
 * const errno = decisionErrno(d);
 * if (errno !== null) throw new KernelError(errno, "net.fetch: denied by policy");
 * // meter.steps: what this decision cost
 * ```
 */
export function evaluate(
  policy: CompiledPolicy,
  request: PolicyRequest,
  meter?: StepMeter,
): Decision {
  let budget = matchStepsMax;
  if (meter !== undefined) {
    const asked = Math.floor(meter.stepsMax);
    budget = asked >= matchStepsMax ? matchStepsMax : asked > 0 ? asked : 0;
  }
  stepsLeft = budget;
  const decision = decide(policy, request);
  const exhausted = stepsLeft < 0;
  if (meter !== undefined) {
    meter.steps = exhausted ? budget : budget - stepsLeft;
    meter.exhausted = exhausted;
  }
  // Out of budget: some rule may have been skipped as "no match"; only a
  // deny rule that did match still stands.
  if (exhausted && !(decision.effect === "deny" && decision.reason === "rule")) return denyInvalid;
  return decision;
}

/** {@linkcode evaluate} within the budget already in `stepsLeft`. */
function decide(policy: CompiledPolicy, request: PolicyRequest): Decision {
  let req: NormalRequest | null;
  try {
    req = readRequest(request);
  } catch {
    req = null; // a throwing getter on the request object
  }
  if (req === null) return denyInvalid;
  let first: CompiledRule | null = null;
  let rated: CompiledRule[] | null = null;
  for (const part of CompiledPolicy.partsOf(policy)) {
    const c = part.candidates(req.call);
    for (const rule of c.denies) {
      if (ruleMatches(rule, req)) return rule.decision;
    }
    let allow: CompiledRule | null = null;
    for (const rule of c.allows) {
      if (!ruleMatches(rule, req)) continue;
      allow ??= rule;
      if (rule.rate !== null) (rated ??= []).push(rule);
      if (!c.rated) break;
    }
    if (allow === null) return denyDefault;
    first ??= allow;
  }
  if (first === null) return denyDefault;
  if (stepsLeft < 0) return denyInvalid;
  if (rated === null) return first.decision;
  return takeTokens(rated, req.rateKey) ?? first.uncachedAllow;
}

/** All-or-none: a rate denial, or `null` after taking one token from each. */
function takeTokens(
  rated: readonly CompiledRule[],
  key: string,
): Decision | null {
  const buckets: Bucket[] = [];
  for (const rule of rated) {
    const bucket = rule.rate!.bucketFor(key);
    if (bucket === null || !(bucket.tokens >= 1)) return rule.rateDecision;
    buckets.push(bucket);
  }
  for (const bucket of buckets) bucket.tokens -= 1;
  return null;
}

/**
 * The errno a decision maps to at the syscall boundary.
 *
 * @param decision a decision from {@linkcode evaluate}
 * @returns `null` for an allow; `EAGAIN` for a rate denial, `EINVAL` for an
 * invalid request, `EPERM` for any other denial
 * @example
 * ```ts
 * const policy = compilePolicy({ version: 1, rules: [] });
 * decisionErrno(evaluate(policy, { call: "fs.read", path: "x" })); // "EPERM"
 * ```
 */
export function decisionErrno(decision: Decision): Errno | null {
  if (decision.effect === "allow") return null;
  switch (decision.reason) {
    case "rate":
      return "EAGAIN";
    case "invalid":
      return "EINVAL";
    case "rule":
    case "default":
      return "EPERM";
    default: {
      const never: never = decision.reason;
      return never;
    }
  }
}

function keyField(value: string | undefined): string {
  return value === undefined ? "-" : `${value.length}:${value}`;
}

/**
 * An injective string of every request field except `call`: the
 * `resource` to key a `DecisionCache` with. Use it (or something at least
 * as specific): a key that left out, say, the method would let a cached
 * allow for `GET` answer a `DELETE`. A request with only a path (the hot
 * `fs.*` case) is keyed by the path itself, without allocating; every
 * other request by a NUL-led, length-prefixed encoding, which no such
 * path key can equal.
 *
 * @param request the request
 * @returns the key
 * @example
 * ```ts
 * resourceKey({ call: "fs.read", path: "src/a.ts" }); // "src/a.ts"
 * resourceKey({ call: "net.fetch", host: "a.com", port: 443 });
 * // "\0-5:a.com-3:443--"
 * ```
 */
export function resourceKey(request: PolicyRequest): string {
  const { path, host, addr, port, method, rateKey } = request;
  const onlyPath = host === undefined && addr === undefined &&
    port === undefined && method === undefined && rateKey === undefined;
  if (onlyPath && typeof path === "string" && path.charCodeAt(0) !== 0) {
    return path;
  }
  let bytes = "-";
  if (addr !== undefined) {
    bytes = `${addr.length * 2}:`;
    for (let i = 0; i < addr.length; i++) bytes += hexBytes[addr[i]];
  }
  return "\0" + keyField(path) + keyField(host) + bytes +
    keyField(port === undefined ? undefined : String(port)) +
    keyField(method) + keyField(rateKey);
}

const hexBytes = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);
