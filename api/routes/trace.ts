/**
 * `GET /v1/agents/:id/trace`: one agent's stored trace (`api/traces.ts`) as
 * JSON lines (`application/x-ndjson`), one event per line, each the JSON an
 * SSE `data:` line carries, in seq order; read from the store in pages as
 * the client takes them. The stream filters (`calls`, `errors`, `types`,
 * `causality`) apply. Another tenant's agent is a 404.
 *
 * @module
 */

import type { Hono } from "hono";
import { type Env, parseQuery } from "../http.ts";
import { tracePageEventsMax } from "../limits.ts";
import { eventsQuery } from "../schemas.ts";
import type { Service } from "../service.ts";
import type { TraceRow } from "../store.ts";
import { traceRowMatches } from "../traces.ts";

/** Register the route on `app`. */
export function traceRoutes(app: Hono<Env>, service: Service): void {
  app.get("/v1/agents/:id/trace", (c) => {
    const p = c.get("principal");
    const id = c.req.param("id");
    service.agentTenant(p, id); // 404 for an agent the caller may not see
    const q = parseQuery(c, eventsQuery);
    const filter = {
      tenant: null,
      agentId: id,
      calls: q.calls?.split(",").filter((s) => s !== ""),
      errors: q.errors === "true",
      types: q.types?.split(",").filter((s) => s !== ""),
      causality: q.causality,
    };
    const upto = service.traces.catchUp();
    const encoder = new TextEncoder();
    let last = 0;
    // The first page is read before the answer starts: a store that refuses it is a 503, not a cut stream.
    let first: TraceRow[] | undefined = service.traces.page(id, last, upto, tracePageEventsMax);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Whole pages until one yields a line (or the trace ends), so a filtered page is never an empty chunk.
        for (;;) {
          const rows = first ?? service.traces.page(id, last, upto, tracePageEventsMax);
          first = undefined;
          if (rows.length === 0) return controller.close();
          last = rows.at(-1)!.seq;
          const text = rows.filter((r) => traceRowMatches(r, filter)).map((r) => `${r.json}\n`).join("");
          if (text !== "") return controller.enqueue(encoder.encode(text));
        }
      },
    });
    return c.body(body, 200, { "content-type": "application/x-ndjson; charset=utf-8" });
  });
}
