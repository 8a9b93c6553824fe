/**
 * One bounded `deno` subprocess of `packages add`: the same executable as
 * this process, stdin closed, colours off, killed (SIGKILL) when it runs
 * past its time or writes past its stdout cap; its stderr is kept up to
 * {@linkcode subprocessErrorBytesMax} (the rest is read and dropped).
 *
 * @module
 */

import { subprocessErrorBytesMax, subprocessOutputBytesMax } from "./limits.ts";

/** How a subprocess ended and what it wrote. */
export interface DenoOutput {
  /** Exit code (`-1` when killed). */
  code: number;
  stdout: string;
  stderr: string;
  /** Killed because it ran past `timeoutMs`. */
  timedOut: boolean;
  /** Killed because its stdout passed `stdoutBytesMax`. */
  overflowed: boolean;
}

/** Options of {@linkcode runDeno}. */
export interface DenoCommandOptions {
  /** Variables set for the subprocess (`NO_COLOR` is always set). */
  env: Record<string, string>;
  /** Start from an empty environment instead of this process's. */
  clearEnv: boolean;
  /** Wall time before the subprocess is killed, ms. */
  timeoutMs: number;
  /** Stdout kept before the subprocess is killed, bytes. @default subprocessOutputBytesMax */
  stdoutBytesMax?: number;
  /** Working directory of the subprocess (default: this process's). */
  cwd?: string;
}

/**
 * Run `deno <args>` to its end, bounded (see the module doc).
 *
 * @param args the arguments after the executable
 * @param options environment and bounds
 * @returns its exit code and output
 * @example
 * ```ts
 * import { runDeno } from "./deno_command.ts";
 * const out = await runDeno(["--version"], { env: {}, clearEnv: true, timeoutMs: 10_000 });
 * out.stdout.startsWith("deno "); // true
 * ```
 */
export async function runDeno(args: string[], options: DenoCommandOptions): Promise<DenoOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { ...options.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    clearEnv: options.clearEnv,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  let overflowed = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  try {
    const [stdout, stderr, status] = await Promise.all([
      readCapped(child.stdout, options.stdoutBytesMax ?? subprocessOutputBytesMax, () => {
        overflowed = true;
        kill();
      }),
      readCapped(child.stderr, subprocessErrorBytesMax, () => {}),
      child.status,
    ]);
    return { code: timedOut || overflowed ? -1 : status.code, stdout, stderr, timedOut, overflowed };
  } finally {
    clearTimeout(timer);
  }
}

/** Read a stream to its end, keeping at most `max` bytes; `onOverflow` once when it passes them. */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number, onOverflow: () => void): Promise<string> {
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let over = false;
  for await (const chunk of stream) {
    if (over) continue;
    if (kept + chunk.length > max) {
      chunks.push(chunk.subarray(0, max - kept));
      kept = max;
      over = true;
      onOverflow();
      continue;
    }
    chunks.push(chunk);
    kept += chunk.length;
  }
  const all = new Uint8Array(kept);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all);
}
