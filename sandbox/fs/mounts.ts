/**
 * Mounts: volumes placed at a path of an agent's workspace. A guest path is
 * normalised first (so `data/../x` is the workspace's `x` and `x/../data/y`
 * is in the volume at `data`); a path at or beneath a mount point is then
 * confined to the volume's root instead of the workspace's — the same
 * `CheckedPath` rules (no `..` above the volume's root, no absolute path,
 * no symlink that resolves outside the volume) — and carries the mount
 * point so policy globs still match the path the agent named.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import type { CheckedPath, PathAccess } from "../../kernel/syscall/mod.ts";
import { confinePath, normalizeGuestPath } from "../path/mod.ts";
import { mountsPerAgentMax } from "../limits.ts";
import type { Volume, VolumeSet } from "./volumes.ts";

/** What a spawn asks for: volume `name` at workspace-relative `path`. */
export interface MountSpec {
  name: string;
  path: string;
  readOnly?: boolean;
}

/** A volume mounted into one agent's workspace. */
export interface Mount {
  /** The mount point, normalised (`data/in`). */
  readonly path: string;
  readonly segments: readonly string[];
  readonly volume: Volume;
  readonly readOnly: boolean;
}

/** A path confined for an agent: the checked path, the root it is under, and the mount it lies in. */
export interface ResolvedPath {
  checked: CheckedPath;
  root: string;
  mount?: Mount;
}

/**
 * Check the specs and take a mount of each volume (its `mounts` count goes
 * up: a mounted volume cannot be deleted). Synchronous, so a delete cannot
 * slip in between the check and the count.
 *
 * @param volumes the registered volumes
 * @param tenant the agent's tenant (another tenant's volume is not found)
 * @param specs what the spawn asks for
 * @returns the mounts; give them back with {@linkcode releaseMounts}
 * @throws {KernelError} `EINVAL` (bad path, overlap, too many), `ENOENT` (no such volume)
 * @example
 * ```ts
 * const mounts = takeMounts(volumes, "acme", [{ name: "data", path: "data" }]);
 * ```
 */
export function takeMounts(volumes: VolumeSet, tenant: string, specs: readonly MountSpec[]): Mount[] {
  if (specs.length > mountsPerAgentMax) {
    throw new KernelError("EINVAL", `volumes: at most ${mountsPerAgentMax} mounts (mountsPerAgentMax)`);
  }
  const mounts: Mount[] = [];
  for (const [i, spec] of specs.entries()) {
    const segments = mountSegments(spec.path, i);
    const path = segments.join("/");
    for (const other of mounts) {
      if (isPrefix(other.segments, segments) || isPrefix(segments, other.segments)) {
        throw new KernelError("EINVAL", `volumes[${i}].path: ${path} overlaps the mount at ${other.path}`);
      }
    }
    const volume = volumes.get(tenant, spec.name);
    if (volume === undefined) {
      throw new KernelError("ENOENT", `volumes[${i}]: no volume ${JSON.stringify(spec.name.slice(0, 64))}`);
    }
    mounts.push(Object.freeze({ path, segments, volume, readOnly: spec.readOnly ?? false }));
  }
  for (const mount of mounts) mount.volume.mounts++;
  return mounts;
}

/** Give back the mounts {@linkcode takeMounts} took. */
export function releaseMounts(mounts: readonly Mount[]): void {
  for (const mount of mounts) mount.volume.mounts = Math.max(0, mount.volume.mounts - 1);
}

/**
 * Confine `raw` for an agent whose workspace is `root` with `mounts`.
 *
 * @throws {KernelError} `EROFS` writing to a read-only mount; otherwise what {@linkcode confinePath} throws
 */
export async function resolveMounted(
  root: string,
  mounts: readonly Mount[],
  raw: unknown,
  access: PathAccess,
): Promise<ResolvedPath> {
  const segments = normalizeGuestPath(raw);
  const mount = mounts.find((m) => isPrefix(m.segments, segments));
  if (mount === undefined) return { checked: await confinePath(root, segments.join("/"), access), root };
  if (access === "write" && mount.readOnly) {
    throw new KernelError(
      "EROFS",
      `the volume ${mount.volume.name} is mounted at ${mount.path} with readOnly: true; nothing was written`,
    );
  }
  const rest = segments.slice(mount.segments.length).join("/");
  const checked = await confinePath(mount.volume.root, rest, access, mount.path);
  return { checked, root: mount.volume.root, mount };
}

function mountSegments(raw: string, i: number): string[] {
  if (typeof raw !== "string" || raw.split("/").includes("..")) {
    throw new KernelError("EINVAL", `volumes[${i}].path must be a relative path without ..`);
  }
  let segments: string[];
  try {
    segments = normalizeGuestPath(raw);
  } catch (err) {
    throw new KernelError("EINVAL", `volumes[${i}].path: ${err instanceof Error ? err.message : err}`);
  }
  if (segments.length === 0) throw new KernelError("EINVAL", `volumes[${i}].path cannot be the workspace root`);
  return segments;
}

function isPrefix(prefix: readonly string[], segments: readonly string[]): boolean {
  if (prefix.length > segments.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== segments[i]) return false;
  return true;
}
