/**
 * Prelude part: messages from the cell (start, completions, signals), the
 * agent's module run from memory, and how it ends (result, error, unhandled
 * rejection). Shipped as source: these functions must not close over
 * anything in this module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";
import type { PreludeLinker, PreludeModule } from "./modules.ts";
import { type PreludeCellMessage, preludeRepl } from "./repl.ts";

/**
 * What an agent's error looks like in its record: `Name: message` and the
 * stack with no prelude frames, modules named by their files (`main.ts:2:5`);
 * a thrown non-Error is described as JSON.
 */
export function preludeDescribe(e: unknown, rename: (text: string) => string): string {
  let text: string;
  if (e instanceof Error) {
    const frames = (e.stack ?? "").split("\n").slice(1, 8).join("\n");
    text = `${e.name}: ${e.message}` + (frames ? `\n${frames}` : "");
  } else if (e !== null && typeof e === "object") {
    let json: string | undefined;
    try {
      json = JSON.stringify(e);
    } catch { /* cyclic or hostile: String() below */ }
    text = `Uncaught ${json === undefined ? String(e) : json.slice(0, 4096)}`;
  } else text = `Uncaught ${typeof e === "string" ? JSON.stringify(e) : String(e)}`;
  const self = import.meta.url.slice(0, 48);
  const internal = (line: string) => line.startsWith("    at ") && (line.includes(self) || line.includes("(ext:"));
  return rename(text.split("\n").filter((line) => !internal(line)).join("\n"));
}

/**
 * The agent's timers. Counts its zero-delay timers still pending: the exit
 * waits for them only when there are some (a timer turn costs 1–4 ms; a
 * message turn ~0.1 ms). And once the cell has said its watchdog backed off
 * (`idle()`), the next timer callback first tells it (`awake`), so a loop a
 * timer starts is sampled at the busy interval, not the idle one. Wraps
 * `setTimeout`/`setInterval`/`clearTimeout` and `Atomics.waitAsync` before
 * the agent's code runs.
 */
export function preludeTimers(
  post: (message: unknown) => void,
): { pending(): number; turn(): Promise<void>; idle(): void } {
  const g = globalThis as unknown as Record<string, unknown>;
  type SetTimer = (fn: unknown, delay?: number, ...args: unknown[]) => unknown;
  const set = globalThis.setTimeout.bind(globalThis) as SetTimer;
  const every = globalThis.setInterval.bind(globalThis) as SetTimer;
  const clear = globalThis.clearTimeout.bind(globalThis) as (id?: unknown) => void;
  const zero = new Set<unknown>();
  let idle = false;
  const awake = () => {
    if (!idle) return;
    idle = false;
    post({ t: "awake" });
  };
  const wrappedSet = function setTimeout(fn: unknown, delay?: unknown, ...args: unknown[]): unknown {
    if (typeof fn !== "function") return set(fn, delay as number, ...args);
    if (Number(delay) > 0) {
      return set(() => {
        awake();
        fn(...args);
      }, delay as number);
    }
    const id: unknown = set(() => {
      zero.delete(id);
      awake();
      fn(...args);
    }, 0);
    zero.add(id);
    return id;
  };
  const wrappedEvery = function setInterval(fn: unknown, delay?: unknown, ...args: unknown[]): unknown {
    if (typeof fn !== "function") return every(fn, delay as number, ...args);
    return every(() => {
      awake();
      fn(...args);
    }, delay as number);
  };
  const wrappedClear = function clearTimeout(id?: unknown): void {
    if (id !== undefined) zero.delete(id);
    clear(id as number);
  };
  Object.defineProperty(g, "setTimeout", { value: wrappedSet, writable: true, configurable: true });
  Object.defineProperty(g, "setInterval", { value: wrappedEvery, writable: true, configurable: true });
  Object.defineProperty(g, "clearTimeout", { value: wrappedClear, writable: true, configurable: true });
  // `Atomics.waitAsync` times out on V8's own timer: its settling wakes the cell the same way.
  const atomics = Atomics as unknown as Record<string, unknown>;
  const wait = atomics.waitAsync as ((...args: unknown[]) => { async: boolean; value: unknown }) | undefined;
  if (typeof wait === "function") {
    const wrappedWaitAsync = function waitAsync(...args: unknown[]): { async: boolean; value: unknown } {
      const r = Reflect.apply(wait, Atomics, args) as { async: boolean; value: unknown };
      if (!r.async) return r;
      const value = (r.value as Promise<unknown>).then((v) => (awake(), v));
      return { async: true, value };
    };
    Object.defineProperty(atomics, "waitAsync", { value: wrappedWaitAsync, writable: true, configurable: true });
  }
  return {
    pending: () => zero.size,
    turn: () => new Promise((resolve) => set(resolve, 0)),
    idle: () => void (idle = true),
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
  linker: PreludeLinker,
  main: PreludeModule,
  messageTurn: () => Promise<void>,
  timers: { pending(): number; turn(): Promise<void> },
): Promise<void> {
  const describe = (e: unknown) => preludeDescribe(e, linker.rename);
  try {
    const mod = await linker.run(main);
    const result = typeof mod.default === "function" ? await mod.default() : null;
    // One turn of the event loop before the exit: a promise the agent left
    // rejected (or a timer of 0 that throws) ends it with an error first.
    await messageTurn();
    if (timers.pending() > 0) await timers.turn();
    let json: string;
    try {
      json = JSON.stringify(result ?? null);
    } catch (e) {
      return void ch.exit(1, { error: `result is not JSON-serialisable: ${describe(e)}` });
    }
    await ch.exit(0, { result: json });
  } catch (e) {
    await ch.exit(1, { error: describe(e) });
  }
}

/** Listen to the cell: completions settle calls, `signal` reaches handlers, `start` runs the agent once. */
export function preludeListen(
  ch: PreludeChannel,
  linker: PreludeLinker,
  identity: { pid: number; ppid: number },
  signals: ((sig: string) => void)[],
): void {
  const parse = JSON.parse;
  const listen = globalThis.addEventListener.bind(globalThis);
  const describe = (e: unknown) => preludeDescribe(e, linker.rename);
  let started = false;
  /** A session's cell handler, once started as one: errors then go to stderr instead of ending the agent. */
  let repl: ((msg: PreludeCellMessage) => void) | undefined;
  const uncaught = (what: string, e: unknown) =>
    ch.fireAndForget("io.write", { fd: 2, data: `${what}: ${describe(e)}\n` });
  // Made before the agent's code can run, and paid before the cell is ready.
  const messageTurn = preludeMessageTurn();
  const timers = preludeTimers(ch.post);
  listen("message", (event: Event) => {
    const data = (event as MessageEvent).data;
    if (typeof data === "string") {
      const msg = parse(data);
      if (Array.isArray(msg.batch)) { for (const c of msg.batch) ch.settle(c); }
      else if (typeof msg.id === "number") ch.settle(msg);
      return;
    }
    if (data?.t === "idle") return void timers.idle();
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
    if (data?.t === "exec" || data?.t === "interrupt") return void repl?.(data);
    if (data?.t !== "start" || started) return;
    started = true;
    identity.pid = Number(data.info?.pid) || 0;
    identity.ppid = Number(data.info?.parent) || 0;
    if (data.session === true) return void (repl = preludeRepl(ch, linker, Number(data.sessionCharsMax) || 0));
    if (typeof data.loadError === "string") return void ch.exit(1, { error: data.loadError });
    void preludeRun(ch, linker, data.module, messageTurn, timers);
  });
  listen("unhandledrejection", (event: Event) => {
    event.preventDefault();
    if (repl) return void uncaught("Uncaught (in promise)", (event as PromiseRejectionEvent).reason);
    ch.exit(1, {
      error: `unhandled rejection: ${describe((event as PromiseRejectionEvent).reason)}`,
    });
  });
  listen("error", (event: Event) => {
    event.preventDefault();
    if (repl) return void uncaught("Uncaught", (event as ErrorEvent).error ?? (event as ErrorEvent).message);
    ch.exit(1, { error: describe((event as ErrorEvent).error ?? (event as ErrorEvent).message) });
  });
}
