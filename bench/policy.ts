/**
 * Policy layer benchmark: cached decision, uncached decision against a
 * 100-rule policy, and address classification. Prints a markdown table of
 * medians over rounds.
 *
 *     deno run -A bench/policy.ts [--quick]
 *
 * @module
 */

import { compilePolicy, DecisionCache, evaluate, type PolicyRequest, resourceKey } from "../sandbox/policy/mod.ts";
import { classify, parseHost, parseIp } from "../sandbox/egress/mod.ts";

const quick = Deno.args.includes("--quick");
const roundsCount = quick ? 9 : 31;
const roundMsTarget = quick ? 5 : 20;
const warmupMs = quick ? 60 : 200;

let sink = 0;

/**
 * Median ns per op of `op(i)`: warm up (so the optimizing JIT has run),
 * then size rounds to about `roundMsTarget` and take the median round.
 */
function measure(op: (i: number) => number): number {
  const warmEnd = performance.now() + warmupMs;
  for (let i = 0; performance.now() < warmEnd; i++) {
    for (let j = 0; j < 1000; j++) sink += op(i * 1000 + j);
  }
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink += op(i);
    if (performance.now() - t0 >= roundMsTarget / 4) break;
    n *= 2;
  }
  n *= 4;
  const perOpNs: number[] = [];
  for (let r = 0; r < roundsCount; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink += op(i);
    perOpNs.push(((performance.now() - t0) * 1e6) / n);
  }
  perOpNs.sort((a, b) => a - b);
  return perOpNs[perOpNs.length >> 1];
}

/** 100 rules: 40 file, 40 network, 20 other; allows and denies mixed. */
function hundredRules(allCallsWildcard: boolean): unknown {
  const rules: Record<string, unknown>[] = [];
  const call = (c: string) => (allCallsWildcard ? ["*"] : [c]);
  for (let i = 0; i < 40; i++) {
    rules.push({
      id: `fs-${i}`,
      effect: i % 5 === 0 ? "deny" : "allow",
      calls: call(i % 2 === 0 ? "fs.read" : "fs.*"),
      paths: [`dir${i}/**`, `**/file${i}.*`, `src/mod${i}/*.ts`],
    });
  }
  for (let i = 0; i < 40; i++) {
    rules.push({
      id: `net-${i}`,
      effect: i % 7 === 0 ? "deny" : "allow",
      calls: call("net.fetch"),
      hosts: [`*.svc${i}.example.com`, `api${i}.example.org`, `10.${i}.0.0/16`],
      ports: [443, 8000 + i],
      methods: ["GET", "POST"],
    });
  }
  for (let i = 0; i < 20; i++) {
    rules.push({
      id: `other-${i}`,
      effect: "allow",
      calls: call(i % 2 === 0 ? `ipc.q${i}.*` : `proc.spawn`),
    });
  }
  return { version: 1, rules };
}

/** 40 file rules whose globs have wildcard segments (`*a*`, `a?b`): the character-level matcher. */
function wildcardRules(): unknown {
  const rules: Record<string, unknown>[] = [];
  for (let i = 0; i < 40; i++) {
    rules.push({
      id: `wild-${i}`,
      effect: i % 5 === 0 ? "deny" : "allow",
      calls: ["fs.*"],
      paths: [`src/m${i}?/*test*.ts`, `**/*cache*${i}/*`, `doc${i}/*.md?`],
    });
  }
  return { version: 1, rules };
}

const wildRequests: PolicyRequest[] = [
  { call: "fs.read", path: "src/m17x/unit_test_a.ts" },
  { call: "fs.read", path: "deep/tree/build_cache_33/out.bin" },
  { call: "fs.write", path: "doc21/readme.mdx" },
  { call: "fs.read", path: "src/m3/a/b/c/nothing.txt" },
];

const requests: PolicyRequest[] = [
  { call: "fs.read", path: "dir17/a/b/c.txt" },
  { call: "fs.read", path: "deep/tree/of/dirs/file33.json" },
  { call: "fs.write", path: "src/mod21/index.ts" },
  { call: "fs.read", path: "nowhere/x" },
  { call: "fs.read", path: "dir0/secret" },
  {
    call: "net.fetch",
    host: "a.svc12.example.com",
    addr: Uint8Array.of(93, 184, 216, 34),
    port: 443,
    method: "GET",
  },
  {
    call: "net.fetch",
    host: "api30.example.org",
    addr: Uint8Array.of(1, 2, 3, 4),
    port: 8030,
    method: "POST",
  },
  { call: "net.fetch", host: "10.25.3.4", port: 443, method: "GET" },
  {
    call: "net.fetch",
    host: "evil.com",
    addr: Uint8Array.of(6, 6, 6, 6),
    port: 443,
    method: "GET",
  },
  { call: "ipc.q4.send" },
  { call: "proc.spawn" },
  { call: "kv.get" },
];

const addrs: Uint8Array[] = [
  "8.8.8.8",
  "127.0.0.1",
  "169.254.169.254",
  "203.0.113.9",
  "192.168.1.1",
  "::1",
  "::ffff:10.0.0.1",
  "64:ff9b::7f00:1",
  "2606:4700:4700::1111",
  "fe80::1",
  "2001:0:4136:e378:8000:63bf:3fff:fdd2",
  "fd00:ec2::254",
].map((t) => parseIp(t)!);

/** Median ns per op of every measurement, in the order they run. */
interface Medians {
  cachedNs: number;
  cachedNowNs: number;
  cachedKeyNs: number;
  uncachedNs: number;
  flatNs: number;
  wildNs: number;
  classifyNs: number;
  parseHostNs: number;
  compileNs: number;
  clockNs: number;
  mapNs: number;
}

function measureAll(): Medians {
  const policy = compilePolicy(hundredRules(false));
  const flat = compilePolicy(hundredRules(true));
  const cache = new DecisionCache({ ttlMs: 60_000, entriesMax: 10_000 });
  const keys = requests.map(resourceKey);
  requests.forEach((r, i) => {
    const d = evaluate(policy, r);
    cache.set(7, r.call, keys[i], 1, d);
  });
  const mask = requests.length;
  const hosts = [
    "0x7f.1",
    "[::ffff:169.254.169.254]",
    "api.example.com",
    "2130706433",
  ];

  const cachedNs = measure((i) => cache.get(7, requests[i % mask].call, keys[i % mask], 1) ? 1 : 0);
  const nowMs = performance.now();
  const cachedNowNs = measure((i) => cache.get(7, requests[i % mask].call, keys[i % mask], 1, nowMs) ? 1 : 0);
  const cachedKeyNs = measure((i) => {
    const r = requests[i % mask];
    return cache.get(7, r.call, resourceKey(r), 1) ? 1 : 0;
  });
  const uncachedNs = measure((i) => evaluate(policy, requests[i % mask]).effect.length);
  const flatNs = measure((i) => evaluate(flat, requests[i % mask]).effect.length);
  const wild = compilePolicy(wildcardRules());
  const wildNs = measure((i) => evaluate(wild, wildRequests[i & 3]).effect.length);
  const classifyNs = measure((i) => classify(addrs[i % addrs.length]).length);
  const parseHostNs = measure((i) => parseHost(hosts[i & 3]).kind.length);
  const compileNs = measure(() => compilePolicy(hundredRules(false)) ? 1 : 0);
  const clockNs = measure(() => performance.now());
  const refMap = new Map(keys.map((k, i) => [k, i]));
  const mapNs = measure((i) => refMap.get(keys[i % mask])!);
  return {
    cachedNs,
    cachedNowNs,
    cachedKeyNs,
    uncachedNs,
    flatNs,
    wildNs,
    classifyNs,
    parseHostNs,
    compileNs,
    clockNs,
    mapNs,
  };
}

type Row = [string, string, string, string];

function rowsOf(m: Medians): Row[] {
  const ns = (v: number) => `${v.toFixed(0)} ns`;
  const us = (v: number) => `${(v / 1000).toFixed(2)} µs`;
  return [
    [
      "cached decision (`DecisionCache.get` hit, cache reads its clock)",
      ns(m.cachedNs),
      "≤ 300 ns",
      pass(m.cachedNs <= 300),
    ],
    ["cached decision (hit, caller passes `nowMs`)", ns(m.cachedNowNs), "≤ 300 ns", pass(m.cachedNowNs <= 300)],
    ["cached decision incl. `resourceKey()`", ns(m.cachedKeyNs), "—", ""],
    [
      "uncached decision, 100-rule policy (mixed calls/paths/hosts)",
      us(m.uncachedNs),
      "≤ 5 µs",
      pass(m.uncachedNs <= 5000),
    ],
    ['uncached decision, same 100 rules with `calls: ["*"]` (no call index)', us(m.flatNs), "—", ""],
    ["uncached decision, 40 rules with wildcard segments (`*test*`, `m17?`)", us(m.wildNs), "—", ""],
    ["uncached / cached ratio", `${(m.uncachedNs / m.cachedNs).toFixed(1)}×`, "—", ""],
    ["`classify` (mixed IPv4/IPv6, embedded forms)", ns(m.classifyNs), "—", ""],
    ["`parseHost` (via WHATWG `new URL`)", us(m.parseHostNs), "—", ""],
    ["`compilePolicy`, 100 rules (validate + compile)", `${(m.compileNs / 1e6).toFixed(2)} ms`, "—", ""],
    ["machine reference: `performance.now()`", ns(m.clockNs), "—", ""],
    ["machine reference: `Map.get` (string key)", ns(m.mapNs), "—", ""],
  ];
}

function main(): void {
  const rows = rowsOf(measureAll());
  console.log(
    `Policy layer benchmark — medians of ${roundsCount} rounds${quick ? " (--quick)" : ""}, ` +
      `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}\n`,
  );
  console.log("| measurement | median | target | |");
  console.log("|---|---:|---:|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  if (sink === -1) console.log("unreachable");
}

function pass(ok: boolean): string {
  return ok ? "ok" : "MISSED";
}

main();
