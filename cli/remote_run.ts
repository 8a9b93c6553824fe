/**
 * `deno task agent run <file> --server URL`: run a file on a server and
 * print as the local `run` does — the agent's output as it comes (from
 * its event stream), `--trace` syscall lines on stderr, `--json` the
 * final record as the last line of stdout — and exit with the agent's
 * exit code. Ctrl-C kills the agent.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Agent, type AgentEvent, type AgentRecord, ConnectionError, ServerError } from "../client/mod.ts";
import { capabilitiesOf, clientOf, common, limitsOf } from "./client.ts";
import { escapeLine, escapeStream, LineTracker, safeJson } from "./escape.ts";
import { remoteRunOptions } from "./options.ts";

/**
 * Parse flags, run the agent on the server, stream, and return the process exit code.
 *
 * @example
 * ```ts
 * await remoteRunCommand(["job.js", "--server", "http://127.0.0.1:8787", "--key", "tk_1", "--json"]);
 * ```
 */
export async function remoteRunCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...remoteRunOptions, ...common },
  });
  const file = positionals[0];
  if (!file) throw new TypeError("run needs the file to run");
  const os = clientOf(values);
  const agent = await os.spawn(await Deno.readTextFile(file), {
    lang: file.endsWith(".ts") ? "ts" : "js",
    capabilities: capabilitiesOf(values.allow),
    limits: limitsOf(values),
    trace: values.trace ? "full" : undefined, // every syscall recorded, as the trace lines show them
  });
  const interrupt = () => void agent.kill().catch(() => {});
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    const out = new Printer(values.trace);
    const streamed = await stream(agent, out, values.trace);
    const record = await finalRecord(agent);
    // The stream failed for good: what it did not show comes from the stored record.
    if (!streamed) out.rest(record);
    if (values.json) {
      const { id, state, reason, exitCode, result, message, usage } = record;
      out.stdout.line(safeJson({ id, state, reason, exitCode, result, message, usage }));
    } else if (record.reason !== "exit") {
      const message = record.message ? `: ${escapeLine(record.message)}` : "";
      out.stderr.line(`agent ended: ${escapeLine(record.reason)} (exit ${escapeLine(record.exitCode)})${message}`);
    }
    return typeof record.exitCode === "number" ? record.exitCode : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
  }
}

/** The agent's output and trace lines, on the CLI's streams. */
class Printer {
  readonly stdout = new LineTracker((text) => writeAll(Deno.stdout, text));
  readonly stderr = new LineTracker((text) => writeAll(Deno.stderr, text));
  /** Characters of each stream shown so far. */
  readonly shown = { 1: 0, 2: 0 };
  readonly #trace: boolean;

  constructor(trace: boolean) {
    this.#trace = trace;
  }

  output(fd: 1 | 2, pid: number, data: string): void {
    this.shown[fd] += data.length;
    const text = escapeStream(data);
    if (fd === 1) this.stdout.chunk(text);
    // With --trace, the agent's stderr shares the stream with trace lines: each of its lines says whose it is.
    else this.stderr.chunk(text, this.#trace ? `[${pid}] 2> ` : "");
  }

  /** What the record holds past what was shown (the stream failed). */
  rest(record: AgentRecord): void {
    this.stdout.chunk(escapeStream(record.stdout.slice(this.shown[1])));
    this.stderr.chunk(escapeStream(record.stderr.slice(this.shown[2])));
  }
}

/**
 * Print the agent's events until its exit.
 *
 * @returns false when the stream failed for good (after the SDK's reconnects)
 */
async function stream(agent: Agent, out: Printer, trace: boolean): Promise<boolean> {
  try {
    for await (const e of agent.events({ types: trace ? undefined : ["output", "exit"] })) {
      if (e.type === "dropped" || !("data" in e)) {
        out.stderr.line(`(the event stream lost ${"count" in e ? e.count : "some"} events)`);
      } else if (e.type === "output") {
        out.output(e.data.fd === 2 ? 2 : 1, e.pid, String(e.data.data ?? ""));
      } else if (trace) {
        const line = remoteTraceLine(e);
        if (line !== undefined) out.stderr.line(line);
      }
    }
    return true;
  } catch (err) {
    if (!(err instanceof ConnectionError)) throw err;
    out.stderr.line(`(the event stream failed: ${escapeLine(err.message)}; the rest is the stored record)`);
    return false;
  }
}

/** The agent's record; a 503 (`storage_full`, ...) still carries it. */
async function finalRecord(agent: Agent): Promise<AgentRecord> {
  try {
    return await agent.wait();
  } catch (err) {
    const stored = err instanceof ServerError ? (err.body as { agent?: AgentRecord } | undefined)?.agent : undefined;
    if (stored !== undefined) return stored;
    throw err;
  }
}

/**
 * One trace line for a streamed event, as the local run prints it (`[pid] call args → ok 12µs`), or
 * undefined for events not traced. Every agent-controlled part is escaped.
 *
 * @example
 * ```ts
 * remoteTraceLine({ type: "lifecycle", pid: 3, data: { from: "Ready", to: "Running" } } as AgentEvent);
 * // "[3] Ready → Running"
 * ```
 */
export function remoteTraceLine(e: AgentEvent): string | undefined {
  const d = e.data;
  const pid = `[${escapeLine(e.pid)}]`;
  switch (e.type) {
    case "syscall": {
      if (d.call === "io.write") return undefined;
      const outcome = d.errno == null
        ? "ok"
        : `${escapeLine(d.errno)}${d.message ? ` (${escapeLine(d.message)})` : ""}`;
      return `${pid} ${escapeLine(d.call)} ${escapeLine(d.args ?? "")} → ${outcome} ${escapeLine(d.latencyUs)}µs`;
    }
    case "lifecycle":
      return `${pid} ${escapeLine(d.from)} → ${escapeLine(d.to)}`;
    case "exit":
      return `${pid} exit reason=${escapeLine(d.reason)} code=${escapeLine(d.exitCode)}` +
        (d.message ? ` (${escapeLine(d.message)})` : "");
    case "import":
      return `${pid} import ${escapeLine(`${d.name}@${d.version}`)} (${escapeLine(d.specifier)})`;
    default:
      return undefined;
  }
}

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}
