/**
 * Step d of `packages add`: the package and everything it depends on as
 * one ES module, made by `deno bundle` from an entry module that re-exports
 * its default and named exports (`export { a, b, default } from "npm:…"`
 * for an ES module; `const d = m.default; export default d; export const
 * { a, b } = d;` for CommonJS). Node built-ins stay `node:` imports; any
 * other import left in the bundle (`npm:`, `https:`, a bare name) means it
 * is not self-contained: `bundle_failed`.
 *
 * The bundler keeps CommonJS `require`s of Node built-ins through
 * `createRequire(import.meta.url)`; the store's bundles are run from a
 * `blob:` URL, which `createRequire` refuses, so that one base is pinned to
 * a virtual path (`file:///agentos/packages/<file>`) that names no real
 * file: built-ins load from it, a `require` of anything else fails as a
 * missing optional dependency would.
 *
 * @module
 */

import { init, parse } from "es-module-lexer";
import { bundleMsMax, packageBytesMax } from "./limits.ts";
import { runDeno } from "./deno_command.ts";
import type { PackageExports } from "./exports.ts";
import type { TreePackage } from "./resolve.ts";
import { PackageError } from "./types.ts";

/** A bundle written to a staging file, not yet in the store. */
export interface StagedBundle {
  /** The staging file (in the store directory, so that a rename installs it). */
  path: string;
  /** SHA-256 of its bytes, hex. */
  sha256: string;
  bytes: number;
}

const requireBase = "__deno_internal_createRequire(import.meta.url)";
let lexerReady: Promise<void> | undefined;

/**
 * The entry module bundled for `pkg` (see the module doc).
 *
 * @param pkg the package
 * @param exports what it exports
 * @returns the entry's source
 * @example
 * ```ts
 * import { entrySource } from "./bundle.ts";
 * entrySource({ id: "zod@3.23.8" } as never, { names: ["z"], hasDefault: true, commonJs: false });
 * // 'export { default, z } from "npm:zod@3.23.8";\n'
 * ```
 */
export function entrySource(pkg: TreePackage, exports: PackageExports): string {
  const specifier = JSON.stringify(`npm:${pkg.id}`);
  if (exports.commonJs) {
    const names = exports.names.length > 0 ? `export const { ${exports.names.join(", ")} } = d;\n` : "";
    return `import * as m from ${specifier};\nconst d = m.default;\nexport default d;\n${names}`;
  }
  const names = [...(exports.hasDefault ? ["default"] : []), ...exports.names];
  return names.length > 0 ? `export { ${names.join(", ")} } from ${specifier};\n` : `import ${specifier};\n`;
}

/**
 * Bundle `pkg` into `<workDir>/bundle.js` and check it (see the module doc).
 *
 * @param pkg the package (in the store's `DENO_DIR`)
 * @param exports what it exports (from `listExports`)
 * @param options the store's `DENO_DIR`, a staging directory in the store, the bundle's file name
 * @returns the staged bundle, its hash and size
 * @throws {PackageError} `bundle_failed` (the bundler failed, or an import other than `node:` is left),
 *   `too_large` (over `packageBytesMax`)
 * @example
 * ```ts
 * import { bundlePackage } from "./bundle.ts";
 * const staged = await bundlePackage(tree.root, exports, { denoDir, workDir, fileName: "lodash@4.17.21.js" });
 * ```
 */
export async function bundlePackage(
  pkg: TreePackage,
  exports: PackageExports,
  options: { denoDir: string; workDir: string; fileName: string; timeoutMs?: number },
): Promise<StagedBundle> {
  const entry = `${options.workDir}/entry.js`;
  const path = `${options.workDir}/bundle.js`;
  await Deno.writeTextFile(entry, entrySource(pkg, exports));
  const timeoutMs = options.timeoutMs ?? bundleMsMax;
  // The environment is inherited (proxies, CA settings): the first bundle of a store fetches the bundler
  // itself (npm:@esbuild/<platform>) into its DENO_DIR. No package code runs while bundling.
  const out = await runDeno(["bundle", "--quiet", "--no-config", "--no-lock", "-o", path, entry], {
    env: { DENO_DIR: options.denoDir },
    clearEnv: false,
    timeoutMs,
    cwd: options.workDir,
  });
  if (out.code !== 0) {
    const why = out.timedOut ? `over ${timeoutMs} ms` : out.stderr.trim().split("\n")[0] ?? `exit ${out.code}`;
    throw new PackageError("bundle_failed", `deno bundle of ${pkg.id} failed (${why.slice(0, 300)})`);
  }
  const size = (await Deno.stat(path)).size;
  if (size > packageBytesMax) throw tooLarge(pkg, size);
  const base = JSON.stringify(`file:///agentos/packages/${options.fileName}`);
  const text = (await Deno.readTextFile(path)).replaceAll(requireBase, `__deno_internal_createRequire(${base})`);
  await checkImports(pkg, text);
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > packageBytesMax) throw tooLarge(pkg, bytes.length);
  await Deno.writeFile(path, bytes);
  return { path, sha256: await sha256Hex(bytes), bytes: bytes.length };
}

function tooLarge(pkg: TreePackage, bytes: number): PackageError {
  return new PackageError(
    "too_large",
    `the bundle of ${pkg.id} is ${bytes} bytes, over packageBytesMax (${packageBytesMax}): pick a smaller package`,
  );
}

/** Every import of the bundle with a literal specifier must be a `node:` built-in. */
async function checkImports(pkg: TreePackage, text: string): Promise<void> {
  await (lexerReady ??= init());
  let imports: ReturnType<typeof parse>[0];
  try {
    imports = parse(text, pkg.id)[0];
  } catch (err) {
    throw new PackageError("bundle_failed", `the bundle of ${pkg.id} is not a module the lexer reads (${err})`);
  }
  for (const imp of imports) {
    if (imp.d === -2 || imp.n === undefined || imp.n.startsWith("node:")) continue;
    throw new PackageError(
      "bundle_failed",
      `the bundle of ${pkg.id} still imports ${JSON.stringify(imp.n.slice(0, 200))}: only node: built-ins may ` +
        "stay outside a stored package (a package that loads code from the network cannot be stored)",
    );
  }
}

/**
 * SHA-256 of `bytes`, lowercase hex.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./bundle.ts";
 * await sha256Hex(new Uint8Array()); // "e3b0c442…"
 * ```
 */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
