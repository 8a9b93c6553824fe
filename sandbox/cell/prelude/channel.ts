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
  /** Characters of frames the cell may hold for this Worker before the next one waits (`cellRelayCharsMax`). */
  relayCharsMax: number;
  /** Characters of console output one `io.write` frame carries (`outputFrameCharsMax`). */
  outputFrameCharsMax: number;
  /** Most modules of the agent's graph (`moduleCountMax`). */
  moduleCountMax: number;
  /** Most source characters of the agent's graph (`moduleGraphBytesMax`). */
  moduleGraphBytesMax: number;
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
  /** Post a text frame as it is (the agent's raw `postMessage`), under the relay's backpressure. */
  postText(text: string): void;
  /** Take the cell's relay credit (its first `warm` message carries it): from then on a frame waits for room. */
  useCredit(credit: SharedArrayBuffer): void;
}

/**
 * Backpressure on the frames this Worker posts, like a write to a full
 * pipe: the cell's main thread shares a counter of the characters it holds
 * (posted, not yet written to the supervisor). While it holds `charsMax`,
 * `reserve` blocks this thread until the cell has written what came before
 * (a larger frame waits until it holds none); nothing is dropped.
 */
export function preludeRelayCredit(
  charsMax: number,
): { reserve(chars: number): void; use(buffer: SharedArrayBuffer): void } {
  const { load, add, wait } = Atomics;
  let held: Int32Array | undefined;
  return {
    reserve: (chars) => {
      if (held === undefined) return;
      for (;;) {
        const now = load(held, 0);
        if (now === 0 || now + chars <= charsMax) break;
        wait(held, 0, now);
      }
      add(held, 0, chars);
    },
    use: (buffer) => {
      held ??= new Int32Array(buffer);
    },
  };
}

/**
 * The agent's own `postMessage` (a raw channel past the SDK): text frames
 * go under the same backpressure as the SDK's, so a raw flood cannot grow
 * the cell either; anything but a string is refused (the cell ignores it,
 * and its size could not be bounded).
 */
export function preludeGuardPost(ch: PreludeChannel): void {
  const postMessage = function postMessage(message: unknown): void {
    if (typeof message !== "string") throw new TypeError("postMessage in the sandbox takes a string frame");
    ch.postText(message);
  };
  Object.defineProperty(globalThis, "postMessage", { value: postMessage, writable: false, configurable: false });
}

/** The error class the SDK rejects a failed call with: its `code` is the errno. */
export function preludeSysError(): new (code: string, message: string) => Error & { code: string } {
  return class SysError extends Error {
    code: string;
    constructor(code: string, message: string) {
      super(message);
      this.name = "SysError";
      this.code = code;
    }
  };
}

/** Build the channel over the Worker's `postMessage`. */
export function preludeChannel(config: PreludeConfig): PreludeChannel {
  const post = (globalThis as unknown as { postMessage(m: unknown): void }).postMessage.bind(globalThis);
  const stringify = JSON.stringify;
  const credit = preludeRelayCredit(config.relayCharsMax);
  const SysError = preludeSysError();
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
    if (bytes <= config.frameBytesMax) {
      credit.reserve(text.length);
      return post(text);
    }
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
    postText: (text) => {
      credit.reserve(text.length);
      post(text);
    },
    fireAndForget: (name, args) => postFrame(stringify({ id: 0, call: name, args }), []),
    useCredit: credit.use,
    exit: (code, extra = {}) => {
      post({ t: "exit", code, ...extra });
      return new Promise<never>(() => {});
    },
  };
}
