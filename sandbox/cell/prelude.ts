/**
 * Trusted code that runs first inside the agent's Worker. It is shipped as
 * source (`agentPrelude.toString()`) so it must not close over anything in
 * this module.
 *
 * It locks down what `permissions: "none"` leaves reachable (see DESIGN §1:
 * `Deno.kill`, signal listeners, raw stdio, `caches`, `BroadcastChannel`,
 * `navigator.locks`, `process.*`), installs the `sys` SDK and `console`, and
 * then imports the agent's module from memory.
 *
 * @module
 */

/** Limits the SDK enforces before a frame leaves the Worker (so an oversize call is answered, never lost). */
export interface PreludeConfig {
  /** Largest frame, bytes of UTF-8 (`frameBytesMax`). */
  frameBytesMax: number;
  /** Most calls in one batch (`batchCallsMax`). */
  batchCallsMax: number;
}

/** Installs the sandbox inside the worker; called with its config only. */
export function agentPrelude(config: PreludeConfig): void {
  const g = globalThis as unknown as Record<string, unknown> & {
    Deno: Record<string, unknown> & { inspect(v: unknown, o?: unknown): string };
    process?: Record<string, unknown>;
    navigator?: Record<string, unknown>;
  };
  const post = (globalThis as unknown as { postMessage(m: unknown): void }).postMessage.bind(globalThis);
  const addListener = globalThis.addEventListener.bind(globalThis);
  const stringify = JSON.stringify;
  const later = globalThis.setTimeout.bind(globalThis);
  const parse = JSON.parse;
  const inspect = g.Deno.inspect;
  const denied = (name: string) => () => {
    throw new TypeError(`${name} is not available inside the sandbox`);
  };

  // --- Lock down what permissions do not cover. -----------------------------
  for (
    const key of [
      "kill",
      "addSignalListener",
      "removeSignalListener",
      "stdin",
      "stdout",
      "stderr",
      "exit",
      "chdir",
      "umask",
    ]
  ) {
    try {
      Object.defineProperty(g.Deno, key, { get: denied(`Deno.${key}`), configurable: false });
    } catch { /* already locked */ }
  }
  // Runtime internals (`Deno[Deno.internal].core` reaches raw ops such as
  // writes to the cell's stdio): gone before agent code runs.
  const internal = (g.Deno as Record<PropertyKey, unknown>).internal as symbol | undefined;
  if (typeof internal === "symbol") {
    try {
      Object.defineProperty(g.Deno, internal, { get: denied("Deno internals"), configurable: false });
    } catch { /* already locked */ }
  }
  // A nested Worker would start with a fresh, unlocked global.
  for (const key of ["caches", "BroadcastChannel", "SharedWorker", "Worker"]) {
    try {
      Object.defineProperty(globalThis, key, { get: denied(key), configurable: false });
    } catch { /* already locked */ }
  }
  if (g.navigator) {
    try {
      Object.defineProperty(g.navigator, "locks", { get: denied("navigator.locks"), configurable: false });
    } catch { /* already locked */ }
  }
  if (g.process) {
    for (const key of ["kill", "exit", "abort", "reallyExit", "on", "once", "addListener", "prependListener"]) {
      try {
        Object.defineProperty(g.process, key, { value: denied(`process.${key}`), configurable: false });
      } catch { /* already locked */ }
    }
    for (const key of ["stdin", "stdout", "stderr"]) {
      try {
        Object.defineProperty(g.process, key, { get: denied(`process.${key}`), configurable: false });
      } catch { /* already locked */ }
    }
  }

  // Host identity: paths and pids of the cell process are nobody's business.
  // The agent sees its kernel pid and parent (set at start) and a neutral cwd.
  const identity = { pid: 0, ppid: 0 };
  const neutral: [object | undefined, string, PropertyDescriptor][] = [
    [g.Deno, "cwd", { value: () => "/workspace" }],
    [g.Deno, "execPath", { value: denied("Deno.execPath") }],
    [g.Deno, "pid", { get: () => identity.pid }],
    [g.Deno, "ppid", { get: () => identity.ppid }],
  ];
  for (const [target, key, descriptor] of neutral) {
    if (target === undefined) continue;
    try {
      Object.defineProperty(target, key, { ...descriptor, configurable: false });
    } catch { /* not configurable: left as the runtime made it */ }
  }
  // `process.pid`, `ppid` and `execPath` are fixed getters of the runtime, so
  // the global `process` becomes a view that answers them neutrally.
  if (g.process) {
    const real = g.process;
    const shadow: Record<string, () => unknown> = {
      pid: () => identity.pid,
      ppid: () => identity.ppid,
      execPath: () => "deno",
      argv: () => ["deno"],
      argv0: () => "deno",
      execArgv: () => [],
      title: () => "agent",
      cwd: () => () => "/workspace",
    };
    const view = new Proxy(real, {
      get: (target, key) => Object.hasOwn(shadow, key) ? shadow[key as string]() : Reflect.get(target, key, target),
    });
    try {
      Object.defineProperty(globalThis, "process", { value: view, configurable: false, writable: false });
    } catch { /* already locked */ }
  }

  // --- The syscall SDK. -------------------------------------------------------
  class SysError extends Error {
    code: string;
    constructor(code: string, message: string) {
      super(message);
      this.name = "SysError";
      this.code = code;
    }
  }
  type Waiter = { resolve(v: unknown): void; reject(e: unknown): void };
  const pending = new Map<number, Waiter>();
  let nextId = 1;
  let signalHandlers: ((sig: string) => void)[] = [];

  const utf8Length = (text: string) =>
    text.length * 3 <= config.frameBytesMax ? 0 : new TextEncoder().encode(text).length;
  /** Post a frame, or answer its calls with E2BIG here when it could never be accepted. */
  const postFrame = (text: string, ids: number[]) => {
    const bytes = utf8Length(text);
    if (bytes <= config.frameBytesMax) return post(text);
    const message = `frame of ${bytes} bytes over ${config.frameBytesMax}`;
    for (const id of ids) settle({ id, ok: false, error: { code: "E2BIG", message } });
  };
  const settle = (c: { id: number; ok: boolean; value?: unknown; error?: { code: string; message: string } }) => {
    const waiter = pending.get(c.id);
    if (waiter === undefined) return;
    pending.delete(c.id);
    if (c.ok) waiter.resolve(c.value);
    else waiter.reject(new SysError(c.error?.code ?? "EIO", c.error?.message ?? "error"));
  };
  const call = (name: string, args: unknown = {}): Promise<unknown> => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      postFrame(stringify({ id, call: name, args }), [id]);
    });
  };
  const fireAndForget = (name: string, args: unknown) => {
    postFrame(stringify({ id: 0, call: name, args }), []);
  };
  const batch = (calls: { call: string; args?: unknown }[]) => {
    const frames = calls.map((c) => ({ id: nextId++, call: c.call, args: c.args ?? {} }));
    const results = frames.map((f) =>
      new Promise((resolve) => {
        pending.set(f.id, {
          resolve: (value) => resolve({ ok: true, value }),
          reject: (error) => resolve({ ok: false, error }),
        });
      })
    );
    if (frames.length > config.batchCallsMax) {
      const message = `batch of ${frames.length} calls over ${config.batchCallsMax}`;
      for (const f of frames) settle({ id: f.id, ok: false, error: { code: "E2BIG", message } });
    } else {
      postFrame(stringify({ batch: frames }), frames.map((f) => f.id));
    }
    return Promise.all(results);
  };
  const exit = (code: number, extra: Record<string, unknown> = {}) => {
    post({ t: "exit", code, ...extra });
    return new Promise<never>(() => {});
  };
  const sys = Object.freeze({
    call,
    batch,
    exit: (code = 0) => exit(Number.isInteger(code) ? code : 1),
    info: () => call("proc.info"),
    onSignal: (fn: (sig: string) => void) => {
      signalHandlers = [...signalHandlers, fn];
    },
    SysError,
    fs: Object.freeze({
      readText: (path: string) => call("fs.readText", { path }),
      readBytes: async (path: string) => Uint8Array.fromBase64(await call("fs.readBytes", { path }) as string),
      writeText: (path: string, text: string) => call("fs.writeText", { path, text }),
      writeBytes: (path: string, data: Uint8Array) => call("fs.writeBytes", { path, data: data.toBase64() }),
      append: (path: string, text: string) => call("fs.append", { path, text }),
      stat: (path: string) => call("fs.stat", { path }),
      readDir: (path = ".") => call("fs.readDir", { path }),
      mkdir: (path: string, options: { recursive?: boolean } = {}) => call("fs.mkdir", { path, ...options }),
      remove: (path: string, options: { recursive?: boolean } = {}) => call("fs.remove", { path, ...options }),
      rename: (from: string, to: string) => call("fs.rename", { from, to }),
    }),
    time: Object.freeze({ now: () => call("time.now") }),
    proc: Object.freeze({
      spawn: (spec: string | Record<string, unknown>) =>
        call("proc.spawn", typeof spec === "string" ? { code: spec } : spec),
      wait: (pid: number, timeoutMs?: number) =>
        call("proc.wait", timeoutMs === undefined ? { pid } : { pid, timeoutMs }),
      kill: (pid: number, signal: "TERM" | "KILL" = "KILL") => call("proc.kill", { pid, signal }),
      list: () => call("proc.list"),
    }),
    ipc: Object.freeze({
      pipe: () => call("ipc.pipe"),
      write: (fd: number, data: string | Uint8Array, options: Record<string, unknown> = {}) =>
        call("ipc.write", {
          fd,
          data: (typeof data === "string" ? new TextEncoder().encode(data) : data).toBase64(),
          ...options,
        }),
      read: async (fd: number, max = 65536, options: Record<string, unknown> = {}) => {
        const r = await call("ipc.read", { fd, max, ...options }) as { data: string; eof: boolean };
        return { bytes: Uint8Array.fromBase64(r.data), eof: r.eof };
      },
      readText: async (fd: number, max = 65536, options: Record<string, unknown> = {}) => {
        const r = await call("ipc.read", { fd, max, ...options }) as { data: string; eof: boolean };
        return { text: new TextDecoder().decode(Uint8Array.fromBase64(r.data)), eof: r.eof };
      },
      close: (fd: number) => call("ipc.close", { fd }),
      mq: Object.freeze({
        open: (name: string, kind = "fifo") => call("ipc.mq.open", { name, kind }),
        send: (id: string, data: string, priority?: number) =>
          call("ipc.mq.send", priority === undefined ? { id, data } : { id, data, priority }),
        recv: (id: string, timeoutMs?: number) =>
          call("ipc.mq.recv", timeoutMs === undefined ? { id } : { id, timeoutMs }),
        close: (id: string) => call("ipc.mq.close", { id }),
      }),
      topic: Object.freeze({
        subscribe: (name: string) => call("ipc.topic.subscribe", { name }),
        publish: (name: string, data: string) => call("ipc.topic.publish", { name, data }),
        recv: (sub: string, timeoutMs?: number) =>
          call("ipc.topic.recv", timeoutMs === undefined ? { sub } : { sub, timeoutMs }),
        unsubscribe: (sub: string) => call("ipc.topic.unsubscribe", { sub }),
      }),
      shm: Object.freeze({
        create: (size: number) => call("ipc.shm.create", { size }),
        attach: (id: string) => call("ipc.shm.attach", { id }),
        read: async (id: string, offset: number, length: number) =>
          Uint8Array.fromBase64(await call("ipc.shm.read", { id, offset, length }) as string),
        write: (id: string, offset: number, data: Uint8Array) =>
          call("ipc.shm.write", { id, offset, data: data.toBase64() }),
        detach: (id: string) => call("ipc.shm.detach", { id }),
      }),
    }),
    net: Object.freeze({
      fetch: async (
        url: string,
        init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number } =
          {},
      ) => {
        const { body, ...rest } = init;
        const args: Record<string, unknown> = { url, ...rest };
        if (typeof body === "string") args.body = body;
        else if (body instanceof Uint8Array) args.bodyBase64 = body.toBase64();
        const r = await call("net.fetch", args) as { bodyBase64: string } & Record<string, unknown>;
        const bytes = Uint8Array.fromBase64(r.bodyBase64);
        return Object.freeze({
          status: r.status,
          statusText: r.statusText,
          headers: r.headers,
          url: r.url,
          redirects: r.redirects,
          bytes,
          text: () => new TextDecoder().decode(bytes),
          json: () => parse(new TextDecoder().decode(bytes)),
        });
      },
    }),
    random: Object.freeze({
      bytes: async (n: number) => Uint8Array.fromBase64(await call("random.bytes", { n }) as string),
    }),
  });
  Object.defineProperty(globalThis, "sys", { value: sys, enumerable: false, configurable: false, writable: false });

  const format = (args: unknown[]) =>
    args.map((a) => typeof a === "string" ? a : inspect(a, { colors: false, depth: 4 })).join(" ") + "\n";
  const out = (...args: unknown[]) => fireAndForget("io.write", { fd: 1, data: format(args) });
  const err = (...args: unknown[]) => fireAndForget("io.write", { fd: 2, data: format(args) });
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

  // --- Messages from the cell: start, completions, signals. ------------------
  let moduleUrl = "\u0000";
  const describe = (e: unknown) => {
    const text = e instanceof Error
      ? `${e.name}: ${e.message}` + (e.stack ? `\n${e.stack.split("\n").slice(1, 8).join("\n")}` : "")
      : String(e);
    const self = import.meta.url.slice(0, 48);
    const internal = (line: string) => line.startsWith("    at ") && (line.includes(self) || line.includes("(ext:"));
    return text.split("\n").filter((line) => !internal(line)).join("\n")
      .replaceAll(moduleUrl, "agent");
  };
  let started = false;
  addListener("message", async (event: Event) => {
    const data = (event as MessageEvent).data;
    if (typeof data === "string") {
      const msg = parse(data);
      if (Array.isArray(msg.batch)) { for (const c of msg.batch) settle(c); }
      else if (typeof msg.id === "number") settle(msg);
      return;
    }
    if (data?.t === "warm") return void post({ t: "warmed" });
    if (data?.t === "signal") {
      // Default action of TERM without a handler: exit, like a process would.
      if (signalHandlers.length === 0) return void exit(143, { signal: String(data.sig) });
      for (const fn of signalHandlers) {
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
    try {
      moduleUrl = `data:${mime};base64,${new TextEncoder().encode(data.code).toBase64()}`;
      const mod = await import(moduleUrl);
      const result = typeof mod.default === "function" ? await mod.default() : null;
      // One turn of the event loop before the exit: a promise the agent left
      // rejected (or a timer of 0 that throws) ends it with an error first.
      await new Promise((resolve) => later(resolve, 0));
      let json: string | undefined;
      try {
        json = stringify(result ?? null);
      } catch (e) {
        return exit(1, { error: `result is not JSON-serialisable: ${describe(e)}` });
      }
      await exit(0, { result: json });
    } catch (e) {
      await exit(1, { error: describe(e) });
    }
  });
  addListener("unhandledrejection", (event: Event) => {
    event.preventDefault();
    exit(1, { error: `unhandled rejection: ${describe((event as PromiseRejectionEvent).reason)}` });
  });
  addListener("error", (event: Event) => {
    event.preventDefault();
    exit(1, { error: describe((event as ErrorEvent).error ?? (event as ErrorEvent).message) });
  });
  // Pay the first dynamic import of a data: module now, not on the agent's clock.
  import("data:text/javascript,export default 0").then(() => post({ t: "ready" }), () => post({ t: "ready" }));
}
