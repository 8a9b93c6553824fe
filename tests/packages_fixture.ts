/**
 * One real package store per machine for the tests: `lodash@4.17.21`,
 * `zod@3.23.8` and `date-fns@3.6.0`, added through the store itself (the
 * registry is reached by its `deno` subprocesses). It lives under the
 * system temp dir in a directory keyed by that list and the Deno version,
 * is built under a lock (parallel test files wait for one build), and is
 * reused by later test processes while its index still verifies.
 *
 * Tests only read it; a test that changes a store copies what it needs
 * first (`copyStore`) or adds into a fresh directory.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { PackageStore } from "../sandbox/packages/mod.ts";

/** The packages of the shared store, pinned. */
export const fixturePackages = ["date-fns@3.6.0", "lodash@4.17.21", "zod@3.23.8"] as const;

let building: Promise<string> | undefined;

async function fixtureDir(): Promise<string> {
  const key = `${fixturePackages.join(",")} deno ${Deno.version.deno} v1`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  const hex = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${tmpdir()}/agentos-test-packages-${hex}`;
}

/** Whether `dir` holds exactly the fixture's packages and every bundle verifies. */
async function usable(dir: string): Promise<boolean> {
  try {
    const store = new PackageStore(dir, { log: () => {} });
    const listed = (await store.list()).map((p) => `${p.name}@${p.version}`);
    if (listed.join(",") !== fixturePackages.join(",")) return false;
    return (await store.verify()).every((r) => r.ok);
  } catch {
    return false;
  }
}

async function build(): Promise<string> {
  const dir = await fixtureDir();
  const lock = await Deno.open(`${dir}.lock`, { read: true, write: true, create: true });
  try {
    await lock.lock(true);
    if (await usable(dir)) return dir;
    const staging = `${dir}.build-${crypto.randomUUID()}`;
    const store = new PackageStore(staging);
    for (const spec of fixturePackages) await store.add(spec);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(staging, dir);
    return dir;
  } finally {
    lock.close();
  }
}

/**
 * The shared store's directory (built on first use; see the module doc).
 *
 * @returns a directory that holds the three fixture packages (read it, never change it)
 * @example
 * ```ts
 * const store = new PackageStore(await testPackageStore());
 * (await store.get("lodash"))?.version; // "4.17.21"
 * ```
 */
export function testPackageStore(): Promise<string> {
  building ??= build();
  return building;
}

/**
 * A private copy of the shared store's index and bundles (not its download
 * cache) in a fresh temp dir, for tests that change or damage a store.
 *
 * @returns the copy's directory (the caller removes it)
 */
export async function copyStore(): Promise<string> {
  const from = await testPackageStore();
  const to = await Deno.makeTempDir({ prefix: "agentos-store-" });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isFile && (entry.name === "index.json" || entry.name.endsWith(".js"))) {
      await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
  }
  return to;
}
