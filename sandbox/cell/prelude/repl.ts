/**
 * Prelude part: a session's REPL context. Each cell arrives as a classic
 * script from the supervisor's REPL transform (sandbox/code/), evaluated
 * with indirect `eval` in the Worker's global scope so the cell's top-level
 * declarations stay for the next one; it resolves to `{ value }`. The
 * answer goes back as the `session.result` syscall. An `interrupt` ends
 * the running cell's wait at once when the event loop is free (the cell's
 * pending work is abandoned, its state kept); a busy loop never sees it,
 * and the supervisor kills the agent. Shipped as source: it must not close
 * over anything in this module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";
import type { PreludeLinker } from "./modules.ts";
import { preludeDescribe } from "./start.ts";

/** A cell or an interrupt, as the cell's main thread relays them. */
export interface PreludeCellMessage {
  t: "exec" | "interrupt";
  id: number;
  script?: string;
  name?: string;
}

/** Install the REPL context; returns the handler of `exec` and `interrupt` messages. */
export function preludeRepl(
  ch: PreludeChannel,
  linker: PreludeLinker,
  charsMax: number,
): (message: PreludeCellMessage) => void {
  const evaluate = globalThis.eval;
  const inspect = (globalThis as unknown as { Deno: { inspect(v: unknown, o?: unknown): string } }).Deno.inspect;
  const stringify = JSON.stringify;
  let current: { id: number; interrupt(): void } | undefined;
  const toJson = (value: unknown) => {
    try {
      const json = value === undefined ? null : stringify(value) ?? null;
      return json !== null && json.length <= charsMax ? json : null;
    } catch {
      return null;
    }
  };
  /** Eval frames read `at f (cell3.ts, <anonymous>:2:7)`: name the cell's line like a module's; drop the eval call. */
  const cellFrames = (stack: string) =>
    stack.split("\n").filter((line) => line !== "    at eval (<anonymous>)").join("\n")
      .replace(/\(([^,()]+), <anonymous>:(\d+):(\d+)\)/g, "($1:$2:$3)");
  const describe = (e: unknown) => {
    if (e instanceof Error) {
      const stack = cellFrames(preludeDescribe(e, linker.rename));
      return { name: String(e.name).slice(0, 256), message: String(e.message), stack };
    }
    const text = preludeDescribe(e, linker.rename);
    return { name: "Uncaught", message: text.replace(/^Uncaught /, ""), stack: "" };
  };
  const run = async (msg: PreludeCellMessage) => {
    const stop = Promise.withResolvers<never>();
    stop.promise.catch(() => {});
    const interrupted = new Error("the cell was interrupted");
    interrupted.name = "Interrupted";
    current = { id: msg.id, interrupt: () => stop.reject(interrupted) };
    let answer: { json: string | null; text: string; error: ReturnType<typeof describe> | null };
    try {
      const out = await Promise.race([evaluate(`${msg.script}\n//# sourceURL=${msg.name}`), stop.promise]);
      const value = (out as { value?: unknown } | undefined)?.value;
      const text = value === undefined ? "" : inspect(value, { colors: false, depth: 4 });
      answer = { json: toJson(value), text: text.slice(0, charsMax), error: null };
    } catch (e) {
      answer = { json: null, text: "", error: describe(e) };
    }
    current = undefined;
    ch.call("session.result", { id: msg.id, ...answer }).catch(() => {});
  };
  return (msg) => {
    if (msg.t === "interrupt") {
      if (current?.id === msg.id) current.interrupt();
      return;
    }
    void run(msg);
  };
}
