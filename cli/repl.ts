/**
 * `deno task agent repl [--server URL]`: an interactive REPL over a session
 * — a local one (a real cell in this process's runtime, no server) or a
 * remote one (a session on a server through the client SDK, cells streamed
 * as NDJSON). A line is a
 * cell; a line ending in `\` or with brackets left open continues it.
 * `.exit` or end of input closes the session.
 *
 * `deno task agent session create|exec|close|ls`: the same sessions, one
 * call at a time (for scripts and agents that drive the CLI).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { capabilities as allCapabilities, type Capability } from "../kernel/process/mod.ts";
import { type CellOutcome, Runtime, typeScriptHint } from "../sandbox/mod.ts";
import { clientOf } from "./client.ts";
import { escapeStream, safeJson } from "./escape.ts";
import { clientOptions, runDataDirDefault, runsOnServer, serverUrlDefault } from "./options.ts";

const replOptions = {
  ...clientOptions,
  allow: { type: "string", default: "" },
  lang: { type: "string" },
  "timeout-ms": { type: "string" },
  "data-dir": { type: "string", default: runDataDirDefault },
} as const;

/** The TypeScript hint, as the REPL's own flag says it. */
const tsFlagHint = " (this looks like TypeScript: start the REPL with --lang ts)";

/** What a REPL needs of a session, local or remote. */
interface CellRunner {
  run(code: string, onOutput: (fd: 1 | 2, data: string) => void): Promise<CellAnswer>;
  close(): Promise<void>;
}

/** A cell's answer, as both kinds give it. */
type CellAnswer = Omit<CellOutcome, "text"> & { resultText: string; executionCount: number };

/** `repl`: read cells from stdin until `.exit` or its end; returns the exit code. */
export async function replCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: replOptions });
  const lang = langOf(values.lang) ?? "js";
  const caps = capabilityList(values.allow);
  const timeoutMs = values["timeout-ms"] === undefined ? 30_000 : Number(values["timeout-ms"]);
  const runner = runsOnServer(argv)
    ? await remoteRunner(
      values.server ?? serverUrlDefault,
      values.key ?? env("AGENTOS_KEY") ?? "",
      lang,
      caps,
      timeoutMs,
    )
    : await localRunner(values["data-dir"], lang, caps, timeoutMs);
  const interactive = Deno.stdin.isTerminal();
  const write = (fd: 1 | 2, text: string) => writeAll(fd === 1 ? Deno.stdout : Deno.stderr, text);
  try {
    let pending = "";
    if (interactive) write(1, "> ");
    for await (const line of lines(Deno.stdin.readable)) {
      if (pending === "" && line.trim() === ".exit") break;
      pending += (pending === "" ? "" : "\n") + line.replace(/\\$/, "");
      if (line.endsWith("\\") || unbalanced(pending)) {
        if (interactive) write(1, "... ");
        continue;
      }
      const code = pending;
      pending = "";
      if (code.trim() !== "") printAnswer(await runner.run(code, (fd, data) => write(fd, escapeStream(data))), write);
      if (interactive) write(1, "> ");
    }
    // Input ended inside an open bracket: run what there is (its syntax error says what is missing).
    if (pending.trim() !== "") {
      printAnswer(await runner.run(pending, (fd, data) => write(fd, escapeStream(data))), write);
    }
    return 0;
  } finally {
    await runner.close();
  }
}

function printAnswer(a: CellAnswer, write: (fd: 1 | 2, text: string) => void): void {
  if (a.error !== null) {
    const text = (a.error.stack || `${a.error.name}: ${a.error.message}`).replace(typeScriptHint, tsFlagHint);
    write(2, `${escapeStream(text)}\n`);
  } else if (a.resultText !== "") write(1, `${escapeStream(a.resultText)}\n`);
  if (a.stateLost) write(2, "(the session's context was lost: a fresh one started; its variables are gone)\n");
}

/** A session in a runtime of this process: a real cell, nothing else running. */
async function localRunner(dataDir: string, lang: "js" | "ts", caps: Capability[], timeoutMs: number) {
  await Deno.mkdir(dataDir, { recursive: true });
  const runtime = new Runtime({ dataDir, poolSize: 0 });
  await runtime.start();
  const spawn = () => runtime.spawn({ code: "", session: true, capabilities: caps, limits: { wallMs: 24 * 3600_000 } });
  let agent = await spawn();
  let n = 0;
  const runner: CellRunner = {
    run: async (code, onOutput) => {
      const name = `cell${++n}.${lang}`;
      const outcome = await runtime.sessions.run(agent.pid, { code, lang, name, timeoutMs, onOutput });
      if (outcome.stateLost) agent = await spawn();
      const { text, ...rest } = outcome;
      return { ...rest, resultText: text, executionCount: n };
    },
    close: () => runtime.close(),
  };
  return runner;
}

/** A session on a server (through the client SDK): created here, closed at the end. */
async function remoteRunner(server: string, key: string, lang: "js" | "ts", caps: Capability[], timeoutMs: number) {
  const session = await clientOf({ server, key }).sessions.create({ capabilities: caps, lang });
  const runner: CellRunner = {
    run: (code, onOutput) =>
      session.exec(code, {
        lang,
        timeoutMs,
        onStdout: (data) => onOutput(1, data),
        onStderr: (data) => onOutput(2, data),
      }),
    close: async () => void await session.close().catch(() => {}),
  };
  return runner;
}

/** `session create|exec|close|ls` against a server (through the client SDK); prints the API's JSON. */
export async function sessionCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...replOptions, label: { type: "string", multiple: true } },
  });
  const sessions = clientOf({
    server: values.server ?? env("AGENTOS_URL") ?? serverUrlDefault,
    key: values.key ?? env("AGENTOS_KEY") ?? "",
  }).sessions;
  const labels = Object.fromEntries(
    (values.label ?? []).map((l) => [l.split("=")[0], l.split("=").slice(1).join("=")]),
  );
  const id = positionals[0] ?? "";
  let answer: unknown;
  if (sub === "create") {
    answer = (await sessions.create({ capabilities: capabilityList(values.allow), labels, lang: langOf(values.lang) }))
      .info;
  } else if (sub === "exec" && positionals.length === 2) {
    const code = positionals[1] === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(positionals[1]);
    const lang = values.lang === "ts" || positionals[1].endsWith(".ts") ? "ts" : "js";
    answer = await (await sessions.get(id)).exec(code, { lang });
  } else if (sub === "close" && positionals.length === 1) answer = await (await sessions.get(id)).close();
  else if (sub === "ls") answer = { sessions: await sessions.list() };
  else throw new TypeError(`session ${sub === undefined ? "needs a subcommand" : `${sub}: wrong arguments`}`);
  console.log(safeJson(answer, 2));
  return (answer as { error?: unknown }).error === null || !("error" in (answer as object)) ? 0 : 1;
}

function langOf(lang: string | undefined): "js" | "ts" | undefined {
  if (lang === undefined || lang === "js" || lang === "ts") return lang;
  throw new TypeError(`--lang is js or ts, got ${JSON.stringify(lang)}`);
}

function capabilityList(allow: string): Capability[] {
  const caps = allow.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = caps.filter((c) => !allCapabilities.includes(c as Capability));
  if (unknown.length > 0) {
    throw new TypeError(`unknown capability ${unknown.join(", ")}; known: ${allCapabilities.join(", ")}`);
  }
  return caps as Capability[];
}

/** Brackets opened and not closed, outside strings and comments (a rough count: the cell's parser decides). */
export function unbalanced(code: string): boolean {
  let depth = 0;
  const stripped = code.replace(/\/\/.*$/gm, "").replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`/g, "");
  for (const ch of stripped) {
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
  }
  return depth > 0;
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
    }
  }
  if (buffer !== "") yield buffer;
}

function env(name: string): string | undefined {
  return Deno.env.get(name);
}

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}
