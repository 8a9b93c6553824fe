/**
 * What the runtime tells in-process listeners (the CLI's trace, the API's
 * audit of denials, tests), beside what it records in the event ring.
 *
 * @module
 */

import type { Errno } from "../../kernel/mod.ts";
import type { ExitReason, ProcState } from "../../kernel/process/mod.ts";
import type { DenialLayer } from "../../kernel/syscall/mod.ts";
import type { Approval } from "../approvals.ts";

/** One runtime event. */
export type RuntimeEvent =
  | { type: "lifecycle"; pid: number; tenant: string; from: ProcState; to: ProcState }
  | {
    type: "syscall";
    pid: number;
    tenant: string;
    call: string;
    args: unknown;
    errno: Errno | null;
    latencyUs: number;
    bytes: number;
    message: string | null;
  }
  | { type: "denial"; pid: number; tenant: string; call: string; layer: DenialLayer; errno: Errno; message: string }
  | { type: "output"; pid: number; tenant: string; fd: 1 | 2; data: string }
  | { type: "exit"; pid: number; tenant: string; reason: ExitReason; exitCode: number; message?: string }
  | {
    /** An `ask` rule made a call wait (state `pending`), or that approval reached its final state. */
    type: "approval";
    pid: number;
    tenant: string;
    approval: Readonly<Approval>;
  }
  | {
    /** A package of the store was loaded into the agent's module graph. */
    type: "import";
    pid: number;
    tenant: string;
    name: string;
    version: string;
    /** As the agent wrote it (`"lodash"`, `"npm:zod@^3"`). */
    specifier: string;
    /** SHA-256 of the bundle it got. */
    sha256: string;
  };
