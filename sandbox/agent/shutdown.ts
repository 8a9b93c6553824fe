/**
 * The one exit decision of an agent: every source that can end it is a
 * typed input, and `decide` maps it to exactly one reason, exit code and
 * message (imitating edge-runtime's `supervise()` and its `ShutdownReason`).
 * The supervisor takes the first input and ignores the rest.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";
import { jsonDepthMax, resultBytesMax } from "../../kernel/mod.ts";
import type { ExitReason } from "../../kernel/process/mod.ts";
import { jsonTooDeep } from "../../kernel/syscall/mod.ts";
import { cellExitCpu, cellExitHeapOom, cellExitRss } from "../cell/mod.ts";

/** Exit status reported for each non-`exit` reason. */
export const exitCodeFor: Record<Exclude<ExitReason, "exit">, number> = {
  error: 1,
  killed: 137,
  timeout: 124,
  cpu: 152,
  memory: 137,
  output: 153,
  crash: 134,
};

/** Exit status of an agent that ended on `TERM` (128 + SIGTERM), like a process would. */
export const exitCodeTerm = 143;

/** What can end an agent. */
export type EndInput =
  /** The cell's trusted exit frame: the agent returned, threw, or left on TERM. */
  | { kind: "exit"; code: number; result?: string; error?: string; term: boolean }
  /** The cell's watchdog (or its output relay) ended it. */
  | { kind: "limit"; limit: "cpu" | "memory" | "output"; outputBytes: number }
  /** The cell process ended before it said why. */
  | { kind: "cell-ended"; status: Deno.CommandStatus }
  /** The wall-clock timer fired. */
  | { kind: "wall" }
  /** A kill: from the API, the parent, a `TERM` grace period or shutdown. */
  | { kind: "kill"; reason?: Exclude<ExitReason, "exit">; message?: string }
  /** The supervisor counted more output than `outputBytes`. */
  | { kind: "output"; outputBytes: number }
  /** The spawn failed before the agent ran. */
  | { kind: "start-failed"; error: unknown };

/** How an agent ended. */
export interface Shutdown {
  reason: ExitReason;
  exitCode: number;
  message?: string;
  /** The agent's result (parsed JSON), for `exit`. */
  result: unknown;
}

/**
 * The decision for `input`.
 *
 * @example
 * ```ts
 * decide({ kind: "wall" }); // { reason: "timeout", exitCode: 124, ... }
 * ```
 */
export function decide(input: EndInput): Shutdown {
  switch (input.kind) {
    case "exit":
      return exited(input);
    case "limit":
      return input.limit === "output"
        ? ended("output", `output over ${input.outputBytes} bytes`)
        : ended(input.limit, `${input.limit} limit exceeded`);
    case "cell-ended":
      return cellEnded(input.status);
    case "wall":
      return ended("timeout");
    case "kill":
      return ended(input.reason ?? "killed", input.message);
    case "output":
      return ended("output", `output over ${input.outputBytes} bytes`);
    case "start-failed":
      return input.error instanceof KernelError
        ? ended("error", input.error.message)
        : ended("crash", `cell failed to start: ${String(input.error)}`);
    default: {
      const never: never = input;
      throw new Error(`unknown end input ${JSON.stringify(never)}`);
    }
  }
}

function ended(reason: Exclude<ExitReason, "exit">, message?: string): Shutdown {
  return { reason, exitCode: exitCodeFor[reason], message, result: null };
}

function exited(input: Extract<EndInput, { kind: "exit" }>): Shutdown {
  if (input.term) return { reason: "killed", exitCode: exitCodeTerm, message: "exited on TERM", result: null };
  if (input.error !== undefined) {
    return { reason: "error", exitCode: input.code === 0 ? 1 : input.code, message: input.error, result: null };
  }
  if (input.result === undefined) return { reason: "exit", exitCode: input.code, result: null };
  if (input.result.length > resultBytesMax) {
    return { reason: "error", exitCode: 1, message: `result larger than ${resultBytesMax} bytes`, result: null };
  }
  if (jsonTooDeep(input.result, jsonDepthMax)) {
    return { reason: "error", exitCode: 1, message: `result nested deeper than ${jsonDepthMax} levels`, result: null };
  }
  let result: unknown = null;
  try {
    result = JSON.parse(input.result);
  } catch { /* not JSON: no result */ }
  return { reason: "exit", exitCode: input.code, result };
}

function cellEnded(status: Deno.CommandStatus): Shutdown {
  if (status.code === cellExitCpu) return ended("cpu", "cpu limit exceeded");
  if (status.code === cellExitHeapOom) return ended("memory", "heap limit exceeded");
  if (status.code === cellExitRss) return ended("memory", "rss limit exceeded");
  const how = status.signal ? `signal ${status.signal}` : `status ${status.code}`;
  return ended("crash", `cell ended unexpectedly (${how})`);
}
