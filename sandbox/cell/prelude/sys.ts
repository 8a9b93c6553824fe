/**
 * Prelude part: the `sys` SDK the agent sees — one method per syscall
 * family, over the prelude's channel. Shipped as source: these functions
 * must not close over anything in this module (they refer to each other by
 * name, which the prelude script keeps).
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";

type Call = PreludeChannel["call"];

/** `sys.fs`. */
export function preludeSysFs(call: Call): object {
  return Object.freeze({
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
  });
}

/** `sys.proc`. */
export function preludeSysProc(call: Call): object {
  return Object.freeze({
    spawn: (spec: string | Record<string, unknown>) =>
      call("proc.spawn", typeof spec === "string" ? { code: spec } : spec),
    wait: (pid: number, timeoutMs?: number) =>
      call("proc.wait", timeoutMs === undefined ? { pid } : { pid, timeoutMs }),
    kill: (pid: number, signal: "TERM" | "KILL" = "KILL") => call("proc.kill", { pid, signal }),
    list: () => call("proc.list"),
  });
}

/** `sys.ipc`: pipes, message queues, topics, shared memory. */
export function preludeSysIpc(call: Call): object {
  const read = async (fd: number, max: number, options: Record<string, unknown>) => {
    const r = await call("ipc.read", { fd, max, ...options }) as { data: string; eof: boolean };
    return { bytes: Uint8Array.fromBase64(r.data), eof: r.eof };
  };
  const opt = (args: Record<string, unknown>, key: string, value: unknown) =>
    value === undefined ? args : { ...args, [key]: value };
  return Object.freeze({
    pipe: () => call("ipc.pipe"),
    write: (fd: number, data: string | Uint8Array, options: Record<string, unknown> = {}) =>
      call("ipc.write", {
        fd,
        data: (typeof data === "string" ? new TextEncoder().encode(data) : data).toBase64(),
        ...options,
      }),
    read: (fd: number, max = 65536, options: Record<string, unknown> = {}) => read(fd, max, options),
    readText: async (fd: number, max = 65536, options: Record<string, unknown> = {}) => {
      const r = await read(fd, max, options);
      return { text: new TextDecoder().decode(r.bytes), eof: r.eof };
    },
    close: (fd: number) => call("ipc.close", { fd }),
    mq: Object.freeze({
      open: (name: string, kind = "fifo") => call("ipc.mq.open", { name, kind }),
      send: (id: string, data: string, priority?: number) =>
        call("ipc.mq.send", opt({ id, data }, "priority", priority)),
      recv: (id: string, timeoutMs?: number) => call("ipc.mq.recv", opt({ id }, "timeoutMs", timeoutMs)),
      close: (id: string) => call("ipc.mq.close", { id }),
    }),
    topic: Object.freeze({
      subscribe: (name: string) => call("ipc.topic.subscribe", { name }),
      publish: (name: string, data: string) => call("ipc.topic.publish", { name, data }),
      recv: (sub: string, timeoutMs?: number) => call("ipc.topic.recv", opt({ sub }, "timeoutMs", timeoutMs)),
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
  });
}

/** `sys.net.fetch`. */
export function preludeSysNet(call: Call): object {
  const parse = JSON.parse;
  type Init = { method?: string; headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number };
  const fetch = async (url: string, init: Init = {}) => {
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
  };
  return Object.freeze({ fetch });
}

/** The whole `sys` object (frozen), with `onSignal` adding to `signals`. */
export function preludeSys(ch: PreludeChannel, signals: ((sig: string) => void)[]): object {
  return Object.freeze({
    call: ch.call,
    batch: ch.batch,
    exit: (code = 0) => ch.exit(Number.isInteger(code) ? code : 1),
    info: () => ch.call("proc.info"),
    onSignal: (fn: (sig: string) => void) => void signals.push(fn),
    SysError: ch.SysError,
    fs: preludeSysFs(ch.call),
    time: Object.freeze({ now: () => ch.call("time.now") }),
    proc: preludeSysProc(ch.call),
    ipc: preludeSysIpc(ch.call),
    net: preludeSysNet(ch.call),
    random: Object.freeze({
      bytes: async (n: number) => Uint8Array.fromBase64(await ch.call("random.bytes", { n }) as string),
    }),
  });
}
