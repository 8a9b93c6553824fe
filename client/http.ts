/**
 * The SDK's transport: one `fetch` call per request, the Bearer key on
 * every one, JSON in and out, and every failure turned into a typed error
 * (`errors.ts`). Only web APIs (`fetch`, `Headers`, `URL`): the same file
 * runs on Deno and Node 20.
 *
 * @example
 * ```ts
 * import { Http } from "./http.ts";
 * const http = new Http({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const { agents } = await http.json<{ agents: unknown[] }>("GET", "/v1/agents");
 * ```
 *
 * @module
 */

import { ConnectionError, errorFor } from "./errors.ts";

/** How to reach a server. */
export interface ClientOptions {
  /** The server's base URL, `http://127.0.0.1:8787`. */
  url: string;
  /** A tenant's (or the admin's) API key, sent as `Authorization: Bearer`. */
  apiKey: string;
  /** The `fetch` to use (default: the global one): a proxy, a test transport, a custom agent. */
  fetch?: typeof fetch;
}

/** One request. */
export interface RequestOptions {
  /** A JSON body (sent with `content-type: application/json`). */
  json?: unknown;
  /** A raw body (file uploads). */
  body?: BodyInit;
  /** Query parameters; undefined values are left out, arrays repeat the key. */
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Requests against one server with one key.
 *
 * @example
 * ```ts
 * import { Http } from "./http.ts";
 * const http = new Http({ url: "http://127.0.0.1:8787/", apiKey: "k" });
 * http.url("/v1/agents", { state: "Running" }); // "http://127.0.0.1:8787/v1/agents?state=Running"
 * ```
 */
export class Http {
  readonly #base: string;
  readonly #key: string;
  readonly #fetch: typeof fetch;

  /** @param options the server, the key and optionally a `fetch` */
  constructor(options: ClientOptions) {
    if (typeof options?.url !== "string" || !/^https?:\/\//.test(options.url)) {
      throw new TypeError(`url must be the server's http(s) base URL, got ${JSON.stringify(options?.url)}`);
    }
    if (typeof options.apiKey !== "string" || options.apiKey === "") {
      throw new TypeError("apiKey is required: a tenant key (or the admin key) from POST /v1/tenants");
    }
    this.#base = options.url.replace(/\/+$/, "");
    this.#key = options.apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * The full URL of a path with its query.
   *
   * @param path starts with `/`
   * @param query parameters (undefined ones are left out)
   * @returns the URL as a string
   */
  url(path: string, query: RequestOptions["query"] = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) params.append(k, String(one));
    }
    const q = params.toString();
    return `${this.#base}${path}${q === "" ? "" : `?${q}`}`;
  }

  /**
   * Send a request; a non-2xx answer throws its typed error.
   *
   * @param method the HTTP method
   * @param path starts with `/`
   * @param options body, query, headers, signal
   * @returns the 2xx response (its body unread)
   * @throws {AgentOSError} the typed error of a non-2xx answer
   * @throws {ConnectionError} when no answer came
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#key}`, ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    let res: Response;
    try {
      res = await this.#fetch(this.url(path, options.query), { method, headers, body, signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      const why = err instanceof Error ? err.message : String(err);
      throw new ConnectionError(0, "connection_failed", `no answer from ${this.#base}: ${why}`, undefined, {
        cause: err,
      });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw errorFor(res.status, parsed, res.headers.get("retry-after"));
  }

  /**
   * Send a request and parse its JSON answer.
   *
   * @returns the parsed body
   * @throws {AgentOSError} as {@linkcode Http.request}; `bad_response` when a 2xx body is not JSON
   */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new ConnectionError(res.status, "bad_response", `${method} ${path}: the answer is not JSON`, undefined, {
        cause: err,
      });
    }
  }
}

/**
 * A path segment, percent-encoded (ids and names the caller gives never change the route).
 *
 * @example
 * ```ts
 * import { seg } from "./http.ts";
 * seg("a/b"); // "a%2Fb"
 * ```
 */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/**
 * A file path inside a scope, each segment percent-encoded, slashes kept.
 *
 * @example
 * ```ts
 * import { filePath } from "./http.ts";
 * filePath("/notes/a b.txt"); // "notes/a%20b.txt"
 * ```
 */
export function filePath(path: string): string {
  return path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");
}
