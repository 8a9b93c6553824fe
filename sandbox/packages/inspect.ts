/**
 * Step b of `packages add`: what the store refuses, for the package and
 * every package of its tree, before anything of it runs or is stored.
 *
 * - `install_script`: its `package.json` has a `preinstall`, `install` or
 *   `postinstall` script. Deno never runs them here (no `node_modules`
 *   directory), so such a package would be stored without what its script
 *   builds or fetches, and would fail in a way nobody can see at add time.
 * - `native_addon`: a `binding.gyp` at its root (what npm would build),
 *   `"gypfile": true`, or a `*.node` file anywhere in it. A native addon cannot be bundled into one ES module, and an agent
 *   (a Worker with no permission) could not `dlopen` it anyway.
 *
 * @module
 */

import { packageTreeEntriesMax } from "./limits.ts";
import type { ResolvedTree, TreePackage } from "./resolve.ts";
import { PackageError } from "./types.ts";

const installScripts = ["preinstall", "install", "postinstall"] as const;

/**
 * Refuse the tree if any of its packages has an install script or a native addon.
 *
 * @param tree the resolved tree (its packages unpacked)
 * @throws {PackageError} `install_script` or `native_addon` naming the offending package (and what it is
 *   in the tree of); `too_large` over `packageTreeEntriesMax` files
 * @example
 * ```ts
 * import { inspectTree } from "./inspect.ts";
 * await inspectTree(tree); // throws for husky@4.3.8 (an install script)
 * ```
 */
export async function inspectTree(tree: ResolvedTree): Promise<void> {
  const budget = { entries: 0 };
  for (const pkg of tree.packages) {
    const where = pkg === tree.root ? pkg.id : `${pkg.id} (in the tree of ${tree.root.id})`;
    await inspectManifest(pkg, where);
    await walkForAddons(pkg.localPath, pkg, where, budget, tree.root.id);
  }
}

async function inspectManifest(pkg: TreePackage, where: string): Promise<void> {
  let manifest: { scripts?: Record<string, unknown>; gypfile?: unknown };
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${pkg.localPath}/package.json`));
  } catch (err) {
    throw new PackageError("registry", `${where} has no readable package.json (${err}): retry the add`);
  }
  const scripts = manifest?.scripts ?? {};
  for (const name of installScripts) {
    const script = scripts[name];
    if (typeof script === "string" && script.trim() !== "") {
      const text = script.length > 80 ? `${script.slice(0, 80)}…` : script;
      throw new PackageError(
        "install_script",
        `${where} has an ${name} script (${JSON.stringify(text)}): packages that run code at install are ` +
          "refused (what it would build or fetch is missing); pick a version or a package without one",
      );
    }
  }
  if (manifest?.gypfile === true) throw addon(where, `"gypfile": true in its package.json`);
}

/** Walk a package's files (not following symlinks) for `binding.gyp` and `*.node`. */
async function walkForAddons(
  dir: string,
  pkg: TreePackage,
  where: string,
  budget: { entries: number },
  rootId: string,
): Promise<void> {
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for await (const entry of Deno.readDir(current)) {
      if (++budget.entries > packageTreeEntriesMax) {
        throw new PackageError(
          "too_large",
          `the tree of ${rootId} has over ${packageTreeEntriesMax} files (packageTreeEntriesMax)`,
        );
      }
      const path = `${current}/${entry.name}`;
      if (entry.isDirectory) stack.push(path);
      else if (entry.name === "binding.gyp" && current === dir) throw addon(where, "a binding.gyp");
      else if (entry.name.endsWith(".node")) {
        throw addon(where, `a compiled addon (${path.slice(pkg.localPath.length + 1)})`);
      }
    }
  }
}

function addon(where: string, what: string): PackageError {
  return new PackageError(
    "native_addon",
    `${where} has ${what}: native addons cannot be bundled or loaded by agents; pick a pure-JavaScript package`,
  );
}
