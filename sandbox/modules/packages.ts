/**
 * Packages of the store in an agent's module graph: a package specifier
 * (`"lodash"`, `"npm:zod@^3"`) resolves to the store's pinned version, is
 * checked against the agent's imports policy, and loads as one module (the
 * bundle the store made at `packages add`), cut at its `node:` imports
 * like any module. Every load is an `import` event of the agent.
 *
 * The checks run where the Worker cannot skip them: when the supervisor
 * prepares the main module (before the agent's code runs) and in
 * `mod.load`, the only way a package reaches the Worker.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import type { Process } from "../../kernel/process/mod.ts";
import type { ImportRequest } from "../policy/mod.ts";
import type { PackageError, StoredPackage } from "../packages/mod.ts";
import { type PreparedModule, prepareModule } from "./prepare.ts";
import { importTarget } from "./specifier.ts";
import { satisfies } from "../../lib/mod.ts";
import { packageModulesCachedMax } from "./limits.ts";

/** What the loader reads packages from (a `PackageStore`). */
export interface PackageSource {
  get(name: string): Promise<StoredPackage | undefined>;
  /** The bundle's text, its SHA-256 checked against the index. */
  source(pkg: StoredPackage): Promise<string>;
}

/** What resolving a package needs from the runtime. */
export interface PackageDeps {
  /** The store; `null` when the server has none. */
  store: PackageSource | null;
  /** The agent's imports policy: a refusal with its message, or null. */
  decide(proc: Process, req: ImportRequest): { message: string; ruleId: string } | null;
  /** A package was loaded into the agent's graph. */
  imported(proc: Process, pkg: StoredPackage, specifier: string): void;
}

/** Resolves and loads packages for agents. */
export class Packages {
  readonly #deps: PackageDeps;
  /** Bundles cut at their imports, by SHA-256: a package is analysed once per content, not per agent. */
  readonly #prepared = new Map<string, Promise<PreparedModule>>();

  constructor(deps: PackageDeps) {
    this.#deps = deps;
  }

  /** The stored package `name` within `range`, or why there is none (for `explain`). */
  async find(
    name: string,
    range: string | null,
  ): Promise<{ ok: true; found: StoredPackage } | { ok: false; message: string }> {
    try {
      return { ok: true, found: await this.#stored(name, range) };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * The stored package `name` (within `range`) that `proc` may import.
   *
   * @throws {KernelError} `ENOENT` (not in the store, or not that version), `EPERM` (the policy), `EIO` (tampered bundle)
   */
  async resolve(proc: Process, name: string, range: string | null, dynamic: boolean): Promise<StoredPackage> {
    const pkg = await this.#stored(name, range);
    const refused = this.#deps.decide(proc, { name, version: pkg.version, dynamic });
    if (refused !== null) throw new KernelError("EPERM", refused.message);
    return pkg;
  }

  async #stored(name: string, range: string | null): Promise<StoredPackage> {
    const wanted = range === null ? name : `${name}@${range}`;
    const store = this.#deps.store;
    const pkg = store === null ? undefined : await store.get(name);
    if (pkg === undefined) {
      throw new KernelError(
        "ENOENT",
        `package ${wanted} is not in this server's package store; an operator adds it with ` +
          `\`deno task packages add ${wanted}\` (or POST /v1/packages)`,
      );
    }
    if (range !== null && !satisfies(pkg.version, range)) {
      throw new KernelError(
        "ENOENT",
        `package ${wanted} is not in this server's package store (it pins ${name}@${pkg.version}); import ` +
          `${JSON.stringify(name)}, or an operator adds it with \`deno task packages add ${wanted}\``,
      );
    }
    return pkg;
  }

  /**
   * `prepared` with each package dependency resolved to its pinned version
   * (`npm:lodash` → `npm:lodash@4.17.21`), and every literal `import("pkg")`
   * checked too: a refused import fails before any of the agent's code runs.
   */
  async resolveDeps(proc: Process, prepared: PreparedModule): Promise<PreparedModule> {
    if (!prepared.deps.some((d) => d.startsWith("npm:")) && (prepared.lazy ?? []).length === 0) return prepared;
    const deps = await Promise.all(prepared.deps.map(async (dep) => {
      if (!dep.startsWith("npm:")) return dep;
      const { name, range } = splitDep(dep);
      const pkg = await this.resolve(proc, name, range, false);
      return `npm:${pkg.name}@${pkg.version}`;
    }));
    for (const dep of prepared.lazy ?? []) {
      const { name, range } = splitDep(dep);
      try {
        await this.resolve(proc, name, range, false);
      } catch (err) {
        // Only the policy refuses early: a missing package fails when (if) the import runs.
        if (err instanceof KernelError && err.code === "EPERM") throw err;
      }
    }
    return { ...prepared, deps };
  }

  /** The module of a package `proc` imports (recorded as its `import` event). */
  async load(proc: Process, pkg: StoredPackage, specifier: string): Promise<PreparedModule> {
    let prepared = this.#prepared.get(pkg.sha256);
    if (prepared === undefined) {
      prepared = this.#deps.store!.source(pkg).then((source) =>
        prepareModule(`npm:${pkg.name}@${pkg.version}`, source, "js")
      ).catch((err) => {
        this.#prepared.delete(pkg.sha256);
        // The store's own message names host paths: the agent is told what happened, the operator's log has the rest.
        if ((err as PackageError)?.name === "PackageError") {
          throw new KernelError(
            "EIO",
            `package ${pkg.name}@${pkg.version} failed the store's integrity check and is not loaded; an operator ` +
              `must add it again (\`deno task packages add ${pkg.name}@${pkg.version}\`)`,
          );
        }
        throw err;
      });
      this.#prepared.set(pkg.sha256, prepared);
      if (this.#prepared.size > packageModulesCachedMax) this.#prepared.delete(this.#prepared.keys().next().value!);
    }
    const module = await prepared;
    this.#deps.imported(proc, pkg, specifier);
    return module;
  }
}

/** The name and range of a package dependency key (`npm:name[@range]`, as `prepareModule` wrote it). */
function splitDep(dep: string): { name: string; range: string | null } {
  const target = importTarget(dep);
  if (target.kind !== "package") throw new KernelError("EINVAL", `not a package dependency: ${dep}`);
  return target;
}
