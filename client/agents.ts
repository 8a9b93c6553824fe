/**
 * Agents: {@linkcode Agent} is a handle on one (status, wait, kill, output,
 * events, files, policy); {@linkcode Agents} spawns, runs and lists them.
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const agent = await os.spawn("export default async () => { console.log('hi'); return 42; }");
 * const done = await agent.wait();
 * done.result; // 42
 * ```
 *
 * @module
 */

import { Files } from "./files.ts";
import { type Http, seg } from "./http.ts";
import { agentEvents, type DroppedEvent, type EventsOptions } from "./sse.ts";
import type { AgentEvent, AgentRecord, AgentStatus, PolicyDocument, SpawnOptions } from "./types.ts";

/** What `run` and `spawn` take besides the code: a spawn body's fields, plus a signal to stop waiting. */
export type RunOptions = SpawnOptions & {
  /** Stops the request (the agent itself keeps running unless killed). */
  signal?: AbortSignal;
};

/** `ps` filters. */
export interface ListOptions {
  state?: "Running" | "Zombie";
  /** At most this many (1..500). */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

/**
 * A handle on one agent.
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const agent = os.agent("ag_0123");
 * console.log((await agent.status()).state);
 * ```
 */
export class Agent {
  /** The agent's id (`ag_...`). */
  readonly id: string;
  /** Upload, download and list files in the running agent's workspace. */
  readonly files: Files;
  /** The state the spawn answered (`Running`), undefined for a handle made from an id. */
  readonly state?: string;
  readonly #http: Http;

  /** @param http the transport @param id the agent @param state its state when spawned */
  constructor(http: Http, id: string, state?: string) {
    this.#http = http;
    this.id = id;
    this.state = state;
    this.files = new Files(http, `/v1/agents/${seg(id)}`);
  }

  /**
   * The agent's status now.
   *
   * @returns state, reason, exit code, result, usage, ...
   * @throws {NotFound} for an agent of another tenant or none
   */
  status(signal?: AbortSignal): Promise<AgentStatus> {
    return this.#http.json("GET", `/v1/agents/${seg(this.id)}`, { signal });
  }

  /**
   * Wait for the agent to end.
   *
   * @returns its record with stdout and stderr
   * @throws {ServerError} 503 when the record is not durable yet (`err.body.agent` holds it)
   */
  wait(signal?: AbortSignal): Promise<AgentRecord> {
    return this.#http.json("GET", `/v1/agents/${seg(this.id)}/wait`, { signal });
  }

  /**
   * Kill the agent (`KILL`), or ask it to stop (`TERM`).
   *
   * @returns whether it was still running
   */
  kill(signal: "KILL" | "TERM" = "KILL"): Promise<{ id: string; state: string; killed: boolean }> {
    return this.#http.json("DELETE", `/v1/agents/${seg(this.id)}`, { query: { signal } });
  }

  /** What the agent wrote so far (or in all, once it ended). */
  output(signal?: AbortSignal): Promise<{ id: string; stdout: string; stderr: string }> {
    return this.#http.json("GET", `/v1/agents/${seg(this.id)}/output`, { signal });
  }

  /**
   * Its events from the first to `exit`: an async iterator over the SSE
   * stream that reconnects with `Last-Event-ID` when the connection drops.
   *
   * @param options `types`, `calls`, `errors` filters; `after` an event id; `signal`
   * @returns the events, each once, in order
   */
  events(options: EventsOptions = {}): AsyncGenerator<AgentEvent | DroppedEvent> {
    return agentEvents(this.#http, this.id, options);
  }

  /**
   * Set the agent's own policy, live (it can only narrow the tenant's); `null` clears it.
   *
   * @returns the policy now in force
   */
  setPolicy(policy: PolicyDocument): Promise<unknown> {
    return this.#http.json("PUT", `/v1/agents/${seg(this.id)}/policy`, { json: policy });
  }
}

/**
 * The agent routes of a tenant.
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const { agents } = await os.agents.list({ state: "Running" });
 * ```
 */
export class Agents {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /**
   * Start an agent and return at once.
   *
   * @param code the module (its default export is called; its return value is the result)
   * @param options language, capabilities, limits, files, policy, volumes, ...
   * @returns a handle
   * @throws {BadRequest} for a body the server refuses (the message names the field)
   */
  async spawn(code: string, options: RunOptions = {}): Promise<Agent> {
    const { signal, ...body } = options;
    const answer = await this.#http.json<{ id: string; state: string }>("POST", "/v1/agents", {
      json: { ...body, code, wait: false },
      signal,
    });
    return new Agent(this.#http, answer.id, answer.state);
  }

  /**
   * Run an agent to its end.
   *
   * @returns its record: id, reason, exitCode, result, stdout, stderr, usage, ...
   */
  run(code: string, options: RunOptions = {}): Promise<AgentRecord> {
    const { signal, ...body } = options;
    return this.#http.json("POST", "/v1/agents", { json: { ...body, code, wait: true }, signal });
  }

  /**
   * The tenant's agents, newest first, a page at a time.
   *
   * @returns a page and the cursor of the next (null at the end)
   */
  list(options: ListOptions = {}): Promise<{ agents: AgentStatus[]; next: string | null }> {
    return this.#http.json("GET", "/v1/agents", { query: { ...options } });
  }

  /**
   * A handle on an agent by id (no request is made).
   *
   * @example
   * ```ts
   * const agent = os.agents.get("ag_0123");
   * ```
   */
  get(id: string): Agent {
    return new Agent(this.#http, id);
  }
}
