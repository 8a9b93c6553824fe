/**
 * Prelude part: `console` as captured output (`io.write` syscalls, never the
 * cell's raw stdio). Shipped as source: it must not close over anything in
 * this module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";

/** Install the captured `console`. */
export function preludeConsole(ch: PreludeChannel, frameCharsMax: number): void {
  const inspect = (globalThis as unknown as { Deno: { inspect(v: unknown, o?: unknown): string } }).Deno.inspect;
  const format = (args: unknown[]) =>
    args.map((a) => typeof a === "string" ? a : inspect(a, { colors: false, depth: 4 })).join(" ") + "\n";
  /** Long output goes in several frames, none over `frameCharsMax` (a surrogate pair is never split). */
  const write = (fd: 1 | 2, data: string) => {
    let start = 0;
    while (data.length - start > frameCharsMax) {
      let end = start + frameCharsMax;
      const code = data.charCodeAt(end - 1);
      if (code >= 0xd800 && code <= 0xdbff) end--;
      ch.fireAndForget("io.write", { fd, data: data.slice(start, end) });
      start = end;
    }
    ch.fireAndForget("io.write", { fd, data: start === 0 ? data : data.slice(start) });
  };
  const out = (...args: unknown[]) => write(1, format(args));
  const err = (...args: unknown[]) => write(2, format(args));
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
