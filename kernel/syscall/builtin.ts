/**
 * Rows every agent may call without a capability: output, info, time and
 * randomness.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../errno.ts";
import type { Process } from "../process/mod.ts";
import { defineSyscall, type SyscallDef } from "./table.ts";

/** Largest single `io.write`, bytes of UTF-16 text. */
export const writeBytesMax = 1024 * 1024;
/** Largest `random.bytes` request. */
export const randomBytesMax = 65_536;

/** What the builtin rows need from the host. */
export interface BuiltinHooks {
  /** Append captured output for `proc`; fd 1 = stdout, 2 = stderr. */
  write(proc: Process, fd: 1 | 2, data: string): void;
  /** Wall clock in ms since the epoch. */
  nowMs(): number;
}

/**
 * The builtin rows.
 *
 * @example
 * ```ts
 * const rows = builtinSyscalls({ write: () => {}, nowMs: Date.now });
 * ```
 */
export function builtinSyscalls(hooks: BuiltinHooks): SyscallDef[] {
  return [
    defineSyscall({
      name: "io.write",
      args: z.strictObject({ fd: z.union([z.literal(1), z.literal(2)]), data: z.string().max(writeBytesMax) }),
      capability: null,
      handler: ({ proc, args, addBytes }) => {
        addBytes(args.data.length);
        hooks.write(proc, args.fd, args.data);
      },
    }),
    defineSyscall({
      name: "proc.info",
      args: z.strictObject({}),
      capability: null,
      handler: ({ proc }) => ({
        pid: proc.pid,
        parent: proc.parent,
        tenant: proc.tenant,
        capabilities: [...proc.capabilities].sort(),
        limits: proc.limits,
        usage: proc.usage,
      }),
    }),
    defineSyscall({
      name: "time.now",
      args: z.strictObject({}),
      capability: null,
      handler: () => hooks.nowMs(),
    }),
    defineSyscall({
      name: "random.bytes",
      args: z.strictObject({ n: z.int().min(0) }),
      capability: null,
      handler: ({ args, addBytes }) => {
        if (args.n > randomBytesMax) throw new KernelError("E2BIG", `at most ${randomBytesMax} random bytes per call`);
        addBytes(args.n);
        return crypto.getRandomValues(new Uint8Array(args.n)).toBase64();
      },
    }),
  ];
}
