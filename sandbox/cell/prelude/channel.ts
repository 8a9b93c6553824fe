/**
 * Prelude part: the syscall channel inside the Worker — ids, pending calls,
 * batches, completions, and the size limits the SDK answers itself (so an
 * oversize call is answered `E2BIG`, never lost). Shipped as source: it
 * must not close over anything in this module.
 *
 * @module
 */

/** Limits the SDK enforces before a frame leaves the Worker. */
export interface PreludeConfig {
  /** Largest frame, bytes of UTF-8 (`frameBytesMax`). */
  frameBytesMax: number;
  /** Most calls in one batch (`batchCallsMax`). */
  batchCallsMax: number;
}

/** One completion as the cell forwards it. */
export interface PreludeCompletion {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { code: string; message: string };
}

/** What the other prelude parts use of the channel. */
export interface PreludeChannel {
  SysError: new (code: string, message: string) => Error & { code: string };
  call(name: string, args?: unknown): Promise<unknown>;
  fireAndForget(name: string, args: unknown): void;
  batch(calls: { call: string; args?: unknown }[]): Promise<unknown[]>;
  settle(c: PreludeCompletion): void;
  exit(code: number, extra?: Record<string, unknown>): Promise<never>;
  post(message: unknown): void;
}

/** Build the channel over the Worker's `postMessage`. */
export function preludeChannel(config: PreludeConfig): PreludeChannel {
  const post = (globalThis as unknown as { postMessage(m: unknown): void }).postMessage.bind(globalThis);
  const stringify = JSON.stringify;
  class SysError extends Error {
    code: string;
    constructor(code: string, message: string) {
      super(message);
      this.name = "SysError";
      this.code = code;
    }
  }
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let nextId = 1;
  const settle = (c: PreludeCompletion) => {
    const waiter = pending.get(c.id);
    if (waiter === undefined) return;
    pending.delete(c.id);
    if (c.ok) waiter.resolve(c.value);
    else waiter.reject(new SysError(c.error?.code ?? "EIO", c.error?.message ?? "error"));
  };
  const refuse = (ids: number[], message: string) => {
    for (const id of ids) settle({ id, ok: false, error: { code: "E2BIG", message } });
  };
  /** Post a frame, or answer its calls with E2BIG here when it could never be accepted. */
  const postFrame = (text: string, ids: number[]) => {
    const bytes = text.length * 3 <= config.frameBytesMax ? 0 : new TextEncoder().encode(text).length;
    if (bytes <= config.frameBytesMax) return post(text);
    refuse(ids, `frame of ${bytes} bytes over ${config.frameBytesMax}`);
  };
  const call = (name: string, args: unknown = {}): Promise<unknown> => {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      postFrame(stringify({ id, call: name, args }), [id]);
    });
  };
  const batch = (calls: { call: string; args?: unknown }[]) => {
    const frames = calls.map((c) => ({ id: nextId++, call: c.call, args: c.args ?? {} }));
    const results = frames.map((f) =>
      new Promise((resolve) => {
        const ok = (value: unknown) => resolve({ ok: true, value });
        pending.set(f.id, { resolve: ok, reject: (error) => resolve({ ok: false, error }) });
      })
    );
    const ids = frames.map((f) => f.id);
    if (frames.length > config.batchCallsMax) {
      refuse(ids, `batch of ${frames.length} calls over ${config.batchCallsMax}`);
    } else postFrame(stringify({ batch: frames }), ids);
    return Promise.all(results);
  };
  return {
    SysError,
    call,
    batch,
    settle,
    post,
    fireAndForget: (name, args) => postFrame(stringify({ id: 0, call: name, args }), []),
    exit: (code, extra = {}) => {
      post({ t: "exit", code, ...extra });
      return new Promise<never>(() => {});
    },
  };
}
