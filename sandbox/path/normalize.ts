/**
 * Lexical checks of a guest path: no I/O, no host knowledge.
 *
 * A guest path is workspace-relative POSIX. Refused (EACCES): NUL bytes,
 * absolute paths (`/x`, `\x`, `C:`), `..` that climbs above the root,
 * over-long paths and too many segments. Nothing is decoded: `%2e%2e` or a
 * full-width dot is an ordinary file name on Linux and cannot escape.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { pathBytesMax, pathSegmentsMax } from "../../kernel/mod.ts";

const encoder = new TextEncoder();

/**
 * Normalise `raw` to its segments beneath the root.
 *
 * @returns the segments (empty for the root itself)
 * @throws {KernelError} `EACCES` on any escape or oversize, `EINVAL` if not a string
 * @example
 * ```ts
 * normalizeGuestPath("a/./b/../c"); // ["a", "c"]
 * normalizeGuestPath("../etc/passwd"); // throws EACCES
 * ```
 */
export function normalizeGuestPath(raw: unknown): string[] {
  if (typeof raw !== "string") throw new KernelError("EINVAL", "path must be a string");
  if (raw.length > pathBytesMax || encoder.encode(raw).length > pathBytesMax) {
    throw new KernelError("EACCES", `path longer than ${pathBytesMax} bytes`);
  }
  if (raw.includes("\0")) throw new KernelError("EACCES", "path contains a NUL byte");
  if (raw.startsWith("/") || raw.startsWith("\\") || /^[A-Za-z]:/.test(raw)) {
    throw new KernelError("EACCES", "absolute paths are not allowed; paths are relative to the workspace");
  }
  const out: string[] = [];
  for (const segment of raw.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length === 0) throw new KernelError("EACCES", "path escapes the workspace");
      out.pop();
      continue;
    }
    out.push(segment);
  }
  if (out.length > pathSegmentsMax) {
    throw new KernelError("EACCES", `path deeper than ${pathSegmentsMax} segments`);
  }
  return out;
}
