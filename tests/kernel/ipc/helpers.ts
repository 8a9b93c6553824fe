/**
 * Test harness for IPC: the real `Dispatcher` over a table of the `ipc.*`
 * rows, a trivial confinement, and real `Process` rows.
 *
 * @module
 */

import assert from "node:assert/strict";
import { KernelError } from "../../../kernel/errno.ts";
import { Ipc } from "../../../kernel/ipc/mod.ts";
import { agentLimitsDefault } from "../../../kernel/limits.ts";
import { Arena } from "../../../kernel/memory/mod.ts";
import { type Capability, type Process, ProcessTable } from "../../../kernel/process/table.ts";
import { Dispatcher } from "../../../kernel/syscall/dispatch.ts";
import type { Completion } from "../../../kernel/syscall/frame.ts";
import { SyscallTable } from "../../../kernel/syscall/table.ts";

/** A harness: one arena, one Ipc, one dispatcher, a process table. */
export interface Harness {
  arena: Arena;
  ipc: Ipc;
  dispatcher: Dispatcher;
  procs: ProcessTable;
  /** A Running process of `tenant` with capability `ipc` (or `caps`). */
  spawn(tenant?: string, caps?: Capability[]): Process;
  /** Dispatch and return the completion. */
  call(proc: Process, call: string, args: unknown): Promise<Completion>;
  /** Dispatch, assert success, return the value. */
  ok<T = unknown>(proc: Process, call: string, args: unknown): Promise<T>;
  /** Dispatch, assert failure, return the errno. */
  err(proc: Process, call: string, args: unknown): Promise<string>;
}

let nextId = 1;

/** Build a harness over an arena of `capacityBytes`. */
export function harness(capacityBytes = 8 * 1024 * 1024): Harness {
  const arena = new Arena({ capacityBytes });
  const ipc = new Ipc({ arena });
  const dispatcher = new Dispatcher({
    table: new SyscallTable(ipc.syscalls()),
    confinement: {
      checkPath: () => {
        throw new KernelError("EACCES", "no paths in ipc tests");
      },
    },
  });
  const procs = new ProcessTable();
  const call = (proc: Process, name: string, args: unknown) =>
    dispatcher.dispatch(proc, { id: nextId++, call: name, args });
  return {
    arena,
    ipc,
    dispatcher,
    procs,
    spawn(tenant = "acme", caps: Capability[] = ["ipc"]) {
      const proc = procs.create({ tenant, capabilities: caps, limits: { ...agentLimitsDefault }, nowMs: 0 });
      proc.state = "Running";
      return proc;
    },
    call,
    async ok<T>(proc: Process, name: string, args: unknown): Promise<T> {
      const done = await call(proc, name, args);
      assert.ok(done.ok, `${name} failed: ${JSON.stringify(done)}`);
      return done.value as T;
    },
    async err(proc: Process, name: string, args: unknown): Promise<string> {
      const done = await call(proc, name, args);
      assert.ok(!done.ok, `${name} unexpectedly succeeded: ${JSON.stringify(done)}`);
      return done.error.code;
    },
  };
}

/** Base64 of a UTF-8 string. */
export function b64(text: string): string {
  return new TextEncoder().encode(text).toBase64();
}

/** UTF-8 text of base64. */
export function unb64(data: string): string {
  return new TextDecoder().decode(Uint8Array.fromBase64(data));
}

/** Let pending microtasks and one macrotask turn run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Track whether a promise has settled. */
export function track<T>(promise: Promise<T>): { readonly done: boolean; promise: Promise<T> } {
  const state = { done: false, promise };
  promise.then(() => state.done = true, () => state.done = true);
  return state;
}
