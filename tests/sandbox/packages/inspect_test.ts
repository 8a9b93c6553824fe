/**
 * What `add` refuses in a package tree, on real unpacked directories: an
 * install script (in the package or a dependency), a `binding.gyp`,
 * `"gypfile": true`, a compiled `*.node` file anywhere.
 */
import assert from "node:assert/strict";
import { inspectTree } from "../../../sandbox/packages/inspect.ts";
import type { ResolvedTree, TreePackage } from "../../../sandbox/packages/resolve.ts";
import { rejectsWith } from "./helpers.ts";

/** A tree of `root@1.0.0` and `dep@1.0.0`, unpacked under a temp dir; `files` are written into them. */
async function tree(files: Record<string, string>): Promise<{ tree: ResolvedTree; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "agentos-inspect-" });
  const pkg = (name: string): TreePackage => ({
    id: `${name}@1.0.0`,
    name,
    version: "1.0.0",
    localPath: `${dir}/${name}`,
  });
  const root = pkg("root");
  const dep = pkg("dep");
  for (const p of [root, dep]) {
    await Deno.mkdir(`${p.localPath}/lib`, { recursive: true });
    await Deno.writeTextFile(`${p.localPath}/package.json`, JSON.stringify({ name: p.name, version: "1.0.0" }));
    await Deno.writeTextFile(`${p.localPath}/lib/index.js`, "module.exports = 1;");
  }
  for (const [path, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${path}`, text);
  return { tree: { root, integrity: "sha512-x", packages: [root, dep] }, dir };
}

Deno.test("packages: a clean tree passes inspection", async () => {
  const { tree: t, dir } = await tree({});
  try {
    await inspectTree(t);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packages: install scripts are refused, naming the package and the tree it is in", async () => {
  for (const script of ["preinstall", "install", "postinstall"]) {
    const manifest = JSON.stringify({ name: "dep", version: "1.0.0", scripts: { [script]: "node build.js" } });
    const { tree: t, dir } = await tree({ "dep/package.json": manifest });
    try {
      const err = await rejectsWith(inspectTree(t), "install_script");
      assert.match(
        err.message,
        new RegExp(`dep@1\\.0\\.0 \\(in the tree of root@1\\.0\\.0\\) has an? ${script} script`),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  const other = JSON.stringify({ name: "dep", version: "1.0.0", scripts: { test: "x", prepare: "y" } });
  const { tree: t, dir } = await tree({ "dep/package.json": other });
  try {
    await inspectTree(t);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packages: native addons are refused: binding.gyp, gypfile, a .node file anywhere", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "root/binding.gyp": "{}" }, /root@1\.0\.0 has a binding\.gyp/],
    [{ "dep/package.json": JSON.stringify({ name: "dep", gypfile: true }) }, /dep@1\.0\.0 .*"gypfile": true/],
    [{ "dep/lib/addon.node": "\x7fELF" }, /dep@1\.0\.0 .*compiled addon \(lib\/addon\.node\)/],
  ];
  for (const [files, message] of cases) {
    const { tree: t, dir } = await tree(files);
    try {
      assert.match((await rejectsWith(inspectTree(t), "native_addon")).message, message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
