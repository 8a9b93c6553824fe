/**
 * The REPL cell transform, run for real: every script is evaluated in a
 * fresh module Worker with indirect eval, as a session's Worker does
 * (`repl_session.ts`), cell after cell in one global scope.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CodeError, looksLikeTypeScript, replCell, replCellCharsMax, stripTypes } from "../../../sandbox/code/mod.ts";
import { moduleUrl, ReplContext } from "./repl_session.ts";

const fixtures = {
  "./math.js": moduleUrl("export const pi = 3; export default function double(x) { return 2 * x; }"),
  "npm:greet": moduleUrl('export const greet = (n) => "hi " + n; const o = 0; export { o as "odd-name" };'),
  "odd": moduleUrl('const v = 7; export { v as "odd-name" };'),
  "effects": moduleUrl("globalThis.effects = (globalThis.effects ?? 0) + 1;"),
  "cfg": "data:application/json," + encodeURIComponent('{"port": 8080}'),
};

/** The CodeError `fn` throws. */
function codeError(fn: () => unknown): CodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodeError, `expected a CodeError, got ${err}`);
    return err;
  }
  assert.fail("expected a CodeError, nothing was thrown");
}

Deno.test("repl: five cells, each using the previous cells' variables, functions, classes and imports", async () => {
  await using repl = await ReplContext.start(fixtures);
  assert.equal(await repl.run("const base = 10;\nlet count = 1;\nfunction add(x) { return x + base; }"), undefined);
  assert.equal(
    await repl.run("class Counter { constructor() { this.n = count; } next() { return add(this.n++); } }"),
    undefined,
  );
  assert.equal(await repl.run('import double, { pi } from "./math.js";\nconst c = new Counter();\nc.next()'), 11);
  assert.equal(await repl.run("const twice = double(pi) + c.next();\ntwice"), 6 + 12);
  assert.deepEqual(await repl.run("[base, count, add(1), typeof Counter, twice, pi]"), [10, 1, 11, "function", 18, 3]);
});

Deno.test("repl: a later cell's let assignment and redefinitions are what earlier cells' closures see", async () => {
  await using repl = await ReplContext.start();
  await repl.run(
    "let level = 1;\nconst read = () => level;\nfunction helper() { return 'old'; }\nfunction main() { return helper(); }",
  );
  await repl.run("level = 2;");
  assert.equal(await repl.run("read()"), 2);
  await repl.run("let level = 3;"); // redeclared: replaces, no SyntaxError
  assert.equal(await repl.run("read()"), 3);
  await repl.run("function helper() { return 'new'; }");
  assert.equal(await repl.run("main()"), "new");
  await repl.run("class Shape { kind() { return 'a'; } }\nconst area = () => new Shape().kind();");
  await repl.run("class Shape { kind() { return 'b'; } }");
  assert.equal(await repl.run("area()"), "b");
});

Deno.test("repl: redeclaring const, hoisted functions, var in loops and blocks", async () => {
  await using repl = await ReplContext.start();
  await repl.run("const x = 1;");
  await repl.run("const x = 'two';");
  assert.equal(await repl.run("x"), "two");
  assert.equal(await repl.run("const y = later(2);\nfunction later(n) { return n * 21; }\ny"), 42);
  await repl.run("for (var i = 0; i < 3; i++) {}\nif (true) { var inside = 'yes' }\nfor (var k of [7, 8]) {}");
  assert.deepEqual(await repl.run("[i, inside, k]"), [3, "yes", 8]);
  await repl.run("let unset = 5;");
  await repl.run("let unset;");
  assert.equal(await repl.run("unset"), undefined);
  await repl.run("var kept = 5;");
  await repl.run("var kept;");
  assert.equal(await repl.run("kept"), 5);
  assert.equal(await repl.run('const location = "Paris";\nlocation'), "Paris"); // a getter-only global of the Worker
  assert.equal(await repl.run("location + '!'"), "Paris!");
  const readOnly = await repl.runCell("const undefined = 1;");
  assert.ok(
    "failure" in readOnly && readOnly.failure.name === "TypeError" && /undefined/.test(readOnly.failure.message),
  );
  await repl.run("async function* gen() { yield 1; yield 2; }");
  assert.equal(await repl.run("typeof gen"), "function");
});

Deno.test("repl: var in every statement position outside functions is global; block-scoped names stay local", async () => {
  await using repl = await ReplContext.start();
  const cell = [
    "outer: for (var i = 0; i < 2; i++) { continue outer; }",
    "switch (i) { case 2: var sw = 'two'; }",
    "try { var t = 1; throw 0; } catch { var c = 2; } finally { var f = 3; }",
    "if (t) var single = 'no braces'; else var other = 1;",
    "while (t--) { var w = 'loop'; }",
    "for (var [k, v] of [[1, 2]]) {}",
    "for (var key in { only: 1 }) {}",
    "{ let blockLocal = 1; const alsoLocal = 2; function localFn() {} }",
    "function keepsOwn() { var own = 1; return own; }",
  ].join("\n");
  await repl.run(cell);
  assert.deepEqual(await repl.run("[i, sw, t, c, f, single, other, w, k, v, key, keepsOwn()]"), [
    2,
    "two",
    -1,
    2,
    3,
    "no braces",
    undefined,
    "loop",
    1,
    2,
    "only",
    1,
  ]);
  assert.equal(
    await repl.run("typeof blockLocal + typeof alsoLocal + typeof localFn + typeof own"),
    "undefined".repeat(4),
  );
  assert.deepEqual(await repl.run("export default class { static k = 5 }"), { unclonable: "class { static k = 5 }" });
  assert.equal(await repl.run("#!/usr/bin/env -S deno run\nconst shebang = 1;\nshebang"), 1);
  assert.equal(
    await repl.run("let disposed = false;\n{ using r = { [Symbol.dispose]() { disposed = true; } }; }\ndisposed"),
    true,
  );
});

Deno.test("repl: destructuring declarations bind every name", async () => {
  await using repl = await ReplContext.start();
  await repl.run("const { a, b: [c, , d = 4], ...rest } = { a: 1, b: [3], e: 5, f: 6 }, [g, ...h] = [7, 8, 9]");
  assert.deepEqual(await repl.run("[a, c, d, rest, g, h]"), [1, 3, 4, { e: 5, f: 6 }, 7, [8, 9]]);
  await repl.run("foo()\nconst { z } = { z: 26 }\nfunction foo() {}"); // no ASI trap: `foo()({z} = …)`
  assert.equal(await repl.run("z"), 26);
});

Deno.test("repl: top-level await and for await", async () => {
  await using repl = await ReplContext.start();
  await repl.run("const v = await Promise.resolve(41);");
  assert.equal(await repl.run("v + 1"), 42);
  const loop =
    "async function* nums() { yield 1; yield 2; yield 3; }\nlet sum = 0;\nfor await (const n of nums()) sum += n;\nsum";
  assert.equal(await repl.run(loop), 6);
  assert.equal(await repl.run("await new Promise((r) => setTimeout(() => r('later'), 1))"), "later");
});

Deno.test("repl: TypeScript cells (interfaces, generics, enums, as, satisfies, type-only imports)", async () => {
  await using repl = await ReplContext.start(fixtures);
  const cell1 = [
    'import type { Nothing } from "./types.ts";',
    'import { type Greeter, greet } from "npm:greet";',
    "interface Point { x: number; y: number }",
    "enum Color { Red, Green = 'g' }",
    "function first<T>(xs: T[]): T { return xs[0]; }",
    "const p = { x: 1, y: 2 } satisfies Point;",
    "const n = first<number>([5, 6]) as number;",
    "class Box<T> { constructor(public value: T) {} }",
  ].join("\n");
  assert.equal(await repl.run(cell1, "ts"), undefined);
  assert.deepEqual(
    await repl.run("const b: Box<string> = new Box('v');\n[p.x + p.y, n, Color.Red, Color.Green, b.value]", "ts"),
    [3, 5, 0, "g", "v"],
  );
  assert.equal(await repl.run("greet('ts') as string", "ts"), "hi ts");
});

Deno.test("repl: the last expression is the cell's value", async () => {
  await using repl = await ReplContext.start();
  assert.equal(await repl.run("1 + 1"), 2);
  assert.deepEqual(await repl.run("{a: 1}"), { a: 1 });
  assert.deepEqual(await repl.run("{a: 1, b: [2]}  // a comment"), { a: 1, b: [2] });
  assert.equal(await repl.run("{ const local = 3; }"), undefined); // a block, not an object
  assert.deepEqual(await repl.run("({ q: 1 })"), { q: 1 });
  assert.equal(await repl.run("let w = 1"), undefined);
  assert.equal(await repl.run("w; if (w) { 5 }"), undefined);
  assert.equal(await repl.run(""), undefined);
  assert.equal(await repl.run("// only a comment"), undefined);
  assert.equal(await repl.run("(1, 2)"), 2);
  assert.equal(await repl.run("export default 7 * 6;"), 42);
  assert.deepEqual(await repl.run("export default { e: 1 }"), { e: 1 });
  assert.deepEqual(await repl.run("function f() {}\n'x' + 'y' // trailing comment\n"), "xy");
  assert.deepEqual(await repl.run("export default function named() { return 1; }"), {
    unclonable: "function named() { return 1; }",
  });
  assert.equal(await repl.run("named()"), 1);
  assert.equal(await repl.run("export const exported = 9; export { exported as alias };\nexported"), 9);
});

Deno.test("repl: import declarations of every form go through the module hook with the cell's name", async () => {
  await using repl = await ReplContext.start(fixtures);
  await repl.run('import double from "./math.js";');
  await repl.run('import { greet as hello, "odd-name" as oddOne } from "npm:greet";');
  await repl.run('import * as math from "./math.js";');
  await repl.run('import dbl, * as m2 from "./math.js";');
  await repl.run('import "effects";\nimport "effects";');
  await repl.run('import cfg from "cfg" with { type: "json" };');
  await repl.run('import { "odd-name" as v } from "odd";');
  await repl.run('export * from "effects";');
  assert.deepEqual(
    await repl.run("[double(2), hello('x'), oddOne, math.pi, dbl === m2.default, effects, cfg.port, v]"),
    [4, "hi x", 0, 3, true, 1, 8080, 7], // a module is evaluated once, however often it is imported
  );
  const calls = await repl.run("hookCalls") as [string, string, unknown][];
  assert.deepEqual(calls.map(([cell, spec]) => `${cell} ${spec}`), [
    "cell1.js ./math.js",
    "cell2.js npm:greet",
    "cell3.js ./math.js",
    "cell4.js ./math.js",
    "cell5.js effects",
    "cell5.js effects",
    "cell6.js cfg",
    "cell7.js odd",
    "cell8.js effects",
  ]);
  assert.deepEqual(calls[6][2], { with: { type: "json" } });
  await repl.run("const useLater = () => 1;\nimport { pi } from './math.js';"); // imports are hoisted, as in a module
  assert.equal(await repl.run("pi"), 3);
});

Deno.test("repl: dynamic import with a variable, in functions too, keeps its options argument", async () => {
  await using repl = await ReplContext.start(fixtures);
  await repl.run('const which = "./math.js";\nconst loaded = await import(which);');
  assert.equal(await repl.run("loaded.pi"), 3);
  await repl.run("async function load(name) { return (await import(\n  name\n)).greet; }");
  assert.equal(await repl.run('(await load("npm:greet"))("d")'), "hi d");
  assert.equal(await repl.run('(await import("cfg", { with: { type: "json" } })).default.port'), 8080);
  const calls = await repl.run("hookCalls") as [string, string, unknown][];
  assert.deepEqual(calls.map(([cell, spec]) => `${cell} ${spec}`), [
    "cell1.js* ./math.js", // a name computed at run time: the hook's dynamic variant
    "cell3.js* npm:greet", // the cell that wrote the import, not the one that called it
    "cell5.js cfg",
  ]);
  assert.deepEqual(calls[2][2], { with: { type: "json" } });
  assert.deepEqual(await repl.run("[import.meta.url, import.meta.main]"), ["file:///cell7.js", true]);
});

Deno.test("repl: comments and strings that mention import and const are left untouched", async () => {
  await using repl = await ReplContext.start();
  const cell = [
    "// import x from 'nowhere'; const y = 1;",
    "/* export default 3; import('x') */",
    'const s = \'import z from "m"; const q = 2; import("m")\';',
    "const t = `const ${'import'} = import.meta`;",
    '[s, t, /import\\("a"\\)/.source]',
  ].join("\n");
  assert.deepEqual(await repl.run(cell), [
    'import z from "m"; const q = 2; import("m")',
    "const import = import.meta",
    'import\\("a"\\)',
  ]);
  assert.equal(await repl.run("typeof y + typeof q"), "undefinedundefined");
});

Deno.test("repl: a cell that throws rejects with its error, the stack naming the user's line", async () => {
  await using repl = await ReplContext.start();
  await repl.run("function boom() {\n  throw new RangeError('bad ' + 1);\n}");
  const result = await repl.runCell("const ok = 1;\n\nboom();");
  assert.ok("failure" in result);
  assert.equal(result.failure.name, "RangeError");
  assert.equal(result.failure.message, "bad 1");
  assert.match(result.failure.stack, /cell1\.js[^\n]*:2:9/, result.failure.stack);
  assert.match(result.failure.stack, /cell2\.js[^\n]*:3:1/, result.failure.stack);
  assert.equal(await repl.run("ok"), 1); // what ran before the throw stays
  const ts = await repl.runCell("interface A {\n  a: number;\n}\nconst n: number = 1;\nnull!.x;", "ts");
  assert.ok("failure" in ts);
  assert.match(ts.failure.stack, /cell4\.ts[^\n]*:5:/, ts.failure.stack);
});

Deno.test("repl: syntax errors name cell:line:col; TypeScript sent as JavaScript gets the hint", () => {
  const err = codeError(() => replCell("const a = 1;\nconst b = ;", { lang: "js", cellName: "cell1.js" }));
  assert.equal(err.name, "SyntaxError");
  assert.equal(err.reason, "syntax");
  assert.equal(err.message, "cell1.js:2:11: Unexpected token");
  assert.deepEqual([err.file, err.line, err.col], ["cell1.js", 2, 11]);
  const ts = codeError(() => replCell("let ok = 1;\nconst n: number = 1;", { lang: "js", cellName: "cell2.js" }));
  assert.equal(ts.message, 'cell2.js:2:8: Unexpected token (this looks like TypeScript: send lang: "ts")');
  assert.equal(ts.line, 2);
  const inTs = codeError(() => replCell("const n: number = ;", { lang: "ts", cellName: "cell3.ts" }));
  assert.match(inTs.message, /^cell3\.ts:1:19: /);
  assert.equal(inTs.name, "SyntaxError");
  const bad = codeError(() => replCell("let = ;", { lang: "js", cellName: "cell4.js" }));
  assert.doesNotMatch(bad.message, /TypeScript/);
  assert.equal(codeError(() => replCell("return 1", { lang: "js", cellName: "c.js" })).reason, "syntax");
  assert.equal(looksLikeTypeScript("const n: number = 1;"), true);
  assert.equal(looksLikeTypeScript("const n = 1;"), false);
  assert.equal(looksLikeTypeScript("const n = ;"), false);
  assert.equal(stripTypes("const n: number = 1;\ninterface A {\n  a: 1\n}\nn", "m.ts").split("\n").length, 5);
  assert.match(codeError(() => stripTypes("let x: = 1", "main.ts")).message, /^main\.ts:1:8: /);
});

Deno.test("repl: a cell over replCellCharsMax is refused before parsing", () => {
  const big = "x".repeat(replCellCharsMax + 1);
  const err = codeError(() => replCell(big, { lang: "js", cellName: "big.js" }));
  assert.equal(err.reason, "too_large");
  assert.equal(err.name, "RangeError");
  assert.match(err.message, /replCellCharsMax/);
  const fits = "1;" + " ".repeat(replCellCharsMax - 2);
  assert.ok(replCell(fits, { lang: "js", cellName: "fits.js" }).script.length > 0);
});

Deno.test("repl: nesting beyond the parser's stack is a CodeError, not a crash", () => {
  for (
    const [code, lang] of [["(".repeat(100_000) + "1" + ")".repeat(100_000), "js"], [
      "[".repeat(100_000),
      "ts",
    ]] as const
  ) {
    const err = codeError(() => replCell(code, { lang, cellName: `deep.${lang}` }));
    assert.equal(err.reason, "too_deep", err.message);
    assert.equal(err.name, "RangeError");
  }
  const chain = Array.from({ length: 100_000 }, () => "1").join("+"); // acorn recurses per binary operator too
  assert.equal(codeError(() => replCell(chain, { lang: "js", cellName: "c.js" })).reason, "too_deep");
  assert.equal(
    codeError(() => replCell("!".repeat(100_000) + "1", { lang: "js", cellName: "c.js" })).reason,
    "too_deep",
  );
  assert.equal(looksLikeTypeScript("(".repeat(100_000)), false);
});

Deno.test("repl: the script keeps the user's line numbers and reports its bindings", () => {
  const code = 'import { a } from "m";\n\nconst { b, c: [d] } = x;\nfunction f() {}\nclass K {}\nlet e;\nf()';
  const { script, bindings } = replCell(code, { lang: "js", cellName: "cell1.js" });
  assert.deepEqual(bindings.sort(), ["a", "b", "d", "e", "f", "K"].sort());
  const lines = script.split("\n");
  assert.match(lines[2], /\{ b, c: \[d\] \} = x/);
  assert.match(lines[3], /function f\(\) \{\}/);
  assert.match(lines[4], /K = class K \{\}/);
  assert.match(lines[6], /return \{ value: \(f\(\)\) \}/);
  assert.throws(() => replCell("1", { lang: "js", cellName: "../x\n.js" }), RangeError);
});
