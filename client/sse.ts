/**
 * Server-sent events: {@linkcode sseMessages} parses a `text/event-stream`
 * body; {@linkcode agentEvents} follows one agent's stream to its `exit`
 * event, reconnecting with `Last-Event-ID` when the connection drops, so
 * every event arrives once and in order (ids only grow; an id at or below
 * the last one seen is a replay and is skipped).
 *
 * @example
 * ```ts
 * import { AgentOS } from "./mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * const agent = await os.spawn("console.log('hi')");
 * for await (const e of agent.events()) console.log(e.type);
 * ```
 *
 * @module
 */

import { AgentOSError, ConnectionError, RateLimited, ServerError } from "./errors.ts";
import { type Http, seg } from "./http.ts";
import type { AgentEvent, AgentStatus } from "./types.ts";

/** One message of an event stream. */
export interface SseMessage {
  /** The `id:` field (absent on `hello` and `dropped`). */
  id?: string;
  /** The `event:` field (`message` when none). */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
}

/**
 * The messages of an event stream, as they arrive; comments (keepalives) are skipped.
 *
 * @param body the response body
 * @returns the messages; returning early cancels the body
 * @example
 * ```ts
 * import { sseMessages } from "./sse.ts";
 * const body = new Response("id: 1\nevent: exit\ndata: {}\n\n").body!;
 * for await (const m of sseMessages(body)) m.event; // "exit"
 * ```
 */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let message: SseMessage = { event: "message", data: "" };
  let hasData = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r?\n|\r/)) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer[end] === "\r" && buffer[end + 1] === "\n" ? 2 : 1));
        if (line === "") {
          if (hasData || message.id !== undefined) yield message;
          message = { event: "message", data: "" };
          hasData = false;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") message.id = value;
        else if (field === "event") message.event = value;
        else if (field === "data") {
          message.data = hasData ? `${message.data}\n${value}` : value;
          hasData = true;
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** `dropped`: the server's ring overran this reader; `count` events are lost (the stored trace still has them). */
export interface DroppedEvent {
  type: "dropped";
  count: number;
}

/** What {@linkcode agentEvents} takes. */
export interface EventsOptions {
  /** Only these event types (`syscall`, `output`, `exit`, ...); default: all. */
  types?: string[];
  /** Only these calls (`fs.readText`, `fs.*`). */
  calls?: string[];
  /** Only errors and denials. */
  errors?: boolean;
  /** Start after this event id (default 0: from the agent's first event). */
  after?: number;
  /** Stops the iteration (it throws the signal's reason). */
  signal?: AbortSignal;
  /** Consecutive reconnects without a new event before giving up with `ConnectionError`. @default 5 */
  reconnectsMax?: number;
}

/** First reconnect delay, ms (doubles per failure up to {@linkcode reconnectDelayMsMax}). */
export const reconnectDelayMs = 100;
/** Longest reconnect delay, ms. */
export const reconnectDelayMsMax = 2000;

/**
 * One agent's events from its first (or after `after`) to its `exit`,
 * reconnecting with `Last-Event-ID` when the connection drops.
 *
 * @param http the transport
 * @param id the agent
 * @param options filters, a start, a signal
 * @returns the events in order, each once; ends after `exit` (or, when a filter leaves `exit` out, when the
 *   agent has ended and its stored events are sent)
 * @throws {NotFound} for an unknown agent; {@linkcode ConnectionError} after `reconnectsMax` failed reconnects
 * @example
 * ```ts
 * import { Http } from "./http.ts";
 * import { agentEvents } from "./sse.ts";
 * const http = new Http({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * for await (const e of agentEvents(http, "ag_...", { types: ["output", "exit"] })) console.log(e);
 * ```
 */
export async function* agentEvents(
  http: Http,
  id: string,
  options: EventsOptions = {},
): AsyncGenerator<AgentEvent | DroppedEvent> {
  const state = { last: options.after ?? 0, failures: 0, finalPass: false };
  const reconnectsMax = options.reconnectsMax ?? 5;
  while (true) {
    let progressed = false;
    try {
      const res = await connect(http, id, options, state.last, state.finalPass);
      for await (const m of sseMessages(res.body!)) {
        if (m.event === "dropped") yield { type: "dropped", count: Number(JSON.parse(m.data).count) };
        if (m.id === undefined || !/^\d+$/.test(m.id) || Number(m.id) <= state.last) continue;
        state.last = Number(m.id);
        progressed = true;
        state.failures = 0;
        yield JSON.parse(m.data) as AgentEvent;
        if (m.event === "exit") return;
      }
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!retryable(err)) throw err;
      if (++state.failures > reconnectsMax) throw gaveUp(id, reconnectsMax, err);
      await delay(backoffMs(state.failures, err), options.signal);
      continue;
    }
    // A clean end without `exit`: the agent ended (a filter left `exit` out), or something closed the stream early.
    if (state.finalPass) return;
    const status = await http.json<AgentStatus>("GET", `/v1/agents/${seg(id)}`, { signal: options.signal });
    if (status.endedAt !== null) state.finalPass = true;
    else if (!progressed && ++state.failures > reconnectsMax) throw gaveUp(id, reconnectsMax);
    else if (!progressed) await delay(backoffMs(state.failures), options.signal);
  }
}

/**
 * The tenant's live stream (an admin key: every tenant's), from now (or
 * after `after`), until `signal` aborts; a dropped connection reconnects
 * with `Last-Event-ID` (the `hello` message's position when nothing came yet).
 *
 * @param http the transport
 * @param options filters, a start, a signal
 * @returns the events, each once, in order
 * @throws {ConnectionError} after `reconnectsMax` failed reconnects in a row
 * @example
 * ```ts
 * import { Http } from "./http.ts";
 * import { tenantEvents } from "./sse.ts";
 * const http = new Http({ url: "http://127.0.0.1:8787", apiKey: "tk_..." });
 * for await (const e of tenantEvents(http, { errors: true })) console.log(e);
 * ```
 */
export async function* tenantEvents(
  http: Http,
  options: EventsOptions = {},
): AsyncGenerator<AgentEvent | DroppedEvent> {
  let last = options.after;
  let failures = 0;
  const reconnectsMax = options.reconnectsMax ?? 5;
  while (true) {
    try {
      const res = await http.request("GET", "/v1/events", {
        query: filterQuery(options),
        headers: { accept: "text/event-stream", ...(last === undefined ? {} : { "last-event-id": String(last) }) },
        signal: options.signal,
      });
      for await (const m of sseMessages(res.body!)) {
        if (m.event === "hello" && last === undefined) last = Number(JSON.parse(m.data).seq);
        if (m.event === "dropped") yield { type: "dropped", count: Number(JSON.parse(m.data).count) };
        if (m.id === undefined || !/^\d+$/.test(m.id) || (last !== undefined && Number(m.id) <= last)) continue;
        last = Number(m.id);
        failures = 0;
        yield JSON.parse(m.data) as AgentEvent;
      }
      throw new ConnectionError(0, "connection_failed", "the server ended the stream");
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!retryable(err)) throw err;
      if (++failures > reconnectsMax) throw gaveUp("the tenant", reconnectsMax, err);
      await delay(backoffMs(failures, err), options.signal);
    }
  }
}

function filterQuery(o: EventsOptions): Record<string, string | undefined> {
  return { types: o.types?.join(","), calls: o.calls?.join(","), errors: o.errors ? "true" : undefined };
}

function connect(http: Http, id: string, o: EventsOptions, last: number, finalPass: boolean): Promise<Response> {
  return http.request("GET", `/v1/agents/${seg(id)}/events`, {
    // The last pass sends what is stored and ends.
    query: { ...filterQuery(o), follow: finalPass ? "false" : undefined },
    headers: { accept: "text/event-stream", "last-event-id": String(last) },
    signal: o.signal,
  });
}

/** A dropped connection, a 5xx or a 429 is worth another try; a 401, 404 or 400 is not. */
function retryable(err: unknown): boolean {
  if (!(err instanceof AgentOSError)) return true; // the body stream failed mid-read
  return err instanceof ConnectionError || err instanceof ServerError || err instanceof RateLimited;
}

function gaveUp(id: string, reconnectsMax: number, cause?: unknown): ConnectionError {
  const why = cause instanceof Error ? `: ${cause.message}` : "";
  return new ConnectionError(
    0,
    "connection_failed",
    `the event stream of ${id} failed ${
      reconnectsMax + 1
    } times in a row${why}; check the server and call events({after}) again`,
    undefined,
    { cause },
  );
}

function backoffMs(failures: number, err?: unknown): number {
  const asked = (err as { retryAfter?: number } | undefined)?.retryAfter;
  if (typeof asked === "number") return Math.min(asked * 1000, reconnectDelayMsMax);
  return Math.min(reconnectDelayMs * 2 ** (failures - 1), reconnectDelayMsMax);
}

/**
 * Resolve after `ms`, or reject with the signal's reason when it aborts first.
 *
 * @example
 * ```ts
 * import { delay } from "./sse.ts";
 * await delay(10);
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
