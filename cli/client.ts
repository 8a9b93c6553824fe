/**
 * Client verbs against a running server, all through the client SDK
 * (`client/mod.ts`, one client): `spawn`, `ps` (a table), `status`,
 * `logs` (`--follow`), `kill`, `events`, `sched`. `run --server` is in
 * `remote_run.ts`. API errors reach `main.ts` as the SDK's typed errors.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type AgentEvent, AgentOS, type AgentStatus, type DroppedEvent, type SpawnOptions } from "../client/mod.ts";
import { escapeLine, escapeStream, safeJson } from "./escape.ts";
import { clientOptions, serverUrlDefault, spawnOptions, verbOptions } from "./options.ts";

/**
 * `--server` and `--key`, defaulting to `AGENTOS_URL` and `AGENTOS_KEY`.
 *
 * @example
 * ```ts
 * parseArgs({ args: ["--key", "tk_1"], options: { ...common } }).values.server; // AGENTOS_URL or the default
 * ```
 */
export const common = {
  server: { ...clientOptions.server, default: Deno.env.get("AGENTOS_URL") ?? serverUrlDefault },
  key: { ...clientOptions.key, default: Deno.env.get("AGENTOS_KEY") ?? "" },
};

/**
 * The SDK client of a command line's `--server` and `--key`.
 *
 * @throws {TypeError} (a usage error) without a key
 * @example
 * ```ts
 * const os = clientOf({ server: "http://127.0.0.1:8787", key: "tk_1" });
 * ```
 */
export function clientOf(values: { server: string; key: string }): AgentOS {
  if (values.key === "") throw new TypeError("no API key: pass --key KEY or set AGENTOS_KEY");
  return new AgentOS({ url: values.server, apiKey: values.key });
}

/**
 * Print an API answer: JSON whose agent-controlled strings cannot act on the terminal.
 *
 * @returns 0 (the exit code)
 * @example
 * ```ts
 * print({ id: "ag_1", state: "Running" }); // prints it indented, returns 0
 * ```
 */
export function print(json: unknown): number {
  console.log(safeJson(json, 2));
  return 0;
}

/**
 * Write all of `text` to a stream (a pipe may take less than a whole chunk per write).
 *
 * @example
 * ```ts
 * await writeAll(Deno.stdout, "hi\n");
 * ```
 */
export async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
}

/**
 * The spawn body of a command line's flags.
 *
 * @throws {TypeError} for a limit that is not an integer
 * @example
 * ```ts
 * limitsOf({ "wall-ms": "5000" }); // { wallMs: 5000 }
 * ```
 */
export function limitsOf(values: Record<string, unknown>): Record<string, number> {
  const limits: Record<string, number> = {};
  const flags = [["wall-ms", "wallMs"], ["cpu-ms", "cpuMs"], ["memory-mb", "memoryMb"], [
    "output-bytes",
    "outputBytes",
  ]] as const;
  for (const [flag, name] of flags) {
    const v = values[flag];
    if (v === undefined) continue;
    if (!/^\d+$/.test(String(v))) throw new TypeError(`--${flag} takes a whole number, got ${JSON.stringify(v)}`);
    limits[name] = Number(v);
  }
  return limits;
}

/**
 * `--allow fs.read,fs.write` as a spawn's capabilities (the server checks each and names an unknown one).
 *
 * @example
 * ```ts
 * capabilitiesOf("fs.read, fs.write"); // ["fs.read", "fs.write"]
 * ```
 */
export function capabilitiesOf(allow: string): SpawnOptions["capabilities"] {
  return allow.split(",").map((c) => c.trim()).filter((c) => c !== "") as SpawnOptions["capabilities"];
}

/**
 * `spawn <file>`: start it on the server, print `{id, state}`.
 *
 * @example
 * ```ts
 * await spawnCommand(["worker.js", "--allow", "fs.read", "--server", "http://127.0.0.1:8787", "--key", "tk_1"]);
 * ```
 */
export async function spawnCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...spawnOptions, ...common },
  });
  const file = positionals[0];
  if (!file) throw new TypeError("spawn needs the file to run");
  const agent = await clientOf(values).spawn(await Deno.readTextFile(file), {
    lang: file.endsWith(".ts") ? "ts" : "js",
    capabilities: capabilitiesOf(values.allow),
    limits: limitsOf(values),
  });
  return print({ id: agent.id, state: agent.state });
}

/**
 * `ps [--state Running] [--limit N] [--json]`: an aligned table (ID, STATE, REASON, CPU MS, AGE).
 *
 * @example
 * ```ts
 * await psCommand(["--state", "Running", "--key", "tk_1"]);
 * ```
 */
export async function psCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...verbOptions.ps, ...common } });
  if (values.state !== undefined && values.state !== "Running" && values.state !== "Zombie") {
    throw new TypeError(`--state is Running or Zombie, got ${JSON.stringify(values.state)}`);
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  const page = await clientOf(values).agents.list({ state: values.state, limit });
  if (values.json) return print(page);
  console.log(psTable(page.agents, Date.now()));
  return 0;
}

/**
 * The `ps` table: a header and one row per agent, columns padded to their widest cell.
 *
 * @param agents the agents
 * @param nowMs the time AGE is measured to
 * @returns the lines (every agent-controlled cell escaped)
 * @example
 * ```ts
 * psTable([], Date.now()); // "ID  STATE  REASON  CPU MS  AGE"
 * ```
 */
export function psTable(agents: AgentStatus[], nowMs: number): string {
  const rows = [["ID", "STATE", "REASON", "CPU MS", "AGE"]];
  for (const a of agents) {
    const cpu = a.usage?.cpuMs;
    rows.push([
      escapeLine(a.id),
      escapeLine(a.state),
      escapeLine(a.reason ?? "-"),
      typeof cpu === "number" ? String(Math.round(cpu)) : "-",
      age(nowMs - Date.parse(a.createdAt)),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")).join(
    "\n",
  );
}

/** A duration as `ps` shows it: `42s`, `5m`, `3h`, `2d`. */
function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (!Number.isFinite(s)) return "-";
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/**
 * `status|kill <id>` print the API's JSON; `logs <id> [--follow]` the agent's output.
 *
 * @example
 * ```ts
 * await agentCommand("logs", ["ag_1", "--follow", "--key", "tk_1"]);
 * ```
 */
export async function agentCommand(verb: "status" | "logs" | "kill", argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...verbOptions[verb], ...common },
  });
  const id = positionals[0];
  if (!id) throw new TypeError(`${verb} needs an agent id`);
  const agent = clientOf(values).agent(id);
  if (verb === "status") return print(await agent.status());
  if (verb === "kill") {
    const signal = (values as { signal?: string }).signal ?? "KILL";
    if (signal !== "KILL" && signal !== "TERM") throw new TypeError(`--signal is KILL or TERM, got ${signal}`);
    return print(await agent.kill(signal));
  }
  if ((values as { follow?: boolean }).follow) {
    // From the agent's first output to its exit: the stream replays what is stored, then follows live.
    for await (const e of agent.events({ types: ["output"] })) await writeOutput(e);
    return 0;
  }
  const out = await agent.output();
  // The agent's own output keeps its lines; CR, ESC and the rest are shown as escapes.
  await writeAll(Deno.stdout, escapeStream(out.stdout));
  await writeAll(Deno.stderr, escapeStream(out.stderr));
  return 0;
}

async function writeOutput(e: AgentEvent | DroppedEvent): Promise<void> {
  if ("count" in e) return await writeAll(Deno.stderr, `(the stream lost ${e.count} events)\n`);
  if (e.type !== "output") return;
  const text = escapeStream(String(e.data.data ?? ""));
  await writeAll(e.data.fd === 2 ? Deno.stderr : Deno.stdout, text);
}

/**
 * `events [<id>] [--calls fs.*] [--errors]`: follow the SSE stream, one line per event.
 *
 * @example
 * ```ts
 * await eventsCommand(["ag_1", "--calls", "fs.*", "--key", "tk_1"]);
 * ```
 */
export async function eventsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...verbOptions.events, ...common },
  });
  const os = clientOf(values);
  const filters = { calls: values.calls?.split(",").filter((c) => c !== ""), errors: values.errors };
  const stream = positionals[0] ? os.agent(positionals[0]).events(filters) : os.events(filters);
  for await (const e of stream) console.log(eventLine(e as Parameters<typeof eventLine>[0]));
  return 0;
}

/**
 * One line per event; every field is escaped (call names, summaries and messages are the agent's).
 *
 * @example
 * ```ts
 * eventLine({ seq: 9, type: "exit", pid: 1, data: { reason: "exit", exitCode: 0 } }); // "9 [1] exit reason=exit code=0"
 * ```
 */
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
    case "dropped":
      return `(the stream lost ${escapeLine(e.count)} events)`;
    default:
      return safeJson(e);
  }
}

/**
 * `sched [--policy fair|round-robin|priority]`: show or switch the scheduler (admin key).
 *
 * @example
 * ```ts
 * await schedCommand(["--policy", "priority", "--key", "admin_..."]);
 * ```
 */
export async function schedCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...verbOptions.sched, ...common } });
  const os = clientOf(values);
  if (values.policy === undefined) return print(await os.scheduler.get());
  const policy = values.policy;
  if (policy !== "fair" && policy !== "round-robin" && policy !== "priority") {
    throw new TypeError(`--policy is fair, round-robin or priority, got ${JSON.stringify(policy)}`);
  }
  return print(await os.scheduler.set(policy));
}
