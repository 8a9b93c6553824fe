/**
 * Prelude part: messages from the cell (start, completions, signals), the
 * agent's module run from memory, and how it ends (result, error, unhandled
 * rejection). Shipped as source: these functions must not close over
 * anything in this module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";

/** What an agent's module error looks like in its record: no prelude frames, the module named `agent`. */
export function preludeDescribe(e: unknown, moduleUrl: string): string {
  const text = e instanceof Error
    ? `${e.name}: ${e.message}` + (e.stack ? `\n${e.stack.split("\n").slice(1, 8).join("\n")}` : "")
    : String(e);
  const self = import.meta.url.slice(0, 48);
  const internal = (line: string) => line.startsWith("    at ") && (line.includes(self) || line.includes("(ext:"));
  return text.split("\n").filter((line) => !internal(line)).join("\n").replaceAll(moduleUrl, "agent");
}

/**
 * Count the agent's zero-delay timers still pending: the exit waits for
 * them only when there are some (a timer turn costs 1–4 ms; a message turn
 * ~0.1 ms). Wraps `setTimeout`/`clearTimeout` before the agent's code runs.
 */
export function preludeZeroTimers(): { pending(): number; turn(): Promise<void> } {
  const g = globalThis as unknown as Record<string, unknown>;
  const set = globalThis.setTimeout.bind(globalThis) as (fn: unknown, delay?: number, ...args: unknown[]) => unknown;
  const clear = globalThis.clearTimeout.bind(globalThis) as (id?: unknown) => void;
  const zero = new Set<unknown>();
  const wrappedSet = function setTimeout(fn: unknown, delay?: unknown, ...args: unknown[]): unknown {
    if (typeof fn !== "function" || Number(delay) > 0) return set(fn, delay as number, ...args);
    const id: unknown = set(() => {
      zero.delete(id);
      fn(...args);
    }, 0);
    zero.add(id);
    return id;
  };
  const wrappedClear = function clearTimeout(id?: unknown): void {
    if (id !== undefined) zero.delete(id);
    clear(id as number);
  };
  Object.defineProperty(g, "setTimeout", { value: wrappedSet, writable: true, configurable: true });
  Object.defineProperty(g, "clearTimeout", { value: wrappedClear, writable: true, configurable: true });
  return {
    pending: () => zero.size,
    turn: () => new Promise((resolve) => set(resolve, 0)),
  };
}

/**
 * One turn of the event loop by message, not timer: unhandled rejections
 * are reported before it ends. The channel is made once, ahead of the
 * agent (its first use costs ~1 ms; later turns ~0.1 ms).
 */
export function preludeMessageTurn(): () => Promise<void> {
  const c = new MessageChannel();
  let waiting: (() => void) | undefined;
  c.port1.onmessage = () => {
    const resolve = waiting;
    waiting = undefined;
    resolve?.();
  };
  c.port2.postMessage(0);
  return () =>
    new Promise<void>((resolve) => {
      waiting = resolve;
      c.port2.postMessage(0);
    });
}

/** Import the agent's module from memory, run its default export, and exit with its result or error. */
export async function preludeRun(
  ch: PreludeChannel,
  moduleUrl: string,
  messageTurn: () => Promise<void>,
  timers: { pending(): number; turn(): Promise<void> },
): Promise<void> {
  try {
    const mod = await import(moduleUrl);
    const result = typeof mod.default === "function" ? await mod.default() : null;
    // One turn of the event loop before the exit: a promise the agent left
    // rejected (or a timer of 0 that throws) ends it with an error first.
    await messageTurn();
    if (timers.pending() > 0) await timers.turn();
    let json: string;
    try {
      json = JSON.stringify(result ?? null);
    } catch (e) {
      return void ch.exit(1, { error: `result is not JSON-serialisable: ${preludeDescribe(e, moduleUrl)}` });
    }
    await ch.exit(0, { result: json });
  } catch (e) {
    await ch.exit(1, { error: preludeDescribe(e, moduleUrl) });
  }
}

/** Listen to the cell: completions settle calls, `signal` reaches handlers, `start` runs the agent once. */
export function preludeListen(
  ch: PreludeChannel,
  identity: { pid: number; ppid: number },
  signals: ((sig: string) => void)[],
): void {
  const parse = JSON.parse;
  const listen = globalThis.addEventListener.bind(globalThis);
  let moduleUrl = "\u0000";
  let started = false;
  // Made before the agent's code can run, and paid before the cell is ready.
  const messageTurn = preludeMessageTurn();
  const timers = preludeZeroTimers();
  listen("message", (event: Event) => {
    const data = (event as MessageEvent).data;
    if (typeof data === "string") {
      const msg = parse(data);
      if (Array.isArray(msg.batch)) { for (const c of msg.batch) ch.settle(c); }
      else if (typeof msg.id === "number") ch.settle(msg);
      return;
    }
    if (data?.t === "warm") {
      if (data.credit instanceof SharedArrayBuffer) ch.useCredit(data.credit);
      return void ch.post({ t: "warmed" });
    }
    if (data?.t === "signal") {
      // Default action of TERM without a handler: exit, like a process would.
      if (signals.length === 0) return void ch.exit(143, { signal: String(data.sig) });
      for (const fn of signals) {
        try {
          fn(String(data.sig));
        } catch { /* a handler's error is the agent's own */ }
      }
      return;
    }
    if (data?.t !== "start" || started) return;
    started = true;
    identity.pid = Number(data.info?.pid) || 0;
    identity.ppid = Number(data.info?.parent) || 0;
    const mime = data.lang === "ts" ? "application/typescript" : "text/javascript";
    moduleUrl = `data:${mime};base64,${new TextEncoder().encode(data.code).toBase64()}`;
    void preludeRun(ch, moduleUrl, messageTurn, timers);
  });
  listen("unhandledrejection", (event: Event) => {
    event.preventDefault();
    ch.exit(1, {
      error: `unhandled rejection: ${preludeDescribe((event as PromiseRejectionEvent).reason, moduleUrl)}`,
    });
  });
  listen("error", (event: Event) => {
    event.preventDefault();
    ch.exit(1, { error: preludeDescribe((event as ErrorEvent).error ?? (event as ErrorEvent).message, moduleUrl) });
  });
}
