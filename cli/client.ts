/**
 * Client verbs against a running server: `spawn`, `run --server`, `ps`,
 * `status`, `logs`, `events`, `kill`. They print the API's JSON (`events`
 * prints one line per syscall as the SSE stream arrives).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { escapeLine, escapeStream, safeJson } from "./escape.ts";
import { clientOptions, serverUrlDefault, spawnOptions, verbOptions } from "./options.ts";

const common = {
  server: { ...clientOptions.server, default: Deno.env.get("AGENTOS_URL") ?? serverUrlDefault },
  key: { ...clientOptions.key, default: Deno.env.get("AGENTOS_KEY") ?? "" },
};

/** Call the API; print the JSON; return 0 for 2xx, 1 otherwise. */
async function call(
  server: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<[number, unknown]> {
  const res = await fetch(`${server.replace(/\/$/, "")}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({ error: { code: "bad_response", message: res.statusText } }));
  return [res.status, json];
}

/** Print an API answer: JSON whose agent-controlled strings cannot act on the terminal. */
function print(status: number, json: unknown): number {
  console.log(safeJson(json, 2));
  return status >= 200 && status < 300 ? 0 : 1;
}

/** `spawn <file>` or `run <file> --server ...` (run waits for the result). */
export async function spawnCommand(argv: string[], wait: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...spawnOptions, ...common },
  });
  const file = positionals[0];
  if (!file) throw new TypeError("usage: deno task agent spawn <file> --server URL --key KEY [--allow caps]");
  const limits: Record<string, number> = {};
  for (const [flag, name] of [["wall-ms", "wallMs"], ["cpu-ms", "cpuMs"], ["memory-mb", "memoryMb"]] as const) {
    if (values[flag] !== undefined) limits[name] = Number(values[flag]);
  }
  const [status, json] = await call(values.server, values.key, "POST", "/v1/agents", {
    code: await Deno.readTextFile(file),
    lang: file.endsWith(".ts") ? "ts" : "js",
    capabilities: values.allow.split(",").filter((c) => c !== ""),
    limits,
    wait,
  });
  const code = print(status, json);
  const exitCode = (json as { exitCode?: number }).exitCode;
  return wait && code === 0 && typeof exitCode === "number" ? exitCode : code;
}

/** `ps [--state Running]`. */
export async function psCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...verbOptions.ps, ...common } });
  const query = values.state ? `?state=${encodeURIComponent(values.state)}` : "";
  const [status, json] = await call(values.server, values.key, "GET", `/v1/agents${query}`);
  if (status !== 200) return print(status, json);
  for (const a of (json as { agents: Record<string, unknown>[] }).agents) {
    console.log([a.id, a.state, a.reason ?? "-", a.exitCode ?? "-", a.createdAt].map(escapeLine).join("\t"));
  }
  return 0;
}

/** `status|logs|kill <id>`. */
export async function agentCommand(verb: "status" | "logs" | "kill", argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...verbOptions[verb], ...common },
  });
  const id = positionals[0];
  if (!id) throw new TypeError(`usage: deno task agent ${verb} <id> --server URL --key KEY`);
  const query = verb === "kill" ? `?signal=${encodeURIComponent(values.signal)}` : "";
  const path = `/v1/agents/${encodeURIComponent(id)}${verb === "logs" ? "/output" : ""}${query}`;
  const [status, json] = await call(values.server, values.key, verb === "kill" ? "DELETE" : "GET", path);
  if (verb === "logs" && status === 200) {
    const out = json as { stdout: string; stderr: string };
    // The agent's own output keeps its lines; CR, ESC and the rest are shown as escapes.
    await writeAll(Deno.stdout, escapeStream(String(out.stdout ?? "")));
    await writeAll(Deno.stderr, escapeStream(String(out.stderr ?? "")));
    return 0;
  }
  return print(status, json);
}

/** `events [<id>] [--calls fs.*] [--errors]`: follow the SSE stream, one line per event. */
export async function eventsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...verbOptions.events, ...common },
  });
  const params = new URLSearchParams();
  if (values.calls) params.set("calls", values.calls);
  if (values.errors) params.set("errors", "true");
  const base = positionals[0] ? `/v1/agents/${encodeURIComponent(positionals[0])}/events` : "/v1/events";
  const agentId = positionals[0];
  let ended = false;
  if (agentId) {
    const [status, row] = await call(values.server, values.key, "GET", `/v1/agents/${encodeURIComponent(agentId)}`);
    if (status !== 200) return print(status, row);
    ended = (row as { endedAt: string | null }).endedAt !== null;
  }
  const res = await fetch(`${values.server.replace(/\/$/, "")}${base}?${params}`, {
    // For one agent, replay what the server still holds from its start.
    headers: { authorization: `Bearer ${values.key}`, ...(agentId ? { "last-event-id": "0" } : {}) },
  });
  if (!res.ok || !res.body) return print(res.status, await res.json().catch(() => ({})));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const armIdle = () => {
    // A finished agent's replay ends when the server goes quiet.
    clearTimeout(idle);
    if (ended) idle = setTimeout(() => reader.cancel(), replayIdleMs);
  };
  let buffer = "";
  armIdle();
  while (true) {
    const { value: chunk, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done || chunk === undefined) break;
    armIdle();
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("");
      if (data) console.log(eventLine(JSON.parse(data)));
      if (agentId && block.includes("event: exit")) {
        clearTimeout(idle);
        await reader.cancel().catch(() => {});
        return 0;
      }
    }
  }
  clearTimeout(idle);
  return 0;
}

/** How long a replay of a finished agent's events may stay quiet before the CLI stops, ms. */
const replayIdleMs = 1000;

/** One line per event; every field is escaped (call names, summaries and messages are the agent's). */
export function eventLine(
  e: { seq?: number; type?: string; pid?: number; data?: Record<string, unknown>; count?: number },
): string {
  const d = e.data ?? {};
  const head = `${escapeLine(e.seq)} [${escapeLine(e.pid)}]`;
  switch (e.type) {
    case "syscall":
      return `${head} ${escapeLine(d.call)} ${escapeLine(d.args ?? "")} → ${escapeLine(d.errno ?? "ok")} ` +
        `${escapeLine(d.latencyUs)}µs`;
    case "exit":
      return `${head} exit reason=${escapeLine(d.reason)} code=${escapeLine(d.exitCode)}`;
    case "lifecycle":
      return `${head} ${escapeLine(d.from)} → ${escapeLine(d.to)}`;
    default:
      return safeJson(e);
  }
}

/** Write all of `text` to a stream. */
async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
}

/** `sched [--policy fair|round-robin|priority]`: show or switch the scheduler (admin key). */
export async function schedCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...verbOptions.sched, ...common } });
  const [status, json] = values.policy === undefined
    ? await call(values.server, values.key, "GET", "/v1/scheduler")
    : await call(values.server, values.key, "PUT", "/v1/scheduler", { policy: values.policy });
  return print(status, json);
}
