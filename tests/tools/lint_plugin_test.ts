import assert from "node:assert/strict";
import plugin, { fileLinesMax, functionLinesMax } from "../../tools/lint_plugin.ts";

const root = new URL("../../", import.meta.url).pathname;
const lint = (file: string, source: string) =>
  Deno.lint.runPlugin(plugin, root + file, source).map((d) => `${d.id}: ${d.message}`);

Deno.test("lint plugin: an import across folders must go through the folder's mod.ts", () => {
  assert.deepEqual(lint("kernel/x.ts", 'import { a } from "./process/mod.ts";\nimport { b } from "./errno.ts";\n'), []);
  assert.deepEqual(lint("kernel/x.ts", 'import { a } from "../sandbox/fs/disk.ts";\n'), [
    "agentos/mod-imports: import of ../sandbox/fs/disk.ts reaches inside /sandbox/fs/: import its mod.ts instead",
  ]);
  assert.equal(lint("api/x.ts", 'export { a } from "../kernel/limits.ts";\n').length, 1, "re-exports are checked too");
  assert.deepEqual(lint("sandbox/agent/x.ts", 'import { a } from "../limits.ts";\n'), [], "a parent's file is allowed");
  assert.deepEqual(lint("tests/x_test.ts", 'import { a } from "../kernel/errno.ts";\n'), [], "tests may reach in");
  assert.deepEqual(lint("limits.ts", 'export * from "./kernel/memory/limits.ts";\n'), [], "the limits gatherer");
});

Deno.test("lint plugin: functions over the length limit in kernel/, sandbox/ and api/", () => {
  const long = `function f() {\n${"  call();\n".repeat(functionLinesMax)}}\n`;
  assert.deepEqual(lint("sandbox/x.ts", long), [
    `agentos/function-length: function of ${functionLinesMax + 2} lines (at most ${functionLinesMax}): split it`,
  ]);
  assert.deepEqual(lint("sandbox/x.ts", `function f() {\n${"  call();\n".repeat(functionLinesMax - 2)}}\n`), []);
  assert.deepEqual(lint("cli/x.ts", long), [], "cli/ is not held to it");
});

Deno.test("lint plugin: one assert helper", () => {
  const message = "agentos/one-assert: a second assert helper: import { assert } from lib/mod.ts";
  assert.deepEqual(lint("kernel/x.ts", "function assert(c: unknown, m: string) { if (!c) throw new Error(m); }\n"), [
    message,
  ]);
  assert.deepEqual(lint("kernel/x.ts", "const assert = (c: unknown) => { if (!c) throw 1; };\n"), [message]);
  assert.deepEqual(lint("lib/assert.ts", "export function assert(c: unknown) { if (!c) throw 1; }\n"), []);
  assert.deepEqual(lint("kernel/x.ts", 'import assert from "node:assert/strict";\nassert.ok(true);\n'), []);
});

Deno.test("lint plugin: source files over the length limit; tests and benchmarks are free", () => {
  const lines = (n: number) => "call();\n".repeat(n);
  assert.deepEqual(lint("observability/x.ts", lines(fileLinesMax)), []);
  assert.deepEqual(lint("observability/x.ts", lines(fileLinesMax + 1)), [
    `agentos/file-length: file of ${fileLinesMax + 1} lines (at most ${fileLinesMax}): split it by concept`,
  ]);
  assert.deepEqual(lint("tests/x_test.ts", lines(fileLinesMax + 1)), []);
  assert.deepEqual(lint("bench/x.ts", lines(fileLinesMax + 1)), []);
});
