/**
 * Limits of the package store, named with their unit last. Re-exported by
 * the root `limits.ts`; the relations between them are asserted here.
 *
 * Every step of `packages add` that runs a `deno` subprocess is bounded in
 * time (the subprocess is killed past it) and in output (stdout past its cap
 * kills it too); every walk over a package tree is bounded in entries.
 *
 * @module
 */

import { assert } from "../../lib/mod.ts";

/**
 * Largest bundle (one package with all its dependencies), bytes. Over it
 * `add` refuses with `too_large`; a stored file over it fails `integrity`.
 *
 * @default 8388608 (8 MiB)
 */
export const packageBytesMax = 8 * 1024 * 1024;

/**
 * Verified bundle text the store keeps in memory (least recently used
 * dropped first), bytes.
 *
 * @default 67108864 (64 MiB)
 */
export const packageCacheBytesMax = 64 * 1024 * 1024;

/**
 * Longest spec `add` accepts (`@scope/name@range`), characters; checked
 * before any parsing.
 *
 * @default 300
 */
export const packageSpecCharsMax = 300;

/**
 * Longest package name (npm's own rule), characters.
 *
 * @default 214
 */
export const packageNameCharsMax = 214;

/**
 * Longest version range or dist-tag of a spec, characters.
 *
 * @default 64
 */
export const packageRangeCharsMax = 64;

/**
 * Packages in one package's tree (itself and everything it depends on).
 * Over it `add` refuses with `too_large`.
 *
 * @default 1000
 */
export const packageTreeMax = 1000;

/**
 * Files and directories the native-addon check walks in one tree. Over it
 * `add` refuses with `too_large`.
 *
 * @default 200000
 */
export const packageTreeEntriesMax = 200_000;

/**
 * Named exports one package may have. Over it `add` refuses with `too_large`.
 *
 * @default 10000
 */
export const packageExportsMax = 10_000;

/**
 * Packages one store holds. Over it `add` of a new name refuses with `too_large`.
 *
 * @default 10000
 */
export const storePackagesMax = 10_000;

/**
 * Largest `index.json` the store reads, bytes (10,000 entries of ~2 KB).
 *
 * @default 33554432 (32 MiB)
 */
export const storeIndexBytesMax = 32 * 1024 * 1024;

/**
 * How long `deno info` may take to resolve and download one package tree, ms.
 *
 * @default 180000 (3 min)
 */
export const resolveMsMax = 180_000;

/**
 * How long listing a package's exports may take (its top-level code runs,
 * with no permission), ms.
 *
 * @default 30000
 */
export const exportsMsMax = 30_000;

/**
 * Heap of the process that lists a package's exports, MB.
 *
 * @default 512
 */
export const exportsHeapMbMax = 512;

/**
 * How long `deno bundle` may take, ms.
 *
 * @default 120000 (2 min)
 */
export const bundleMsMax = 120_000;

/**
 * Largest stdout kept of one `deno` subprocess, bytes (`deno info --json`
 * of a big tree is the largest). Past it the subprocess is killed.
 *
 * @default 33554432 (32 MiB)
 */
export const subprocessOutputBytesMax = 32 * 1024 * 1024;

/**
 * Largest stderr kept of one `deno` subprocess, bytes (the rest is dropped:
 * its head names the problem).
 *
 * @default 65536
 */
export const subprocessErrorBytesMax = 64 * 1024;

/**
 * How long an add or remove waits for the store's lock (held by another
 * process only while it installs: a rename and an index write), ms. Past it
 * the call fails with `busy`.
 *
 * @default 60000
 */
export const storeLockWaitMsMax = 60_000;

/**
 * Integrity mismatches remembered so that each (file, hash) is logged once.
 *
 * @default 1024
 */
export const integrityLoggedMax = 1024;

assert(packageBytesMax <= packageCacheBytesMax, "packages: one bundle fits the in-memory cache");
assert(
  packageNameCharsMax + 1 + packageRangeCharsMax <= packageSpecCharsMax,
  "packages: a name and a range fit a spec",
);
assert(packageBytesMax <= subprocessOutputBytesMax, "packages: the largest bundle fits a subprocess's output");
