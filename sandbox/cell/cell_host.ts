/**
 * The supervisor's handle on one cell subprocess: starts it with no
 * permissions, frames its stdout into decoded syscall/control frames (the
 * size cap is enforced while reading, before any parsing), writes lines to
 * its stdin, and reports how it ended.
 *
 * @module
 */

import { type AnswerLine, type Decoded, decodeLine, type FramedLine, LineFramer } from "../../kernel/syscall/mod.ts";
import { cellStartMsMax, frameBytesMax, jsonDepthMax } from "../../kernel/mod.ts";
import { removeEntries } from "../fs/mod.ts";

/** How to start a cell. */
export interface CellOptions {
  /** V8 old-space cap for the cell's isolates, MB. */
  heapMb: number;
  /** Directory under which the cell gets its private throw-away DENO_DIR. */
  scratchDir: string;
  /** Abandons the start: the cell is killed and its directory removed before `start` rejects. */
  signal?: AbortSignal;
  /** The entry module (default {@linkcode cellMainSource}; `leanCellEntry` builds the JavaScript one). */
  entry?: string;
}

/** A cell that did not report ready within `cellStartMsMax` of its start. */
export class CellStartTimeout extends Error {
  /** @param ms the deadline that passed */
  constructor(ms: number) {
    super(`cell did not start within ${ms} ms`);
    this.name = "CellStartTimeout";
  }
}

/** The cell's entry as source: TypeScript, transpiled by each cell in its fresh DENO_DIR. */
export const cellMainSource = new URL("./cell_main.ts", import.meta.url).pathname;

const stderrTailBytesMax = 8 * 1024;
const pendingRemovals = new Set<Promise<void>>();
/** Scratch directories of the cells of this process not yet disposed: never stale. */
const liveDirs = new Set<string>();

/** The Deno flags every cell runs with: no `--allow-*` flag, ever. */
export function cellArgs(heapMb: number, entry = cellMainSource): string[] {
  return [
    "run",
    "--no-prompt",
    "--cached-only",
    "--no-remote",
    "--no-npm",
    "--no-config",
    "--no-lock",
    "--quiet",
    // Each cell's DENO_DIR is thrown away: a V8 code cache written there is never read.
    "--no-code-cache",
    "--unstable-worker-options",
    `--v8-flags=--max-old-space-size=${heapMb}`,
    entry,
  ];
}

/** The bundle's text, built once per process (the source does not change under a running server). */
let bundled: Promise<string> | undefined;

/**
 * A prebuilt JavaScript bundle of the cell's entry in `dir` (`deno bundle`
 * of {@linkcode cellMainSource}, built once per process): cells started from
 * it skip the TypeScript transpile each fresh DENO_DIR would pay.
 *
 * @returns the bundle's path
 * @throws {Error} when `deno bundle` fails (callers keep the source entry)
 */
export async function leanCellEntry(dir: string): Promise<string> {
  bundled ??= (async () => {
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--no-config", "--no-lock", cellMainSource],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!built.success) throw new Error(`deno bundle: ${new TextDecoder().decode(built.stderr).slice(0, 500)}`);
    return new TextDecoder().decode(built.stdout);
  })();
  let text: string;
  try {
    text = await bundled;
  } catch (err) {
    bundled = undefined;
    throw err;
  }
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/cell_main.js`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** A running cell. */
export class CellHost {
  readonly heapMb: number;
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves after the process exited and every frame it wrote was delivered. */
  readonly ended: Promise<Deno.CommandStatus>;
  /** Receives every decoded frame from the cell once the cell is assigned. */
  onFrame: (frame: Decoded) => void = () => {};
  /** Agents this cell hosted after its first (`recycle`s). */
  reuses = 0;
  /** When the process started (`performance.now()`). */
  readonly bornAt = performance.now();
  /** The cell's RSS when it last reported ready, MB. */
  readyRssMb = 0;
  /** Bumped at each recycle: a sender of an earlier holder stops writing. */
  #generation = 0;
  /**
   * Flow control of the cell's stdout, asked before each chunk is decoded: a
   * promise keeps the chunk undecoded and stops reading until it settles
   * (then it is asked again), so the pipe fills and the cell waits; nothing
   * is dropped. Never holds a cell that has exited. Reset with `onFrame`.
   */
  readHold: () => Promise<void> | undefined = () => undefined;
  /** Told the supervisor's time spent decoding and routing each chunk, ms (charged to the agent). */
  readSpent: (ms: number) => void = () => {};
  #child: Deno.ChildProcess;
  #dir: string;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #out: AnswerLine[] = [];
  #written: (() => void)[] = [];
  #writing = false;
  #exited = false;
  #stdinClosed = false;
  #stderrTail = "";
  #encoder = new TextEncoder();

  private constructor(child: Deno.ChildProcess, dir: string, heapMb: number) {
    this.#child = child;
    this.#dir = dir;
    this.heapMb = heapMb;
    this.#writer = child.stdin.getWriter();
    this.status = child.status.then((s) => {
      this.#exited = true;
      if (!this.#writing) this.#dropQueued();
      return s;
    });
    const framesDone = this.#readFrames();
    void this.#readStderr();
    this.ended = Promise.all([this.status, framesDone]).then(([s]) => s);
  }

  /**
   * Start a cell and wait until its agent Worker is ready for code.
   *
   * @throws {Error} if the cell dies or is not ready within `cellStartMsMax`
   */
  static async start(options: CellOptions): Promise<CellHost> {
    options.signal?.throwIfAborted();
    const dir = `${options.scratchDir}/${crypto.randomUUID()}`;
    liveDirs.add(dir);
    let child: Deno.ChildProcess;
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      child = new Deno.Command(Deno.execPath(), {
        args: cellArgs(options.heapMb, options.entry),
        clearEnv: true,
        env: { DENO_DIR: dir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
        cwd: dir,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      liveDirs.delete(dir);
      throw err;
    }
    const cell = new CellHost(child, dir, options.heapMb);
    const abort = () => cell.kill("SIGKILL");
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      await cell.#ready(cellStartMsMax);
      options.signal?.throwIfAborted();
    } catch (err) {
      await cell.dispose();
      throw options.signal?.aborted ? options.signal.reason : err;
    } finally {
      options.signal?.removeEventListener("abort", abort);
    }
    return cell;
  }

  /**
   * Whether an idle cell answers a liveness round trip (its main thread and
   * its Worker) within `deadlineMs`; a stopped or wedged cell does not. Only
   * for a cell no agent holds yet: it takes the cell's frames meanwhile.
   */
  async ping(deadlineMs: number): Promise<boolean> {
    if (this.#exited) return false;
    const answered = this.#ready(deadlineMs);
    void this.send('{"t":"ping"}');
    try {
      await answered;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Host the next agent in a fresh Worker after the last one ended by itself:
   * whatever the last holder still sends is dropped from now on (`sender`),
   * and the cell answers `ready` only if its old Worker went quiet. False when
   * it did not (the cell exits) or did not answer within `deadlineMs`.
   */
  async recycle(deadlineMs: number): Promise<boolean> {
    if (this.#exited) return false;
    this.#generation++;
    const answered = this.#ready(deadlineMs);
    void this.send('{"t":"recycle"}');
    try {
      await answered;
      this.reuses++;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A sender for the cell's holder now: once the cell is recycled, what this
   * sender is given is dropped, so no late completion of an agent that ended
   * can reach the next one.
   */
  sender(): (line: AnswerLine) => Promise<void> {
    const generation = this.#generation;
    return (line) => generation === this.#generation ? this.send(line) : Promise.resolve();
  }

  /** Wait for the cell's `ready`, its exit or `deadlineMs`; other frames meanwhile are dropped. */
  async #ready(deadlineMs: number): Promise<void> {
    const answer = Promise.withResolvers<void>();
    this.readHold = () => undefined;
    this.readSpent = () => {};
    this.onFrame = (frame) => {
      if (frame.kind !== "ctl" || frame.ctl !== "ready") return;
      if (typeof frame.body.rssMb === "number") this.readyRssMb = frame.body.rssMb;
      answer.resolve();
    };
    const timer = setTimeout(() => answer.reject(new CellStartTimeout(deadlineMs)), deadlineMs);
    void this.status.then((s) =>
      answer.reject(new Error(`cell exited during start (code ${s.code}) ${this.#stderrTail}`))
    );
    try {
      await answer.promise;
    } finally {
      clearTimeout(timer);
      this.onFrame = () => {};
    }
  }

  /** OS pid of the cell process. */
  get osPid(): number {
    return this.#child.pid;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The last bytes the cell wrote to stderr (for crash reports). */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /**
   * Queue a line to the cell's stdin; lines are coalesced into few writes.
   * Resolves once the line has been written (or dropped because the cell
   * is gone): until then the supervisor still holds it.
   */
  send(line: AnswerLine): Promise<void> {
    if (this.#exited) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#out.push(line);
    this.#written.push(resolve);
    if (!this.#writing) void this.#flush();
    return promise;
  }

  /** Send a signal to the cell process (no-op once it has exited). */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Kill the cell, wait for it, close its stdin and remove its scratch directory. Idempotent. */
  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.status;
    // The pipe's descriptor is released now, not when the stream is garbage collected.
    if (!this.#stdinClosed) {
      this.#stdinClosed = true;
      await this.#writer.abort().catch(() => {});
    }
    // Removing the scratch DENO_DIR (megabytes of caches) is housekeeping, not
    // the agent's exit: it runs in the background and `CellHost.drain()` waits for it.
    const removal = Deno.remove(this.#dir, { recursive: true }).catch(() => {}).finally(() =>
      liveDirs.delete(this.#dir)
    );
    pendingRemovals.add(removal);
    void removal.finally(() => pendingRemovals.delete(removal));
  }

  /**
   * Remove the scratch directories under `scratchDir` that belong to no cell
   * of this process (left by a crash or a kill of the server); returns how
   * many were removed.
   */
  static async removeStale(scratchDir: string): Promise<number> {
    return await removeEntries(scratchDir, (name) => !liveDirs.has(`${scratchDir}/${name}`));
  }

  /** Wait until every scratch directory of a disposed cell is gone. */
  static async drain(): Promise<void> {
    while (pendingRemovals.size > 0) await Promise.all(pendingRemovals);
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0 && !this.#exited) {
        const lines = this.#out;
        const written = this.#written;
        this.#out = [];
        this.#written = [];
        try {
          await this.#writeLines(lines);
        } finally {
          for (const resolve of written) resolve();
        }
      }
    } catch {
      // The cell died; its status tells the rest.
    } finally {
      this.#writing = false;
      if (this.#exited) this.#dropQueued();
    }
  }

  /**
   * Small lines are coalesced into one write; a line in pieces is written
   * piece by piece as they are produced, so its cost is spread over many
   * turns of the event loop.
   */
  async #writeLines(lines: AnswerLine[]): Promise<void> {
    let group: string[] = [];
    const write = (text: string) => this.#writer.write(this.#encoder.encode(text));
    for (const line of lines) {
      if (typeof line === "string") {
        group.push(line);
        continue;
      }
      if (group.length > 0) await write(group.join("\n") + "\n");
      group = [];
      for (const piece of line) await write(piece);
      await write("\n");
    }
    if (group.length > 0) await write(group.join("\n") + "\n");
  }

  /** Lines still queued when the cell is gone are never written: let their holders go. */
  #dropQueued(): void {
    const written = this.#written;
    this.#out = [];
    this.#written = [];
    for (const resolve of written) resolve();
  }

  async #readFrames(): Promise<void> {
    const framer = new LineFramer({ bytesMax: frameBytesMax, depthMax: jsonDepthMax });
    const deliver = (line: FramedLine) => this.onFrame(decodeLine(line));
    try {
      for await (const chunk of this.#child.stdout) {
        for (let hold = this.readHold(); hold !== undefined && !this.#exited; hold = this.readHold()) {
          await Promise.race([hold, this.status]);
        }
        const t0 = performance.now();
        framer.push(chunk, deliver);
        this.readSpent(performance.now() - t0);
      }
    } catch {
      // Stream broke: the process is gone.
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        this.#stderrTail = (this.#stderrTail + decoder.decode(chunk)).slice(-stderrTailBytesMax);
      }
    } catch { /* gone */ }
  }
}
