/**
 * Session routes: open, list, status, close, extend (`PATCH`), run a cell
 * (`exec`, also streamed as NDJSON), interrupt and restart.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { ApiError } from "../api_error.ts";
import { fileRoutes } from "./files.ts";
import { type Env, parseBody, parseQuery } from "../http.ts";
import { execQuery } from "../queries.ts";
import { labelFilters } from "../labels.ts";
import { sessionCreateSchema, sessionExecSchema, sessionListQuery, sessionPatchSchema } from "../session_schemas.ts";
import type { SessionRow } from "../session_rows.ts";
import type { Sessions } from "../sessions.ts";

/** Register the routes on `app`. */
export function sessionRoutes(app: Hono<Env>, sessions: Sessions): void {
  app.post("/v1/sessions", async (c) => {
    const body = await parseBody(c, sessionCreateSchema);
    return c.json(sessionView(await sessions.create(c.get("principal"), body)), 201);
  });
  app.get("/v1/sessions", (c) => {
    // `label` may repeat: the query's first value is checked by the schema, every value here.
    const q = parseQuery(c, sessionListQuery);
    const label = labelFilters(c);
    const rows = sessions.list(c.get("principal"), { ...q, label });
    return c.json({ sessions: rows.map(sessionView) });
  });
  app.get("/v1/sessions/:id", (c) => c.json(sessionView(sessions.get(c.get("principal"), c.req.param("id")))));
  app.delete("/v1/sessions/:id", (c) => c.json(sessionView(sessions.close(c.get("principal"), c.req.param("id")))));
  app.patch("/v1/sessions/:id", async (c) => {
    const body = await parseBody(c, sessionPatchSchema);
    return c.json(sessionView(sessions.patch(c.get("principal"), c.req.param("id"), body)));
  });
  app.post("/v1/sessions/:id/exec", async (c) => {
    const body = await parseBody(c, sessionExecSchema);
    const stream = parseQuery(c, execQuery).stream === "true" ||
      (c.req.header("accept") ?? "").includes("application/x-ndjson");
    if (stream) return execStream(c, sessions, body);
    return c.json(await sessions.exec(c.get("principal"), c.req.param("id"), body));
  });
  app.post("/v1/sessions/:id/interrupt", async (c) => {
    return c.json(await sessions.interrupt(c.get("principal"), c.req.param("id")));
  });
  app.post("/v1/sessions/:id/restart", async (c) => {
    return c.json(sessionView(await sessions.restart(c.get("principal"), c.req.param("id"))));
  });
  fileRoutes(app, "/v1/sessions/:id", (c) => sessions.files(c.get("principal"), c.req.param("id") ?? ""));
}

/**
 * A cell answered as NDJSON: `{"type":"stdout"|"stderr","data"}` lines as
 * the agent writes, then one `{"type":"result",...}` line with the whole
 * answer (or `{"type":"error","status","error":{code,message}}`, `status`
 * being the HTTP status the error would have had).
 */
function execStream(c: Context<Env>, sessions: Sessions, body: Parameters<Sessions["exec"]>[2]): Response {
  const encoder = new TextEncoder();
  const p = c.get("principal");
  const id = c.req.param("id") ?? "";
  const stream = new ReadableStream<Uint8Array>({
    start: async (controller) => {
      const line = (value: unknown) => controller.enqueue(encoder.encode(JSON.stringify(value) + "\n"));
      try {
        const answer = await sessions.exec(p, id, body, (fd, data) => {
          line({ type: fd === 1 ? "stdout" : "stderr", data });
        });
        line({ type: "result", ...answer });
      } catch (err) {
        // The 200 is already sent: the line carries the status the error would have had.
        const e = err as { status?: number; code?: string; message?: string };
        const status = err instanceof ApiError ? e.status : 500;
        line({ type: "error", status, error: { code: e.code ?? "internal", message: e.message ?? String(err) } });
      }
      controller.close();
    },
  });
  return new Response(stream, { status: 200, headers: { "content-type": "application/x-ndjson" } });
}

/** The public shape of a session. */
export function sessionView(s: SessionRow): Record<string, unknown> {
  return {
    id: s.id,
    state: s.state,
    reason: s.reason,
    labels: s.labels,
    agentId: s.agentId,
    executionCount: s.executionCount,
    restarts: s.restarts,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    endedAt: s.endedAt,
  };
}
