/**
 * A REPL context for the cell transform's tests: a real module Worker that
 * runs each script with indirect eval in its global scope, as the
 * session's prelude will, with a module hook that maps specifiers to data:
 * URLs of fixture modules and records every call. Trusted fixtures only.
 *
 * @module
 */

import { withTimeout } from "../../../lib/mod.ts";
import { replCell } from "../../../sandbox/code/mod.ts";

/** How long one cell may take before the test fails, ms. */
const cellWaitMs = 10_000;

const workerSource = `
const hookCalls = [];
let modules = {};
globalThis.hookCalls = hookCalls;
globalThis[Symbol.for("agentos.import")] = (cell, specifier, options) => {
  hookCalls.push([cell, specifier, options ?? null]);
  const url = modules[specifier];
  if (url === undefined) return Promise.reject(new TypeError("no fixture module " + specifier));
  return options === undefined ? import(url) : import(url, options);
};
// A name computed at run time reaches the hook's dynamic variant (recorded with a "*" after the cell).
globalThis[Symbol.for("agentos.import")].dynamic = (cell, specifier, options) =>
  globalThis[Symbol.for("agentos.import")](cell + "*", specifier, options);
const clonable = (value) => { try { structuredClone(value); return true; } catch { return false; } };
self.onmessage = async ({ data }) => {
  if (data.modules) { modules = data.modules; self.postMessage({ id: data.id, ok: true }); return; }
  try {
    const result = (0, eval)(data.script);
    const { value } = await result;
    self.postMessage({ id: data.id, ok: true, value: clonable(value) ? value : { unclonable: String(value) } });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    self.postMessage({ id: data.id, ok: false, name: e.name, message: e.message, stack: e.stack ?? "" });
  }
};
`;

/** What a cell that threw answers. */
export interface CellFailure {
  name: string;
  message: string;
  stack: string;
}

/** One answer of the Worker. */
type Answer = { id: number; ok: true; value?: unknown } | ({ id: number; ok: false } & CellFailure);

/** A data: URL of a JavaScript module. */
export function moduleUrl(source: string): string {
  return "data:text/javascript," + encodeURIComponent(source);
}

/**
 * A session-like REPL context in a fresh Worker. `await using` ends it.
 *
 * @example
 * ```ts
 * await using repl = await ReplContext.start({ m: moduleUrl("export const a = 1;") });
 * await repl.run("import {a} from 'm'; a + 1"); // 2
 * ```
 */
export class ReplContext {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, (answer: Answer) => void>();
  #nextId = 0;
  #cells = 0;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }: MessageEvent<Answer>) => this.#waiting.get(data.id)?.(data);
    worker.onerror = (event) => {
      event.preventDefault();
      for (const resolve of this.#waiting.values()) {
        resolve({ id: -1, ok: false, name: "WorkerError", message: event.message, stack: "" });
      }
    };
  }

  /** Start a context whose module hook serves `modules` (specifier → URL). */
  static async start(modules: Record<string, string> = {}): Promise<ReplContext> {
    const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
    const repl = new ReplContext(new Worker(url, { type: "module" }));
    URL.revokeObjectURL(url);
    await repl.#send({ modules });
    return repl;
  }

  #send(message: Record<string, unknown>): Promise<Answer> {
    const id = this.#nextId++;
    const answer = new Promise<Answer>((resolve) => this.#waiting.set(id, resolve));
    this.#worker.postMessage({ ...message, id });
    return withTimeout(answer, cellWaitMs, () => new Error(`the REPL Worker did not answer within ${cellWaitMs} ms`))
      .finally(() => this.#waiting.delete(id));
  }

  /** Run a script as it is; the cell's value, or a `CellFailure` if it threw. */
  async evalScript(script: string): Promise<{ value: unknown } | { failure: CellFailure }> {
    const answer = await this.#send({ script });
    if (answer.ok) return { value: answer.value };
    return { failure: { name: answer.name, message: answer.message, stack: answer.stack } };
  }

  /** Transform and run the next cell (`cellN.js`/`cellN.ts`); its value, throwing if it threw. */
  async run(code: string, lang: "js" | "ts" = "js"): Promise<unknown> {
    const result = await this.runCell(code, lang);
    if ("failure" in result) throw new Error(`cell threw ${result.failure.name}: ${result.failure.message}`);
    return result.value;
  }

  /** Transform and run the next cell; its value or its failure. */
  runCell(code: string, lang: "js" | "ts" = "js"): Promise<{ value: unknown } | { failure: CellFailure }> {
    this.#cells++;
    const { script } = replCell(code, { lang, cellName: `cell${this.#cells}.${lang}` });
    return this.evalScript(script);
  }

  /** End the Worker. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#worker.terminate();
    return Promise.resolve();
  }
}
