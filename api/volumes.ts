/**
 * Volumes for the API: per-tenant named directories that outlive agents.
 * Their records (name, quota) live in the store; their files and live
 * usage in the runtime's `VolumeSet` (`runtime.workspaces.volumes`), which
 * the store's records are loaded into at start (usage recomputed from
 * disk). Create and delete are durable before they are answered: the
 * record and its audit row commit in one transaction.
 *
 * @module
 */

import type { Subject } from "../observability/mod.ts";
import type { Runtime } from "../sandbox/mod.ts";
import type { Volume } from "../sandbox/fs/mod.ts";
import { confinePath } from "../sandbox/path/mod.ts";
import { ApiError } from "./api_error.ts";
import type { AuditLog } from "./audit_log.ts";
import { type FileScope, fileScope } from "./files.ts";
import { now } from "./ids.ts";
import { volumeQuotaBytesDefault, volumeQuotaFilesDefault, volumesPerTenantMax } from "./limits.ts";
import type { Store, VolumeRow } from "./store.ts";
import type { Principal } from "./tenant_keys.ts";

/** What the API answers for a volume. */
export interface VolumeView {
  name: string;
  quotaBytes: number;
  quotaFiles: number;
  usedBytes: number;
  usedFiles: number;
  createdAt: string;
  /** Running agents that mount it now (a volume with mounts cannot be deleted). */
  mounts: number;
}

/** The volume half of the service. */
export class VolumeService {
  #runtime: Runtime;
  #store: Store;
  #audit: AuditLog;
  /** Names being created (tenant/name): a second create of one answers 409 at once. */
  #creating = new Set<string>();

  constructor(runtime: Runtime, store: Store, audit: AuditLog) {
    this.#runtime = runtime;
    this.#store = store;
    this.#audit = audit;
  }

  /**
   * At start: register every stored volume (its usage recomputed from
   * disk) and remove directories no record names (a delete a crash cut
   * short). Returns how many volumes were loaded.
   */
  async load(): Promise<number> {
    const set = this.#runtime.workspaces.volumes;
    const rows = this.#store.volumes.list(null);
    for (const row of rows) await set.open(row.tenantId, row.name, row);
    for (const tenant of await set.tenantDirs()) await set.removeStale(tenant);
    return rows.length;
  }

  /**
   * Create a volume for the caller's tenant.
   *
   * @throws {ApiError} 409 `volume_exists`, 409 `quota_volumes`; a store failure (503)
   */
  async create(p: Principal, body: { name: string; quotaBytes?: number; quotaFiles?: number }): Promise<VolumeView> {
    const tenantId = p.tenant.id;
    const rows = this.#store.volumes.list(tenantId);
    const key = `${tenantId}/${body.name}`;
    if (rows.some((r) => r.name === body.name) || this.#creating.has(key)) {
      throw new ApiError(409, "volume_exists", `volume ${body.name} exists; pick another name or delete it first`);
    }
    if (rows.length + this.#creating.size >= volumesPerTenantMax) {
      throw new ApiError(
        409,
        "quota_volumes",
        `the tenant holds ${rows.length} volumes (volumesPerTenantMax ${volumesPerTenantMax}); delete one first`,
      );
    }
    const row: VolumeRow = {
      tenantId,
      name: body.name,
      quotaBytes: body.quotaBytes ?? volumeQuotaBytesDefault,
      quotaFiles: body.quotaFiles ?? volumeQuotaFilesDefault,
      createdAt: now(),
    };
    this.#creating.add(key);
    try {
      const volume = await this.#runtime.workspaces.volumes.open(tenantId, body.name, row);
      try {
        this.#store.transaction(() => {
          this.#store.volumes.insert(row);
          this.#audit.write(tenantId, p.tenant.id, "volume.created", body.name, {
            quotaBytes: row.quotaBytes,
            quotaFiles: row.quotaFiles,
          });
        });
      } catch (err) {
        const set = this.#runtime.workspaces.volumes;
        if (volume.mounts === 0 && set.detach(tenantId, body.name)) await set.destroy(volume);
        throw err;
      }
      return view(row, volume);
    } finally {
      this.#creating.delete(key);
    }
  }

  /** The caller's volumes, by name. */
  list(p: Principal): VolumeView[] {
    return this.#store.volumes.list(p.tenant.id).map((row) => view(row, this.#live(row)));
  }

  /** One of the caller's volumes. @throws {ApiError} 404 */
  get(p: Principal, name: string): VolumeView {
    const row = this.#row(p, name);
    return view(row, this.#live(row));
  }

  /**
   * Delete one of the caller's volumes and its files.
   *
   * @throws {ApiError} 404, 409 `volume_in_use` while a running agent mounts it; a store failure (503)
   */
  async delete(p: Principal, name: string): Promise<void> {
    const row = this.#row(p, name);
    const set = this.#runtime.workspaces.volumes;
    const volume = this.#live(row);
    if (volume.mounts > 0) {
      throw new ApiError(
        409,
        "volume_in_use",
        `volume ${name} is mounted by ${volume.mounts} running agent(s); kill them or wait for them to end`,
      );
    }
    set.detach(row.tenantId, name); // no spawn can mount it from here on
    try {
      this.#store.transaction(() => {
        this.#store.volumes.delete(row.tenantId, name);
        this.#audit.write(row.tenantId, p.tenant.id, "volume.deleted", name, { usedBytes: volume.usedBytes });
      });
    } catch (err) {
      set.reattach(volume);
      throw err;
    }
    await set.destroy(volume);
  }

  /** The files scope of one of the caller's volumes (tenant-level events). @throws {ApiError} 404 */
  scope(p: Principal, name: string): FileScope {
    const volume = this.#live(this.#row(p, name));
    const subject: Subject = { pid: 0, uid: 0, tenant: volume.tenant, causality: 0 };
    return fileScope({
      runtime: this.#runtime,
      subject,
      what: `volume ${name}`,
      resolve: async (raw, access) => ({ checked: await confinePath(volume.root, raw, access), account: volume }),
    });
  }

  #row(p: Principal, name: string): VolumeRow {
    const row = this.#store.volumes.list(p.tenant.id).find((r) => r.name === name);
    if (row === undefined) throw new ApiError(404, "not_found", `no volume ${JSON.stringify(name.slice(0, 64))}`);
    return row;
  }

  #live(row: VolumeRow): Volume {
    const volume = this.#runtime.workspaces.volumes.get(row.tenantId, row.name);
    if (volume === undefined) throw new ApiError(404, "not_found", `no volume ${row.name}`);
    return volume;
  }
}

function view(row: VolumeRow, volume: Volume): VolumeView {
  return {
    name: row.name,
    quotaBytes: row.quotaBytes,
    quotaFiles: row.quotaFiles,
    usedBytes: volume.usedBytes,
    usedFiles: volume.usedFiles,
    createdAt: row.createdAt,
    mounts: volume.mounts,
  };
}
