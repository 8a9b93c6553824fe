/**
 * The QuickJS column of `bench/peers.ts`: `quickjs-emscripten` (QuickJS
 * compiled to WASM, the release-sync build) in this Deno process. A run is a
 * fresh QuickJS runtime and context with a host `log` function, one
 * `evalCode`, and disposal. Everything is synchronous on the calling thread,
 * so concurrent clients take turns on one thread. Not a benchmark itself
 * (the runner skips `_` files).
 *
 * @module
 */

import {
  getQuickJS,
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSRuntime,
  type QuickJSWASMModule,
  shouldInterruptAfterDeadline,
} from "quickjs-emscripten";

/** The pinned version (deno.json's `quickjs-emscripten` import). */
export const qjsVersion = "0.32.0";

const helloCode = `log("hello"); "hello"`;

interface Sandbox {
  runtime: QuickJSRuntime;
  context: QuickJSContext;
  logged: string[];
  dispose(): void;
}

/** The QuickJS peer: one WASM module, a fresh runtime + context per sandbox. */
export class QjsPeer {
  readonly #module: QuickJSWASMModule;
  readonly #memoryLimitBytes: number;

  private constructor(module: QuickJSWASMModule, memoryLimitMb: number) {
    this.#module = module;
    this.#memoryLimitBytes = memoryLimitMb * 1024 * 1024;
  }

  /** The shared module (`getQuickJS()`), or a fresh one with its own WASM memory. */
  static async start(memoryLimitMb: number, fresh = false): Promise<QjsPeer> {
    return new QjsPeer(fresh ? await newQuickJSWASMModule() : await getQuickJS(), memoryLimitMb);
  }

  /** A runtime with the memory cap, a context, and `log` bound to the host. */
  sandbox(): Sandbox {
    const runtime = this.#module.newRuntime();
    runtime.setMemoryLimit(this.#memoryLimitBytes);
    const context = runtime.newContext();
    const logged: string[] = [];
    const log = context.newFunction("log", (h) => {
      logged.push(context.getString(h));
    });
    context.setProp(context.global, "log", log);
    log.dispose();
    return {
      runtime,
      context,
      logged,
      dispose: () => {
        context.dispose();
        runtime.dispose();
      },
    };
  }

  /** Evaluate `code`; its string result, or throw the QuickJS error. */
  static evalString(s: Sandbox, code: string): string {
    const handle = s.context.unwrapResult(s.context.evalCode(code));
    try {
      return s.context.getString(handle);
    } finally {
      handle.dispose();
    }
  }

  /** One run to completion: create, run "hello", dispose. */
  hello(): void {
    const s = this.sandbox();
    try {
      const result = QjsPeer.evalString(s, helloCode);
      if (result !== "hello" || s.logged[0] !== "hello") throw new Error(`quickjs hello: ${result}`);
    } finally {
      s.dispose();
    }
  }

  /** `n` sequential host-function calls timed inside QuickJS with a host clock function. */
  hostCall(n: number, warmup: number): { lat: number[]; totalMs: number } {
    const s = this.sandbox();
    try {
      const ping = s.context.newFunction("ping", () => s.context.newNumber(1));
      const now = s.context.newFunction("now", () => s.context.newNumber(performance.now()));
      s.context.setProp(s.context.global, "ping", ping);
      s.context.setProp(s.context.global, "now", now);
      ping.dispose();
      now.dispose();
      const code = `(() => {
        for (let i = 0; i < ${warmup}; i++) ping();
        const lat = new Array(${n}); const t0 = now();
        for (let i = 0; i < ${n}; i++) { const a = now(); ping(); lat[i] = now() - a; }
        return JSON.stringify({ lat, totalMs: now() - t0 });
      })()`;
      return JSON.parse(QjsPeer.evalString(s, code));
    } finally {
      s.dispose();
    }
  }

  /** `n` live sandboxes that have each run "hello"; dispose them with the returned function. */
  holdLive(n: number): () => void {
    const live: Sandbox[] = [];
    for (let i = 0; i < n; i++) {
      const s = this.sandbox();
      QjsPeer.evalString(s, helloCode);
      live.push(s);
    }
    return () => live.forEach((s) => s.dispose());
  }

  /** A heap bomb or a busy loop under the memory cap / a `budgetMs` deadline: how it ended and when. */
  contain(kind: "heap" | "busy", budgetMs: number): { stopMs: number; message: string } {
    const s = this.sandbox();
    const code = kind === "heap"
      ? "const a = []; while (true) a.push(new Array(100000).fill(1.5));"
      : "while (true) {}";
    const t0 = performance.now();
    if (kind === "busy") s.runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + budgetMs));
    let message = "returned";
    const result = s.context.evalCode(code);
    if (result.error) {
      const err = s.context.dump(result.error);
      result.error.dispose();
      message = typeof err === "object" && err !== null ? `${err.name}: ${err.message}` : String(err);
    } else {
      result.value.dispose();
    }
    const stopMs = performance.now() - t0;
    s.dispose();
    return { stopMs, message };
  }
}
