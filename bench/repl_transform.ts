/**
 * Session cell transform benchmark: how long `replCell` (strip types if
 * TypeScript, parse with acorn, rewrite) takes for a trivial cell, a
 * 200-line cell and a 100 KiB cell, JavaScript and TypeScript. Prints a
 * markdown table of p50/p99 over many runs, after a warm-up.
 *
 *     deno run -A bench/repl_transform.ts [--quick]
 *
 * @module
 */

import { replCell } from "../sandbox/code/mod.ts";
import { fmt, percentile, table } from "./_stats.ts";

const quick = Deno.args.includes("--quick");

/** Twenty lines of typical cell code, TypeScript if `ts`; `i` keeps names distinct. */
function block(i: number, ts: boolean): string {
  const t = (annotation: string) => (ts ? annotation : "");
  return [
    `import { helper${i} } from "./util${i % 5}.ts";`,
    `const rows${i}${t(": number[]")} = [1, 2, 3].map((x) => x * ${i});`,
    `let total${i} = 0;`,
    `for (const r of rows${i}) total${i} += r;`,
    ts ? `interface Row${i} { id: number; name: string }` : `// rows ${i}`,
    `function summarize${i}(xs${t(": number[]")})${t(": string")} {`,
    `  const sum = xs.reduce((a, b) => a + b, 0);`,
    "  return `sum=${sum} n=${xs.length}`;",
    `}`,
    `class Store${i} {`,
    `  items${t(": Map<string, number>")} = new Map();`,
    `  put(k${t(": string")}, v${t(": number")}) { this.items.set(k, v); return this; }`,
    `}`,
    `const { a: a${i}, b: [b${i}] } = { a: 1, b: [2] };`,
    `const data${i} = await Promise.resolve({ ok: true, n: ${i} });`,
    `if (data${i}.ok) { var seen${i} = true; }`,
    `const mod${i} = await import("./dyn${i}.js");`,
    `// a comment that mentions import and const`,
    `const s${i} = "import x from 'y'; const z = 1";`,
    `summarize${i}(rows${i});`,
  ].join("\n");
}

/** A cell of `blocks` blocks (each 20 lines), ending in an expression. */
function cell(blocks: number, ts: boolean): string {
  return Array.from({ length: blocks }, (_, i) => block(i, ts)).join("\n") + "\ntotal0";
}

/** Blocks needed for about `chars` characters. */
function blocksFor(chars: number, ts: boolean): number {
  return Math.ceil(chars / (block(0, ts).length + 1));
}

/** p50 and p99 of `runs` transforms of `code`, ms (after `warmups` untimed runs). */
function measure(code: string, lang: "js" | "ts", runs: number, warmups: number): [number, number] {
  for (let i = 0; i < warmups; i++) replCell(code, { lang, cellName: "cell1." + lang });
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    replCell(code, { lang, cellName: "cell1." + lang });
    ms.push(performance.now() - t0);
  }
  return [percentile(ms, 0.5), percentile(ms, 0.99)];
}

const rows: string[][] = [];
for (const lang of ["js", "ts"] as const) {
  const ts = lang === "ts";
  const cases: [string, string, number][] = [
    ["trivial (`1 + 1`)", "1 + 1", quick ? 500 : 5000],
    ["200 lines", cell(10, ts), quick ? 100 : 1000],
    ["100 KiB", cell(blocksFor(100 * 1024, ts), ts), quick ? 10 : 100],
  ];
  for (const [name, code, runs] of cases) {
    const [p50, p99] = measure(code, lang, runs, Math.max(5, runs / 10));
    rows.push([`${name}, ${lang}`, fmt(code.length / 1024, 1), String(runs), fmt(p50, 3), fmt(p99, 3)]);
  }
}
table("Session cell transform (replCell)", ["cell", "KiB", "runs", "p50 ms", "p99 ms"], rows);
