/**
 * Step c of `packages add`: the package's named exports, listed by
 * importing it in a `deno run` with no `--allow-*` flag at all (its
 * top-level code runs as an agent's would: no file, network, environment
 * or subprocess), `--cached-only`, a heap cap, a cleared environment and a
 * time limit.
 *
 * An ES module's names are its namespace's keys. A CommonJS module (Deno
 * marks its namespace with a `module.exports` key) exports its
 * `module.exports` as `default`, and its names are that object's own
 * enumerable keys (`lodash` → `map`, `chunk`, …), as bundlers' interop does.
 * Kept: valid ASCII identifiers that are not reserved words, and not
 * `then` (a module namespace with a `then` is a thenable: `await import()`
 * would call it).
 *
 * A package that cannot load without permissions (it reads the environment
 * or a file at import) is refused here: an agent could not import it either.
 *
 * @module
 */

import { exportsHeapMbMax, exportsMsMax, packageExportsMax } from "./limits.ts";
import { runDeno } from "./deno_command.ts";
import type { TreePackage } from "./resolve.ts";
import { PackageError } from "./types.ts";

/** What a package exports. */
export interface PackageExports {
  /** Named exports (identifiers, sorted), `default` not among them. */
  names: string[];
  /** Whether it has a default export (always, for CommonJS: `module.exports`). */
  hasDefault: boolean;
  /** Whether it is CommonJS (its names are `module.exports`'s keys). */
  commonJs: boolean;
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const reserved = new Set(
  ("break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "yield let static implements interface package private protected public await arguments eval then").split(" "),
);

/**
 * Whether `name` can be a named export of the stored module (`export const { name } = …`).
 *
 * @example
 * ```ts
 * import { isExportName } from "./exports.ts";
 * isExportName("map"); // true
 * isExportName("module.exports"); // false
 * isExportName("default"); // false
 * ```
 */
export function isExportName(name: string): boolean {
  return name.length <= 256 && identifier.test(name) && !reserved.has(name);
}

/** The script that prints the exports after `marker` (on its own line) and exits. */
function script(specifier: string, marker: string): string {
  return `import * as m from ${JSON.stringify(specifier)};
const commonJs = "module.exports" in m;
const source = commonJs ? m.default : m;
let names = [];
try {
  if (source !== null && (typeof source === "object" || typeof source === "function")) names = Object.keys(source);
} catch { /* a hostile proxy: no names */ }
console.log(${JSON.stringify(marker)} + JSON.stringify({ commonJs, hasDefault: commonJs || "default" in m, names }));
Deno.exit(0);
`;
}

/**
 * List the exports of `pkg` (see the module doc).
 *
 * @param pkg the package (in the store's `DENO_DIR`)
 * @param options the store's `DENO_DIR` and an empty directory for the script
 * @returns its names, whether it has a default, whether it is CommonJS
 * @throws {PackageError} `bundle_failed` (it does not load without permissions, or runs over
 *   `exportsMsMax`), `too_large` (over `packageExportsMax` names)
 * @example
 * ```ts
 * import { listExports } from "./exports.ts";
 * const { names } = await listExports(tree.root, { denoDir: "/tmp/s/.cache", workDir: "/tmp/s/.staging/x" });
 * ```
 */
export async function listExports(
  pkg: TreePackage,
  options: { denoDir: string; workDir: string; timeoutMs?: number },
): Promise<PackageExports> {
  const marker = `agentos-exports-${crypto.randomUUID()} `;
  const file = `${options.workDir}/exports.js`;
  await Deno.writeTextFile(file, script(`npm:${pkg.id}`, marker));
  const timeoutMs = options.timeoutMs ?? exportsMsMax;
  const out = await runDeno(
    [
      "run",
      "--no-prompt",
      "--cached-only",
      "--no-remote",
      "--no-config",
      "--no-lock",
      `--v8-flags=--max-old-space-size=${exportsHeapMbMax}`,
      file,
    ],
    { env: { DENO_DIR: options.denoDir }, clearEnv: true, timeoutMs, cwd: options.workDir },
  );
  if (out.timedOut) {
    throw new PackageError("bundle_failed", `importing ${pkg.id} ran over ${timeoutMs} ms (its top-level code)`);
  }
  const line = out.stdout.split("\n").findLast((l) => l.startsWith(marker));
  if (out.code !== 0 || line === undefined) {
    const why = errorLine(out.stderr) || `exit ${out.code}`;
    throw new PackageError(
      "bundle_failed",
      `${pkg.id} does not load without permissions, as an agent would import it (${why}): ` +
        "a package that reads the environment, files or the network when imported cannot be stored",
    );
  }
  const parsed = JSON.parse(line.slice(marker.length)) as PackageExports;
  const names = [...new Set(Array.isArray(parsed.names) ? parsed.names : [])]
    .filter((n) => typeof n === "string" && isExportName(n)).sort();
  if (names.length > packageExportsMax) {
    throw new PackageError("too_large", `${pkg.id} has ${names.length} exports, over packageExportsMax`);
  }
  return { names, hasDefault: parsed.hasDefault === true, commonJs: parsed.commonJs === true };
}

/** The first line of an error report that says something (`error: Uncaught … NotCapable: Requires env access…`). */
function errorLine(stderr: string): string {
  const line = stderr.split("\n").map((l) => l.trim()).find((l) => l.startsWith("error:")) ??
    stderr.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
