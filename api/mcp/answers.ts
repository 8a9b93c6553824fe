/**
 * How the MCP tools answer: text content a model reads (the result, then
 * stdout and stderr), the same fields as `structuredContent`, and errors as
 * a tool result with `isError: true` whose text is the API's
 * `code: message` — so an agent's failure, a missing session or a refused
 * path reads the same as over HTTP.
 *
 * @module
 */

import type { CallToolResult } from "@modelcontextprotocol/sdk/types";
import { ApiError } from "../api_error.ts";
import type { AgentRow } from "../store.ts";
import type { ExecAnswer } from "../sessions.ts";

/**
 * A tool's answer: `text` for the model, `structured` for programs.
 *
 * @example
 * ```ts
 * return answer(`closed ${id}`, { sessionId: id, state: "ended", reason: "closed" });
 * ```
 */
export function answer(text: string, structured: Record<string, unknown>, isError = false): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured, ...(isError ? { isError } : {}) };
}

/**
 * Run a tool's body; an `ApiError` (not found, quota, refused path, ...) is
 * its `isError` answer, anything else is logged and answered as an internal
 * error (never a thrown request).
 *
 * @example
 * ```ts
 * server.registerTool("close_session", config, (args) => guarded(() => close(args)));
 * ```
 */
export async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError) {
      return { content: [{ type: "text", text: `${err.code}: ${err.message}` }], isError: true };
    }
    console.error(`mcp tool failed: ${err instanceof Error ? err.stack : err}`);
    return { content: [{ type: "text", text: "internal: internal error" }], isError: true };
  }
}

/** `stdout:`/`stderr:` sections (always both, so a model sees an empty stream as empty). */
function streams(stdout: string, stderr: string): string {
  return `--- stdout ---\n${stdout}${stdout.endsWith("\n") || stdout === "" ? "" : "\n"}--- stderr ---\n${stderr}`;
}

/**
 * The answer of `run_code`: the agent's result, stdout and stderr; an agent
 * that failed (threw, was killed, ran out of time) is `isError` with its
 * message.
 *
 * @example
 * ```ts
 * return runCodeAnswer((await service.answer(live)).row);
 * ```
 */
export function runCodeAnswer(row: AgentRow): CallToolResult {
  const failed = row.reason !== "exit" || (row.exitCode ?? 0) !== 0;
  const head = failed
    ? `error: ${row.message ?? row.reason} (agent ${row.id}, ${row.reason}, exit code ${row.exitCode})`
    : `result: ${JSON.stringify(row.result ?? null)}`;
  const structured = {
    agentId: row.id,
    state: row.state,
    reason: row.reason,
    exitCode: row.exitCode,
    message: row.message,
    result: row.result ?? null,
    stdout: row.stdout,
    stderr: row.stderr,
  };
  return answer(`${head}\n${streams(row.stdout, row.stderr)}`, structured, failed);
}

/**
 * The answer of `exec`: the cell's value (as the REPL shows it), stdout and
 * stderr; a cell that threw or timed out is `isError` with the error.
 *
 * @example
 * ```ts
 * return execAnswer(await sessions.exec(p, sessionId, { code }));
 * ```
 */
export function execAnswer(a: ExecAnswer): CallToolResult {
  const failed = a.error !== null || a.interrupted !== null;
  const head = a.error !== null
    ? `error: ${a.error.name}: ${a.error.message}`
    : a.interrupted !== null
    ? `error: the cell was stopped (${a.interrupted})`
    : `result: ${a.resultText === "" ? "undefined" : a.resultText}`;
  const notes = [
    a.stateLost ? "the session's context was lost: the next cell starts from nothing (files are kept)" : "",
    a.outputTruncated ? "output was truncated" : "",
  ].filter((n) => n !== "");
  const text = [head, ...notes.map((n) => `note: ${n}`), streams(a.stdout, a.stderr)].join("\n");
  return answer(text, { ...a }, failed);
}
