/**
 * Step a of `packages add`: `deno info --json npm:<spec>` in the store's
 * private `DENO_DIR` resolves the range to an exact version and downloads
 * the whole tree (Deno checks every tarball against the registry's
 * integrity); its JSON names every package of the tree and where it was
 * unpacked. The registry's `dist.integrity` of the package's own tarball is
 * read from the packument Deno cached beside it (`registry.json`).
 *
 * @module
 */

import { packageTreeMax, resolveMsMax } from "./limits.ts";
import { runDeno } from "./deno_command.ts";
import { isExactVersion, type PackageSpec } from "./spec.ts";
import { PackageError } from "./types.ts";

/** One package of a tree, unpacked. */
export interface TreePackage {
  /** `name@version`. */
  id: string;
  name: string;
  version: string;
  /** Where Deno unpacked it (in the store's `DENO_DIR`). */
  localPath: string;
}

/** A resolved tree: the package itself first, then everything it depends on. */
export interface ResolvedTree {
  root: TreePackage;
  /** The registry's `dist.integrity` of the root's tarball. */
  integrity: string;
  /** Every package of the tree, the root first, each once. */
  packages: TreePackage[];
}

/** Options of {@linkcode resolveTree}. */
export interface ResolveOptions {
  /** The store's private `DENO_DIR`. */
  denoDir: string;
  /** Where the subprocess runs (an empty directory). */
  cwd: string;
  /** The npm registry (default: the environment's `NPM_CONFIG_REGISTRY`, else registry.npmjs.org). */
  registryUrl?: string;
  /** @default resolveMsMax */
  timeoutMs?: number;
}

interface InfoJson {
  roots?: string[];
  redirects?: Record<string, string>;
  modules?: { specifier?: string; kind?: string; npmPackage?: string; error?: string }[];
  npmPackages?: Record<string, { name?: string; version?: string; dependencies?: string[]; localPath?: string }>;
}

/**
 * Resolve and download `spec` (see the module doc).
 *
 * @param spec a checked spec
 * @param options the store's `DENO_DIR` and the registry
 * @returns the tree, the root first
 * @throws {PackageError} `not_found` (no such package or version), `registry` (unreachable, or an answer
 *   Deno refused), `too_large` (over `packageTreeMax` packages)
 * @example
 * ```ts
 * import { resolveTree } from "./resolve.ts";
 * const tree = await resolveTree({ name: "lodash", range: "^4" }, { denoDir: "/tmp/s/.cache", cwd: "/tmp/s" });
 * tree.root.version; // the newest 4.x.y, exact
 * ```
 */
export async function resolveTree(spec: PackageSpec, options: ResolveOptions): Promise<ResolvedTree> {
  const shown = spec.range === undefined ? spec.name : `${spec.name}@${spec.range}`;
  const timeoutMs = options.timeoutMs ?? resolveMsMax;
  const env: Record<string, string> = { DENO_DIR: options.denoDir };
  if (options.registryUrl !== undefined) env.NPM_CONFIG_REGISTRY = options.registryUrl;
  // The environment is inherited (proxies, CA settings, ~/.npmrc): this is Deno itself, running no package code.
  const out = await runDeno(["info", "--json", "--no-config", "--no-lock", `npm:${shown}`], {
    env,
    clearEnv: false,
    timeoutMs,
    cwd: options.cwd,
  });
  if (out.timedOut) {
    throw new PackageError("registry", `resolving ${shown} took over ${timeoutMs} ms: check the registry, then retry`);
  }
  if (out.overflowed) throw new PackageError("too_large", `the tree of ${shown} is too large to list`);
  let info: InfoJson;
  try {
    info = JSON.parse(out.stdout);
  } catch {
    throw failure(shown, firstLine(out.stderr) || `deno info exited with ${out.code}`);
  }
  const rootError = info.modules?.find((m) => m.error !== undefined)?.error;
  if (rootError !== undefined) throw failure(shown, rootError);
  const tree = walkTree(shown, info);
  return { ...tree, integrity: await tarballIntegrity(shown, tree.root) };
}

/** A failure of `deno info`, classified by its message: `not_found` or `registry`. */
function failure(shown: string, message: string): PackageError {
  if (/does not exist|could not find npm package|not found|404/i.test(message)) {
    return new PackageError("not_found", `${shown} is not on the registry (${message}): check the name and version`);
  }
  return new PackageError(
    "registry",
    `${shown} could not be fetched (${message}): check that the npm registry is reachable from this machine ` +
      "(NPM_CONFIG_REGISTRY, proxies), then retry",
  );
}

function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("Download")) ?? "";
}

/** The root's key in `npmPackages` and the closure of its dependencies, root first. */
function walkTree(shown: string, info: InfoJson): { root: TreePackage; packages: TreePackage[] } {
  const all = info.npmPackages ?? {};
  const rootSpec = info.roots?.[0];
  const target = rootSpec === undefined ? undefined : info.redirects?.[rootSpec] ?? rootSpec;
  const rootKey = info.modules?.find((m) => m.specifier === target && m.kind === "npm")?.npmPackage;
  if (rootKey === undefined || all[rootKey] === undefined) {
    throw new PackageError("registry", `deno info did not resolve ${shown} to a package: retry, or report this`);
  }
  const packages: TreePackage[] = [];
  const seen = new Set<string>([rootKey]);
  const queue = [rootKey];
  while (queue.length > 0) {
    const key = queue.shift()!;
    const entry = all[key];
    if (entry?.name === undefined || entry.version === undefined || entry.localPath === undefined) {
      throw new PackageError("registry", `deno info gave no unpacked copy of ${key} (in the tree of ${shown}): retry`);
    }
    if (!isExactVersion(entry.version)) throw new PackageError("registry", `${key} has no exact version`);
    const { name, version, localPath } = entry;
    packages.push({ id: `${name}@${version}`, name, version, localPath });
    if (packages.length > packageTreeMax) {
      throw new PackageError("too_large", `the tree of ${shown} has over ${packageTreeMax} packages (packageTreeMax)`);
    }
    for (const dep of entry.dependencies ?? []) {
      if (!seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return { root: packages[0], packages };
}

/** `dist.integrity` of the root's tarball, from the packument Deno cached (`sha1-` from `shasum` for old ones). */
async function tarballIntegrity(shown: string, root: TreePackage): Promise<string> {
  const packument = `${root.localPath.slice(0, root.localPath.lastIndexOf("/"))}/registry.json`;
  try {
    const doc = JSON.parse(await Deno.readTextFile(packument));
    const dist = doc?.versions?.[root.version]?.dist;
    if (typeof dist?.integrity === "string") return dist.integrity;
    if (typeof dist?.shasum === "string" && /^[0-9a-f]{40}$/.test(dist.shasum)) {
      const bytes = dist.shasum.match(/../g)!.map((h: string) => parseInt(h, 16));
      return `sha1-${btoa(String.fromCharCode(...bytes))}`;
    }
  } catch { /* below */ }
  throw new PackageError("registry", `the registry gave no integrity for ${root.id} (resolving ${shown}): retry`);
}
