/**
 * Helpers of the package store's tests: assert a `PackageError` by its
 * code, and a fresh (empty, not yet existing) store directory.
 */
import assert from "node:assert/strict";
import { PackageError } from "../../../sandbox/packages/mod.ts";

/** Assert that `promise` rejects with a `PackageError` of `code`; returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<PackageError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof PackageError, `expected a PackageError ${code}, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** A path under a fresh temp dir where no store exists yet; `cleanup` removes it all. */
export async function freshStoreDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const parent = await Deno.makeTempDir({ prefix: "agentos-store-" });
  return { dir: `${parent}/packages`, cleanup: () => Deno.remove(parent, { recursive: true }) };
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
