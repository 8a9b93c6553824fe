/**
 * Sessions: a stateful code context (variables, imports and files persist
 * between cells). {@linkcode Session} runs cells (`exec`, optionally
 * streaming their output to callbacks), interrupts, restarts, and holds
 * the session's {@linkcode Files}.
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * await using session = await os.sessions.create({ capabilities: ["fs.read"] });
 * await session.exec("let n = 40");
 * (await session.exec("n + 2")).result; // 42
 * ```
 *
 * @module
 */

import { errorFor } from "./errors.ts";
import { Files } from "./files.ts";
import { type Http, seg } from "./http.ts";
import type { ExecResult, SessionCreate, SessionExec, SessionInfo, SessionPatch } from "./types.ts";

/** What `exec` takes besides the code. */
export interface ExecOptions extends Omit<SessionExec, "code"> {
  /** Called with each chunk the cell writes to stdout, as it writes (the cell is streamed as NDJSON). */
  onStdout?: (chunk: string) => void;
  /** Called with each chunk the cell writes to stderr. */
  onStderr?: (chunk: string) => void;
  signal?: AbortSignal;
}

/**
 * One session.
 *
 * @example
 * ```ts
 * const session = await os.sessions.create();
 * await session.exec("console.log('hi')", { onStdout: (s) => console.log(s) });
 * await session.close();
 * ```
 */
export class Session {
  /** The session's id (`ss_...`). */
  readonly id: string;
  /** The session's workspace. */
  readonly files: Files;
  /** The session as last answered (by `create`, `get`, `status`, `patch`, `restart` or `close`). */
  info: SessionInfo;
  readonly #http: Http;

  /** @param http the transport @param info the session as the API answered */
  constructor(http: Http, info: SessionInfo) {
    this.#http = http;
    this.id = info.id;
    this.info = info;
    this.files = new Files(http, `/v1/sessions/${seg(info.id)}`);
  }

  /**
   * Run one cell.
   *
   * @param code JavaScript or TypeScript; the last expression is the cell's `result`
   * @param options `lang`, `timeoutMs`, `onStdout`/`onStderr` callbacks, `signal`
   * @returns the cell's result, stdout, stderr, error, executionCount, ...
   * @throws {Conflict} 409 `session_busy` while another cell runs
   */
  async exec(code: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { onStdout, onStderr, signal, ...rest } = options;
    const path = `/v1/sessions/${seg(this.id)}/exec`;
    if (onStdout === undefined && onStderr === undefined) {
      return await this.#http.json("POST", path, { json: { ...rest, code }, signal });
    }
    const res = await this.#http.request("POST", path, {
      json: { ...rest, code },
      query: { stream: "true" },
      headers: { accept: "application/x-ndjson" },
      signal,
    });
    for await (const line of ndjsonLines(res.body!)) {
      const msg = JSON.parse(line);
      if (msg.type === "stdout") onStdout?.(msg.data);
      else if (msg.type === "stderr") onStderr?.(msg.data);
      else if (msg.type === "result") {
        const { type: _, ...answer } = msg;
        return answer as ExecResult;
      } else if (msg.type === "error") {
        throw errorFor(msg.status ?? statusOf(msg.error?.code), { error: msg.error });
      }
    }
    throw errorFor(502, { error: { code: "bad_response", message: "the cell's stream ended without a result" } });
  }

  /** Interrupt the running cell (the context survives unless `stateLost`). */
  interrupt(): Promise<{ interrupted: boolean; stateLost: boolean }> {
    return this.#http.json("POST", `/v1/sessions/${seg(this.id)}/interrupt`);
  }

  /** A fresh context; the files stay. */
  async restart(): Promise<SessionInfo> {
    return this.info = await this.#http.json("POST", `/v1/sessions/${seg(this.id)}/restart`);
  }

  /** The session now. */
  async status(): Promise<SessionInfo> {
    return this.info = await this.#http.json("GET", `/v1/sessions/${seg(this.id)}`);
  }

  /** Extend the TTL, change the idle timeout or the labels. */
  async patch(patch: SessionPatch): Promise<SessionInfo> {
    return this.info = await this.#http.json("PATCH", `/v1/sessions/${seg(this.id)}`, { json: patch });
  }

  /** End the session (its workspace is deleted). */
  async close(): Promise<SessionInfo> {
    return this.info = await this.#http.json("DELETE", `/v1/sessions/${seg(this.id)}`);
  }

  /** `await using`: close, ignoring a session that is already gone. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(() => {});
  }
}

/**
 * The session routes of a tenant.
 *
 * @example
 * ```ts
 * const { sessions } = { sessions: await os.sessions.list({ label: ["team=ml"] }) };
 * ```
 */
export class Sessions {
  readonly #http: Http;

  /** @param http the transport */
  constructor(http: Http) {
    this.#http = http;
  }

  /**
   * Open a session.
   *
   * @param options capabilities, limits, policy, volumes, lang, idleTimeoutMs, ttlMs, labels
   */
  async create(options: SessionCreate = {}): Promise<Session> {
    return new Session(this.#http, await this.#http.json("POST", "/v1/sessions", { json: options }));
  }

  /**
   * A session by id.
   *
   * @throws {NotFound} when the tenant has no such session
   */
  async get(id: string): Promise<Session> {
    return new Session(this.#http, await this.#http.json("GET", `/v1/sessions/${seg(id)}`));
  }

  /**
   * The tenant's sessions.
   *
   * @param options `label`: `k=v` or `k` filters (every one must match); `state`; `limit`
   */
  async list(
    options: { label?: string | string[]; state?: "open" | "ended"; limit?: number } = {},
  ): Promise<SessionInfo[]> {
    const label = typeof options.label === "string" ? [options.label] : options.label;
    const answer = await this.#http.json<{ sessions: SessionInfo[] }>("GET", "/v1/sessions", {
      query: { ...options, label },
    });
    return answer.sessions;
  }
}

/** The lines of an NDJSON body, as they arrive (empty lines skipped). */
async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (line !== "") yield line;
      }
      if (done) break;
    }
    if (buffer.trim() !== "") yield buffer.trim();
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The status of an error code in a stream written by a server that did not say (its 200 was already sent). */
function statusOf(code: string | undefined): number {
  return code === "not_found" ? 404 : code === "session_busy" ? 409 : 500;
}
