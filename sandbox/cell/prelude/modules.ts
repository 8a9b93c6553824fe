/**
 * Prelude part: the module linker inside the Worker. The supervisor cut
 * each module at its imports (sandbox/modules/prepare.ts); this part loads
 * the missing dependencies with `mod.load` (checked, recorded reads of the
 * workspace), builds each module as a `blob:` URL with its dependencies'
 * URLs spliced in, dependencies first, and imports the root. It also
 * installs the hook rewritten `import(...)` calls reach, and renames blob
 * URLs in stack traces to the agent's own file names. Shipped as source:
 * it must not close over anything in this module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";
import { preludeNodeFsSources } from "./node_fs.ts";

/** A module as `mod.load` answers it: see `PreparedModule` in sandbox/modules/prepare.ts. */
export interface PreludeModule {
  path: string;
  lang: "js" | "ts" | "json";
  segments: string[];
  deps: string[];
}

/** What the linker gives the rest of the prelude. */
export interface PreludeLinker {
  /** Link `root` (and what it imports) and import it. */
  run(root: PreludeModule): Promise<Record<string, unknown>>;
  /** `text` with every module URL replaced by its file name. */
  rename(text: string): string;
}

/** Loads what a module graph lacks, within the graph's limits (`moduleCountMax`, `moduleGraphBytesMax`). */
export function preludeModuleLoader(
  call: PreludeChannel["call"],
  limits: { countMax: number; bytesMax: number },
): {
  count(m: PreludeModule): void;
  collect(root: PreludeModule, linked: (path: string) => boolean): Promise<Map<string, PreludeModule>>;
  load(referrer: string, specifier: string, shown?: string, dynamic?: boolean): Promise<PreludeModule>;
} {
  const totals = { count: 0, bytes: 0 };
  /** Load `specifier` for `referrer`; a failure names what was imported (`shown`) and by whom. */
  const load = async (referrer: string, specifier: string, shown = specifier, dynamic = false) => {
    try {
      return await call(
        "mod.load",
        dynamic ? { specifier, referrer, dynamic } : { specifier, referrer },
      ) as PreludeModule;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const error = new Error(`cannot import ${JSON.stringify(shown)} from ${referrer}: ${e?.message ?? err}`);
      error.name = "ImportError";
      // The loader's own frames say nothing about the agent's code.
      error.stack = `ImportError: ${error.message}`;
      (error as Error & { code?: string }).code = e?.code;
      throw error;
    }
  };
  const count = (m: PreludeModule) => {
    totals.count++;
    for (const s of m.segments) totals.bytes += s.length;
    if (totals.count > limits.countMax) {
      throw new Error(`module graph over moduleCountMax (${limits.countMax} modules) at ${m.path}`);
    }
    if (totals.bytes > limits.bytesMax) {
      throw new Error(`module graph over moduleGraphBytesMax (${limits.bytesMax} bytes) at ${m.path}`);
    }
  };
  /** Every dependency of `root` not linked yet, level by level, each level in parallel. */
  const collect = async (root: PreludeModule, linked: (path: string) => boolean) => {
    const graph = new Map<string, PreludeModule>([[root.path, root]]);
    let frontier = [root];
    while (frontier.length > 0) {
      const wanted = new Map<string, string>();
      for (const m of frontier) {
        for (const dep of m.deps) {
          if (dep.startsWith("node:") || linked(dep) || graph.has(dep) || wanted.has(dep)) continue;
          wanted.set(dep, m.path);
        }
      }
      // A workspace path is asked for from the root (`/dep`); a package by its key (`npm:name@version`).
      const loaded = await Promise.all(
        [...wanted].map(([dep, from]) => load(from, dep.startsWith("npm:") ? dep : `/${dep}`, dep)),
      );
      for (const m of loaded) {
        count(m);
        graph.set(m.path, m);
      }
      frontier = loaded;
    }
    return graph;
  };
  return { count, collect, load };
}

/**
 * The built-ins the sandbox provides itself (node:fs over the fs syscalls):
 * the blob URL of one by its specifier, made on first use, or undefined.
 */
export function preludeShims(
  urls: Map<string, string>,
  names: Map<string, string>,
): (specifier: string) => string | undefined {
  const shims = preludeNodeFsSources();
  const shim = (specifier: string): string | undefined => {
    const source = shims[specifier];
    if (source === undefined) return undefined;
    let url = urls.get(specifier);
    if (url === undefined) {
      // node:fs imports node:fs/promises: the shim's own import is rewritten to the shim.
      const text = source.replace('"node:fs/promises"', () => JSON.stringify(shim("node:fs/promises")));
      url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
      urls.set(specifier, url);
      names.set(url, specifier);
    }
    return url;
  };
  return shim;
}

/** Install the linker and the `import(...)` hook. */
export function preludeModules(
  call: PreludeChannel["call"],
  limits: { countMax: number; bytesMax: number },
): PreludeLinker {
  const mimes = { js: "text/javascript", ts: "application/typescript", json: "application/json" };
  const urls = new Map<string, string>();
  const names = new Map<string, string>();
  const shim = preludeShims(urls, names);
  const loader = preludeModuleLoader(call, limits);
  const nativeImport = (specifier: string, options?: unknown) =>
    import(specifier, options as ImportCallOptions | undefined);
  /** The URL of `path`, its dependencies built first; a cycle is refused by name. */
  const link = (path: string, graph: Map<string, PreludeModule>, stack: string[]): string => {
    if (path.startsWith("node:")) return shim(path) ?? path;
    const known = urls.get(path);
    if (known !== undefined) return known;
    if (stack.includes(path)) {
      const cycle = [...stack.slice(stack.indexOf(path)), path].join(" → ");
      throw new Error(`import cycle ${cycle}: cycles between workspace modules are not supported`);
    }
    const m = graph.get(path)!;
    stack.push(path);
    let source = m.segments[0];
    for (let i = 0; i < m.deps.length; i++) source += link(m.deps[i], graph, stack) + m.segments[i + 1];
    stack.pop();
    const url = URL.createObjectURL(new Blob([source], { type: mimes[m.lang] ?? mimes.js }));
    urls.set(path, url);
    names.set(url, path);
    return url;
  };
  const run = async (root: PreludeModule) => {
    let url = urls.get(root.path);
    if (url === undefined) {
      loader.count(root);
      url = link(root.path, await loader.collect(root, (path) => urls.has(path)), []);
    }
    return await nativeImport(url) as Record<string, unknown>;
  };
  const native = (text: string, options?: unknown) => nativeImport(shim(text) ?? text, options);
  const hook = async (referrer: string, specifier: unknown, options?: unknown) => {
    const text = String(specifier);
    if (text.startsWith("node:")) return native(text, options);
    return run(await loader.load(referrer, text));
  };
  // `import(expr)` with a name computed at run time: a package it names needs the policy's `dynamicImports`.
  const dynamicHook = async (referrer: string, specifier: unknown, options?: unknown) => {
    const text = String(specifier);
    if (text.startsWith("node:")) return native(text, options);
    return run(await loader.load(referrer, text, text, true));
  };
  Object.defineProperty(hook, "dynamic", { value: dynamicHook });
  Object.defineProperty(globalThis, Symbol.for("agentos.import"), { value: hook, configurable: false });
  const rename = (text: string) => {
    if (names.size === 0 || !text.includes("blob:")) return text;
    return text.replace(/blob:null\/[0-9a-f-]{36}/g, (url) => names.get(url) ?? url);
  };
  return { run, rename };
}
