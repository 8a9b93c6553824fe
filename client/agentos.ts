/**
 * {@linkcode AgentOS}: the client of one server with one key.
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const { stdout, result } = await os.run("console.log('hi'); export default () => 42");
 * ```
 *
 * @module
 */

import { Approvals, Packages, Policies, Scheduler, Tenants, Volumes } from "./admin.ts";
import { Agent, Agents, type RunOptions } from "./agents.ts";
import { type ClientOptions, Http } from "./http.ts";
import { Sessions } from "./sessions.ts";
import { type DroppedEvent, type EventsOptions, tenantEvents } from "./sse.ts";
import type { AgentEvent, AgentRecord } from "./types.ts";

/**
 * The agentos client: agents, sessions, volumes, policies, and (with the
 * admin key) tenants and packages. Every method answers the API's JSON or
 * throws a typed error (`Unauthorized`, `NotFound`, ...).
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const agent = await os.spawn("export default async () => 1");
 * for await (const e of agent.events()) if (e.type === "exit") console.log("done");
 * ```
 */
export class AgentOS {
  /** Agents: spawn, run, list, get. */
  readonly agents: Agents;
  /** Sessions: create, get, list. */
  readonly sessions: Sessions;
  /** Volumes: create, list, get, delete, files. */
  readonly volumes: Volumes;
  /** Policies: tenant (admin) and agent put, explain. */
  readonly policies: Policies;
  /** Tenants (admin key): create, list, patch, rotate a key. */
  readonly tenants: Tenants;
  /** The package store (admin key): add, list, remove. */
  readonly packages: Packages;
  /** Calls policy `ask` rules hold for a person: list, get, decide. */
  readonly approvals: Approvals;
  /** The scheduler (admin key): get, set. */
  readonly scheduler: Scheduler;
  readonly #http: Http;

  /**
   * @param options `url` of the server, `apiKey`, and optionally a `fetch`
   * @throws {TypeError} for a url that is not http(s) or a missing key
   */
  constructor(options: ClientOptions) {
    const http = new Http(options);
    this.#http = http;
    this.agents = new Agents(http);
    this.sessions = new Sessions(http);
    this.volumes = new Volumes(http);
    this.policies = new Policies(http);
    this.tenants = new Tenants(http);
    this.packages = new Packages(http);
    this.scheduler = new Scheduler(http);
    this.approvals = new Approvals(http);
  }

  /**
   * Run code as an agent to its end.
   *
   * @param code a module (`export default` is called) or a script
   * @param options lang, capabilities, limits, files, policy, volumes, priority, trace, signal, ...
   * @returns its record: id, reason, exitCode, result, stdout, stderr, usage, ...
   * @throws {BadRequest} for options the server refuses; {@linkcode RateLimited} over a quota
   */
  run(code: string, options: RunOptions = {}): Promise<AgentRecord> {
    return this.agents.run(code, options);
  }

  /**
   * Start code as an agent and return a handle at once.
   *
   * @returns an {@linkcode Agent}: `wait()`, `kill()`, `output()`, `events()`, `files`
   */
  spawn(code: string, options: RunOptions = {}): Promise<Agent> {
    return this.agents.spawn(code, options);
  }

  /** A handle on an existing agent by id (no request is made). */
  agent(id: string): Agent {
    return this.agents.get(id);
  }

  /**
   * The tenant's live event stream (an admin key: every tenant's), from now
   * (or after `after`) until `signal` aborts; reconnects with `Last-Event-ID`.
   *
   * @example
   * ```ts
   * for await (const e of os.events({ errors: true })) console.log(e.type, e.agentId);
   * ```
   */
  events(options: Omit<EventsOptions, "types"> & { types?: string[] } = {}): AsyncGenerator<AgentEvent | DroppedEvent> {
    return tenantEvents(this.#http, options);
  }
}
