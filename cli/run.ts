/**
 * `deno task agent run <file>`: run a local file as an agent in a real cell,
 * stream its output, optionally trace every syscall, and exit with the
 * agent's exit code.
 *
 * @module
 */

import { parseArgs } from "node:util";
import "../limits.ts";
import { capabilities as allCapabilities, type Capability } from "../kernel/process/mod.ts";
import { Runtime, type RuntimeEvent } from "../sandbox/mod.ts";
import { summarizeArgs } from "../observability/mod.ts";
import { escapeLine, escapeStream, LineTracker, safeJson } from "./escape.ts";
import { runOptions } from "./options.ts";

const usage = `usage: deno task agent run <file> [--allow fs.read,fs.write] [--wall-ms N] [--cpu-ms N]
                              [--memory-mb N] [--output-bytes N] [--trace] [--json] [--data-dir DIR]`;

/** Parse flags, run the agent, print, and return the process exit code. */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: runOptions,
  });
  const file = positionals[0];
  if (file === undefined) {
    console.error(usage);
    return 2;
  }
  const caps = values.allow.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = caps.filter((c) => !allCapabilities.includes(c as Capability));
  if (unknown.length > 0) {
    console.error(`unknown capability ${unknown.join(", ")}; known: ${allCapabilities.join(", ")}`);
    return 2;
  }
  const limits = {
    wallMs: int(values["wall-ms"]),
    cpuMs: int(values["cpu-ms"]),
    memoryMb: int(values["memory-mb"]),
    outputBytes: int(values["output-bytes"]),
  };
  const code = await Deno.readTextFile(file);
  const runtime = new Runtime({ dataDir: values["data-dir"], poolSize: 0 });
  await runtime.start();
  // Every byte the agent controls is escaped before it reaches the terminal;
  // the trackers keep the CLI's own lines (trace, --json record) on lines of their own.
  const stdout = new LineTracker((text) => writeAll(Deno.stdout, text));
  const stderr = new LineTracker((text) => writeAll(Deno.stderr, text));
  runtime.subscribe((event) => {
    if (event.type === "output") {
      const text = escapeStream(event.data);
      if (event.fd === 1) stdout.chunk(text);
      // With --trace, the agent's stderr shares the stream with trace lines: each of its lines says whose it is.
      else stderr.chunk(text, values.trace ? `[${event.pid}] 2> ` : "");
    } else if (values.trace) {
      const line = traceLine(event);
      if (line) stderr.line(line);
    }
  });
  try {
    const result = await runtime.run({
      code,
      lang: file.endsWith(".ts") ? "ts" : "js",
      capabilities: caps as Capability[],
      limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
      trace: values.trace ? "full" : undefined, // every syscall recorded, as the trace lines show them
    });
    if (values.json) {
      const { state, reason, exitCode, result: value, usage } = result;
      // Always the last line of stdout, on a line of its own: a parser of the last line gets the CLI's record.
      stdout.line(safeJson({
        state,
        reason,
        exitCode,
        result: value,
        message: result.message,
        usage: { cpuMs: usage.cpuMs, wallMs: usage.wallMs, peakRssMb: usage.peakRssMb, syscalls: usage.syscalls },
      }));
    } else if (result.reason !== "exit") {
      const message = result.message ? `: ${escapeLine(result.message)}` : "";
      stderr.line(`agent ended: ${result.reason} (exit ${result.exitCode})${message}`);
    }
    return result.exitCode;
  } finally {
    await runtime.close();
  }
}

const encoder = new TextEncoder();

/** Write all of `text` (a pipe may take less than a whole chunk per write). */
function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

/**
 * One trace line for an event, or undefined for events not traced. Every
 * agent-controlled part (call name, argument summary, error message) is
 * escaped, so the line cannot be broken or rewritten by what it shows.
 */
export function traceLine(event: RuntimeEvent): string | undefined {
  switch (event.type) {
    case "syscall": {
      if (event.call === "io.write") return undefined;
      const outcome = event.errno === null
        ? "ok"
        : `${escapeLine(event.errno)}${event.message ? ` (${escapeLine(event.message)})` : ""}`;
      const summary = escapeLine(summarizeArgs(event.args));
      return `[${event.pid}] ${escapeLine(event.call)} ${summary} → ${outcome} ${event.latencyUs}µs`;
    }
    case "lifecycle":
      return `[${event.pid}] ${event.from} → ${event.to}`;
    case "exit":
      return `[${event.pid}] exit reason=${event.reason} code=${event.exitCode}` +
        (event.message ? ` (${escapeLine(event.message)})` : "");
    case "import":
      return `[${event.pid}] import ${escapeLine(`${event.name}@${event.version}`)} (${escapeLine(event.specifier)})`;
    case "approval":
      return `[${event.pid}] approval ${event.approval.state} ${escapeLine(event.approval.call)} ` +
        `(rule ${escapeLine(event.approval.ruleId)})`;
    case "denial":
    case "output":
      return undefined;
    default: {
      const never: never = event;
      return String(never);
    }
  }
}

function int(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new TypeError(`expected an integer, got ${value}`);
  return n;
}
