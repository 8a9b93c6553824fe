/**
 * Prelude part: `console` as captured output (`io.write` syscalls, never the
 * cell's raw stdio). Shipped as source: it must not close over anything in
 * this module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";

/** Install the captured `console`. */
export function preludeConsole(ch: PreludeChannel): void {
  const inspect = (globalThis as unknown as { Deno: { inspect(v: unknown, o?: unknown): string } }).Deno.inspect;
  const format = (args: unknown[]) =>
    args.map((a) => typeof a === "string" ? a : inspect(a, { colors: false, depth: 4 })).join(" ") + "\n";
  const out = (...args: unknown[]) => ch.fireAndForget("io.write", { fd: 1, data: format(args) });
  const err = (...args: unknown[]) => ch.fireAndForget("io.write", { fd: 2, data: format(args) });
  const noop = () => {};
  Object.defineProperty(globalThis, "console", {
    value: Object.freeze({
      log: out,
      info: out,
      debug: out,
      trace: err,
      warn: err,
      error: err,
      dir: out,
      table: out,
      assert: (cond: unknown, ...args: unknown[]) => cond ? undefined : err("Assertion failed:", ...args),
      time: noop,
      timeEnd: noop,
      timeLog: noop,
      count: noop,
      countReset: noop,
      group: noop,
      groupEnd: noop,
      groupCollapsed: noop,
      clear: noop,
    }),
    configurable: false,
    writable: false,
  });
}
