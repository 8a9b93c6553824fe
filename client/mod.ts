/**
 * The agentos client SDK, for Deno and Node 20+: only `fetch`,
 * `ReadableStream`, `TextDecoder` and `AbortSignal` at run time, no
 * dependencies. Request and answer types come from the server's own zod
 * schemas (type-only imports).
 *
 * @example
 * ```ts
 * import { AgentOS, Unauthorized } from "./client/mod.ts";
 * const os = new AgentOS({ url: "http://127.0.0.1:8787", apiKey: Deno.env.get("AGENTOS_KEY")! });
 * const run = await os.run("console.log('hi'); export default () => 6 * 7");
 * console.log(run.stdout, run.result); // "hi\n" 42
 * const session = await os.sessions.create({ capabilities: ["fs.read"] });
 * await session.files.upload("in.txt", "hello");
 * console.log((await session.exec("await sys.fs.readText('in.txt')")).result);
 * await session.close();
 * ```
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { AgentOS } from "./agentos.ts";
export { Agent, Agents, type ListOptions, type RunOptions } from "./agents.ts";
export { type ExecOptions, Session, Sessions } from "./sessions.ts";
export { type FileData, Files } from "./files.ts";
export { Approvals, Packages, Policies, Scheduler, Tenants, Volumes } from "./admin.ts";
export { type DroppedEvent, type EventsOptions, type SseMessage, sseMessages } from "./sse.ts";
export type { ClientOptions } from "./http.ts";
export {
  AgentOSError,
  BadRequest,
  Conflict,
  ConnectionError,
  type ErrorBody,
  Forbidden,
  NotFound,
  RateLimited,
  ServerError,
  Unauthorized,
} from "./errors.ts";
export type * from "./types.ts";
