/**
 * The resource groups of {@linkcode AgentOS} besides agents and sessions:
 * {@linkcode Volumes}, {@linkcode Policies}, and the admin-only
 * {@linkcode Tenants} and {@linkcode Packages}.
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const admin = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "admin_..." });
 * const { id, apiKey } = await admin.tenants.create({ name: "acme" });
 * ```
 *
 * @module
 */

import type { ApprovalView } from "../api/mod.ts";
import { Files } from "./files.ts";
import { type Http, seg } from "./http.ts";
import type {
  ExplainRequest,
  PolicyDocument,
  Quotas,
  SchedulerPolicy,
  StoredPackage,
  TenantCreate,
  TenantInfo,
  VolumeCreate,
  VolumeInfo,
} from "./types.ts";

/**
 * The tenant's volumes: named directories that outlive agents and can be mounted into them.
 *
 * @example
 * ```ts
 * await os.volumes.create({ name: "datasets" });
 * await os.volumes.files("datasets").upload("a.csv", "x,y\n");
 * ```
 */
export class Volumes {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /** Create a volume (`quotaBytes`, `quotaFiles` optional). */
  create(body: VolumeCreate): Promise<VolumeInfo> {
    return this.#http.json("POST", "/v1/volumes", { json: body });
  }

  /** The tenant's volumes. */
  async list(): Promise<VolumeInfo[]> {
    return (await this.#http.json<{ volumes: VolumeInfo[] }>("GET", "/v1/volumes")).volumes;
  }

  /** One volume (usage, mounts). */
  get(name: string): Promise<VolumeInfo> {
    return this.#http.json("GET", `/v1/volumes/${seg(name)}`);
  }

  /**
   * Delete a volume and its files.
   *
   * @throws {Conflict} while a running agent mounts it
   */
  delete(name: string): Promise<{ name: string; deleted: boolean }> {
    return this.#http.json("DELETE", `/v1/volumes/${seg(name)}`);
  }

  /** The files of a volume. */
  files(name: string): Files {
    return new Files(this.#http, `/v1/volumes/${seg(name)}`);
  }
}

/**
 * Policies: the tenant's (admin), an agent's own (it can only narrow), and `explain`.
 *
 * @example
 * ```ts
 * const why = await os.policies.explain({ request: { call: "net.fetch", host: "example.com" } });
 * ```
 */
export class Policies {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /** Set (or with `null` clear) a tenant's policy, live (admin key). */
  putTenant(tenantId: string, policy: PolicyDocument): Promise<unknown> {
    return this.#http.json("PUT", `/v1/tenants/${seg(tenantId)}/policy`, { json: policy });
  }

  /** Set (or with `null` clear) an agent's own policy, live. */
  putAgent(agentId: string, policy: PolicyDocument): Promise<unknown> {
    return this.#http.json("PUT", `/v1/agents/${seg(agentId)}/policy`, { json: policy });
  }

  /**
   * Would this call (or import) be allowed, and by which rule.
   *
   * @throws {BadRequest} `invalid_policy` for a policy document that does not validate
   */
  explain(body: ExplainRequest): Promise<Record<string, unknown>> {
    return this.#http.json("POST", "/v1/policy/explain", { json: body });
  }
}

/**
 * Tenants (admin key): create, list, change quotas, rotate keys.
 *
 * @example
 * ```ts
 * const t = await admin.tenants.create({ name: "acme", quotas: { agentsConcurrentMax: 4 } });
 * const { apiKey } = await admin.tenants.rotateKey(t.id);
 * ```
 */
export class Tenants {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /** Create a tenant; the answer holds its first API key (shown once). */
  create(body: TenantCreate): Promise<{ id: string; name: string; apiKey: string }> {
    return this.#http.json("POST", "/v1/tenants", { json: body });
  }

  /** Every tenant. */
  async list(): Promise<TenantInfo[]> {
    return (await this.#http.json<{ tenants: TenantInfo[] }>("GET", "/v1/tenants")).tenants;
  }

  /** Change a tenant's quotas. */
  patch(id: string, body: { quotas: Quotas }): Promise<TenantInfo> {
    return this.#http.json("PATCH", `/v1/tenants/${seg(id)}`, { json: body });
  }

  /** A new API key for the tenant (shown once). */
  rotateKey(id: string): Promise<{ id: string; apiKey: string }> {
    return this.#http.json("POST", `/v1/tenants/${seg(id)}/keys`);
  }
}

/**
 * The package store (admin key): npm packages agents may import, one pinned version each.
 *
 * @example
 * ```ts
 * const pkg = await admin.packages.add("lodash@4.17.21");
 * ```
 */
export class Packages {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /**
   * Add a package (`name`, `name@range`, `@scope/name@range`): fetched, checked and bundled.
   *
   * @throws {BadRequest} 422 `install_script`, `native_addon`, `bundle_failed`; {@linkcode ServerError} 502
   */
  add(spec: string): Promise<StoredPackage> {
    return this.#http.json("POST", "/v1/packages", { json: { spec } });
  }

  /** The stored packages. */
  async list(): Promise<StoredPackage[]> {
    return (await this.#http.json<{ packages: StoredPackage[] }>("GET", "/v1/packages")).packages;
  }

  /** Remove a package by name (`lodash`, `@scope/name`). */
  remove(name: string): Promise<{ name: string; removed: boolean }> {
    return this.#http.json("DELETE", `/v1/packages/${seg(name)}`);
  }
}

/**
 * The scheduler (admin key): its policy and each tenant's service.
 *
 * @example
 * ```ts
 * await admin.scheduler.set("priority");
 * console.log((await admin.scheduler.get()).policy); // "priority"
 * ```
 */
export class Scheduler {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /** The policy and per-tenant service. */
  get(): Promise<{ policy: SchedulerPolicy; [more: string]: unknown }> {
    return this.#http.json("GET", "/v1/scheduler");
  }

  /** Switch the scheduling policy, live. */
  set(policy: SchedulerPolicy): Promise<{ policy: SchedulerPolicy; [more: string]: unknown }> {
    return this.#http.json("PUT", "/v1/scheduler", { json: { policy } });
  }
}

/**
 * Approvals: the calls a policy `ask` rule holds until a person decides.
 *
 * @example
 * ```ts
 * for (const a of await os.approvals.list()) {
 *   await os.approvals.decide(a.id, a.paths.every((p) => p.startsWith("out/")) ? "allow" : "deny");
 * }
 * ```
 */
export class Approvals {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /** The tenant's open approvals (an admin's: every tenant's), oldest first. */
  async list(): Promise<ApprovalView[]> {
    return (await this.#http.json<{ approvals: ApprovalView[] }>("GET", "/v1/approvals")).approvals;
  }

  /** One approval, open or recently decided. */
  get(id: string): Promise<ApprovalView> {
    return this.#http.json("GET", `/v1/approvals/${seg(id)}`);
  }

  /** Allow or deny the waiting call (`Conflict` once it is decided). */
  decide(id: string, decision: "allow" | "deny", note?: string): Promise<ApprovalView> {
    return this.#http.json("POST", `/v1/approvals/${seg(id)}`, {
      json: note === undefined ? { decision } : { decision, note },
    });
  }
}
