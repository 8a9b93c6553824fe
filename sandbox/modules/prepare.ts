/**
 * Multi-file agents: the supervisor's side of module loading. A module an
 * agent runs (its main code, or a file of its workspace or a volume) is
 * lexed here with a real ES module lexer (`es-module-lexer`, which also
 * reads TypeScript) and cut at its import specifiers:
 *
 * - a static relative import (`import "./util.ts"`, `export * from "../x.js"`)
 *   becomes a dependency, by its workspace-relative path; the Worker loads it
 *   through `mod.load` (a checked, recorded read) and splices in the URL of
 *   the module it built from it;
 * - a dynamic `import(expr)` becomes a call of the Worker's module hook with
 *   the importing module's path, so `import("./x.js")` and `import(name)`
 *   resolve like static imports, at run time;
 * - a package (`"lodash"`, `"npm:zod@^3"`) becomes a dependency
 *   `npm:<name>[@<range>]`, resolved to the store's pinned version by
 *   `packages.ts` before the Worker sees it; a literal `import("pkg")` is
 *   listed in `lazy` so the policy can refuse it before the agent runs;
 * - a non-literal `import(expr)` calls the hook's `dynamic` variant: a
 *   package it names needs the policy's `dynamicImports`;
 * - `node:` built-ins are left to the runtime (a bare `"path"` becomes
 *   `node:path`); a built-in that needs authority, a URL or a `jsr:`
 *   import is refused with a message saying what is available.
 *
 * No I/O here: `resolveSpecifier` and `prepareModule` are pure.
 *
 * @module
 */

import { init, parse } from "es-module-lexer";
import { KernelError } from "../../kernel/mod.ts";
import { normalizeGuestPath } from "../path/mod.ts";
import { moduleImportsMax } from "../../kernel/mod.ts";
import { importTarget } from "./specifier.ts";

/** How a module's source is run: JavaScript, TypeScript (Deno strips the types in the cell), or a JSON module. */
export type ModuleLang = "js" | "ts" | "json";

/**
 * A module cut at its dependencies: its source is
 * `segments[0] + url(deps[0]) + segments[1] + ... + segments[n]`.
 */
export interface PreparedModule {
  /** Workspace-relative path (or the main module's name, e.g. `main.ts`). */
  path: string;
  lang: ModuleLang;
  segments: string[];
  /**
   * The static dependencies, one per gap between segments: workspace-relative
   * paths, `npm:<name>[@<range>]` packages, `node:<name>` built-ins.
   */
  deps: string[];
  /** Packages named by a literal `import("…")`, as `npm:` dependency keys: checked before the agent runs. */
  lazy?: string[];
}

/** The module hook a rewritten `import(...)` calls, in the agent's Worker (see prelude/modules.ts). */
export const importHookSource = 'globalThis[Symbol.for("agentos.import")]';

/** Resolves once the lexer's WebAssembly is compiled; `prepareModule` needs it. */
export const moduleLexerReady: Promise<void> = init();

const languages: Record<string, ModuleLang> = {
  js: "js",
  mjs: "js",
  cjs: "js",
  ts: "ts",
  mts: "ts",
  cts: "ts",
  json: "json",
};

/**
 * The language of a module file by its extension.
 *
 * @throws {KernelError} `EINVAL` for a file that is not a module
 */
export function moduleLang(path: string): ModuleLang {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  const lang = dot > 0 ? languages[name.slice(dot + 1).toLowerCase()] : undefined;
  if (lang === undefined) {
    throw new KernelError(
      "EINVAL",
      `cannot import ${JSON.stringify(path)}: modules are .js, .mjs, .ts, .mts or .json files (name the extension)`,
    );
  }
  return lang;
}

/** Whether `specifier` names a file of the workspace (`./`, `../`, or `/` for the workspace root). */
export function isRelativeSpecifier(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/");
}

/**
 * The workspace-relative path `specifier` names, imported from `referrer`.
 *
 * @throws {KernelError} `EACCES` when it climbs out of the workspace, `EINVAL` when it is not a workspace file
 * @example
 * ```ts
 * resolveSpecifier("lib/a.ts", "../util.ts"); // "util.ts"
 * resolveSpecifier("lib/a.ts", "/main.ts"); // "main.ts"
 * ```
 */
export function resolveSpecifier(referrer: string, specifier: string): string {
  if (!isRelativeSpecifier(specifier)) throw notAFile(specifier, referrer);
  const dir = referrer.includes("/") ? referrer.slice(0, referrer.lastIndexOf("/")) : "";
  const joined = specifier.startsWith("/") ? specifier.slice(1) : `${dir}/${specifier}`;
  let segments: string[];
  try {
    segments = normalizeGuestPath(joined.replace(/^\/+/, ""));
  } catch (err) {
    const why = err instanceof KernelError ? err.message : String(err);
    throw new KernelError("EACCES", `cannot import ${JSON.stringify(specifier)} from ${referrer}: ${why}`);
  }
  if (segments.length === 0) throw new KernelError("EISDIR", `cannot import the workspace root from ${referrer}`);
  return segments.join("/");
}

function notAFile(specifier: string, referrer: string): KernelError {
  return new KernelError(
    "EINVAL",
    `cannot import ${JSON.stringify(specifier.slice(0, 200))} from ${referrer}: it is not a file of the workspace`,
  );
}

/** The dependency key of a package: `npm:<name>` or `npm:<name>@<range>` (see packages.ts). */
export function packageDep(name: string, range: string | null): string {
  return range === null ? `npm:${name}` : `npm:${name}@${range}`;
}

/**
 * Cut `source` at its imports (see the module's doc). A source the lexer
 * cannot read is passed through whole: the runtime then reports its real
 * syntax error, under the module's name.
 *
 * @throws {KernelError} `ENOSYS`/`EACCES` for an import that can never load, `E2BIG` over `moduleImportsMax`
 */
export function prepareModule(path: string, source: string, lang: ModuleLang): PreparedModule {
  if (lang === "json") return { path, lang, segments: [source], deps: [] };
  let imports: ReturnType<typeof parse>[0];
  try {
    imports = parse(source, path)[0];
  } catch {
    return { path, lang, segments: [source], deps: [] };
  }
  if (imports.length > moduleImportsMax) {
    throw new KernelError(
      "E2BIG",
      `${path} has ${imports.length} imports, over moduleImportsMax (${moduleImportsMax})`,
    );
  }
  const segments: string[] = [];
  const deps: string[] = [];
  const lazy: string[] = [];
  let text = "";
  let pos = 0;
  const hook = `${importHookSource}(${JSON.stringify(path)}, `;
  const dynamicHook = `${importHookSource}.dynamic(${JSON.stringify(path)}, `;
  for (const imp of imports) {
    if (imp.d >= 0) {
      // `import(` → `hook("path", `: the arguments stay as they are.
      const literal = imp.n !== undefined;
      text += source.slice(pos, imp.ss) + (literal ? hook : dynamicHook);
      pos = imp.d + 1;
      if (literal) {
        const target = targetOrNull(imp.n!);
        if (target?.kind === "package") lazy.push(packageDep(target.name, target.range));
      }
    } else if (imp.d === -1 && imp.n !== undefined) {
      const target = importTarget(imp.n);
      // A built-in stays as written, except node:fs, which the sandbox provides over its syscalls.
      if (target.kind === "node" && imp.n.startsWith("node:") && !fsShims.has(target.name)) continue;
      segments.push(text + source.slice(pos, imp.s));
      deps.push(
        target.kind === "file"
          ? resolveSpecifier(path, imp.n)
          : target.kind === "node"
          ? `node:${target.name}`
          : packageDep(target.name, target.range),
      );
      text = "";
      pos = imp.e;
    }
  }
  segments.push(text + source.slice(pos));
  return lazy.length > 0 ? { path, lang, segments, deps, lazy } : { path, lang, segments, deps };
}

/** Built-ins the Worker's linker provides itself (prelude/node_fs.ts). */
const fsShims = new Set(["fs", "fs/promises"]);

/** The target of a literal dynamic import, or null when it is malformed (that fails when it runs). */
function targetOrNull(specifier: string) {
  try {
    return importTarget(specifier);
  } catch {
    return null;
  }
}
