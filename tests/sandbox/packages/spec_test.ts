/**
 * Package specs and names: npm's rules, strictly; bundle file names.
 */
import assert from "node:assert/strict";
import { bundleFileName, checkPackageName, PackageError, parsePackageSpec } from "../../../sandbox/packages/mod.ts";
import { isExportName } from "../../../sandbox/packages/exports.ts";
import { entrySource } from "../../../sandbox/packages/bundle.ts";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof PackageError) return err.code;
    throw err;
  }
  return undefined;
}

Deno.test("packages: specs parse into a name and an optional range", () => {
  assert.deepEqual(parsePackageSpec("lodash"), { name: "lodash" });
  assert.deepEqual(parsePackageSpec("lodash@4.17.21"), { name: "lodash", range: "4.17.21" });
  assert.deepEqual(parsePackageSpec("@scope/name@^1.2"), { name: "@scope/name", range: "^1.2" });
  assert.deepEqual(parsePackageSpec("@types/node"), { name: "@types/node" });
  assert.deepEqual(parsePackageSpec("zod@>=3.20 <4"), { name: "zod", range: ">=3.20 <4" });
  assert.deepEqual(parsePackageSpec("react@next"), { name: "react", range: "next" });
  assert.deepEqual(parsePackageSpec("a.b_c-d@1.x || 2"), { name: "a.b_c-d", range: "1.x || 2" });
  assert.equal(checkPackageName("x".repeat(214)).length, 214);
});

Deno.test("packages: URLs, paths, git and file specs, aliases, bad names and huge strings are invalid_spec", () => {
  for (
    const spec of [
      "",
      "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
      "http://x",
      "file:../x",
      "../x",
      "./x",
      "/x",
      "x/y",
      "git+https://github.com/a/b.git",
      "git:github.com/a/b",
      "github:a/b",
      "lodash@npm:evil@1",
      "lodash@github:a/b",
      "lodash@file:../x",
      "lodash@4/x",
      "lodash@",
      "lodash@ 4",
      "lodash@4 ",
      " lodash",
      "lodash\u0000",
      "lo\u0000dash@1",
      "Lodash",
      ".hidden",
      "_private",
      "node_modules",
      "fs",
      "child_process",
      "@scope",
      "@scope/",
      "@/name",
      "@scope/a/b",
      "x".repeat(215),
      "x".repeat(10 * 1024),
      "ünicode",
      "a@1@2",
    ]
  ) {
    assert.equal(code(() => parsePackageSpec(spec)), "invalid_spec", JSON.stringify(spec.slice(0, 40)));
  }
  assert.equal(code(() => parsePackageSpec(42 as unknown as string)), "invalid_spec");
  const err = (() => {
    try {
      parsePackageSpec("x".repeat(10 * 1024));
    } catch (e) {
      return e as Error;
    }
  })()!;
  assert.ok(err.message.length < 300, "the message quotes a prefix, not the whole input");
});

Deno.test("packages: bundle file names are safe and injective; a damaged index entry is integrity", () => {
  assert.equal(bundleFileName("lodash", "4.17.21"), "lodash@4.17.21.js");
  assert.equal(bundleFileName("@scope/name", "1.0.0-rc.1"), "@scope+name@1.0.0-rc.1.js");
  assert.equal(code(() => bundleFileName("../../etc", "1.0.0")), "integrity");
  assert.equal(code(() => bundleFileName("lodash", "../1")), "integrity");
  assert.equal(code(() => bundleFileName("lodash", "^4")), "integrity");
});

Deno.test("packages: export names are identifiers that are not reserved words, nor then", () => {
  for (const name of ["map", "_", "$", "ZodError", "a1"]) assert.ok(isExportName(name), name);
  for (const name of ["default", "module.exports", "class", "then", "1a", "a-b", "", "await"]) {
    assert.ok(!isExportName(name), name);
  }
  const pkg = { id: "x@1.0.0", name: "x", version: "1.0.0", localPath: "/x" };
  assert.equal(
    entrySource(pkg, { names: ["a", "b"], hasDefault: true, commonJs: false }),
    'export { default, a, b } from "npm:x@1.0.0";\n',
  );
  assert.equal(
    entrySource(pkg, { names: ["a"], hasDefault: true, commonJs: true }),
    'import * as m from "npm:x@1.0.0";\nconst d = m.default;\nexport default d;\nexport const { a } = d;\n',
  );
  assert.equal(entrySource(pkg, { names: [], hasDefault: false, commonJs: false }), 'import "npm:x@1.0.0";\n');
});
