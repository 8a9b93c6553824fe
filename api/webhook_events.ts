/**
 * Which runtime events become webhook events: an API agent's exit
 * (`agent.exited`, sent once its final record is durable, so a receiver
 * that asks `GET /v1/agents/:id` sees it ended) and a syscall refused by a
 * tenant quota (`quota.hit`, throttled per tenant). `session.ended` is
 * raised by `api/sessions.ts`, a spawn refused by a quota by `api/spawn.ts`.
 *
 * @module
 */

import type { RuntimeEvent } from "../sandbox/mod.ts";
import type { LiveAgent } from "./agent_table.ts";
import type { WebhookService } from "./webhooks/mod.ts";

/**
 * Route one runtime event to the webhooks (never throws, never waits).
 *
 * @param event what the runtime reported
 * @param byPid the live API agent of a pid, if any
 * @param webhooks the service's webhooks
 * @example
 * ```ts
 * runtime.subscribe((event) => webhookEvents(event, (pid) => agents.byPid(pid), service.webhooks));
 * ```
 */
export function webhookEvents(
  event: RuntimeEvent,
  byPid: (pid: number) => LiveAgent | undefined,
  webhooks: WebhookService,
): void {
  if (event.type === "denial" && event.layer === "quota") {
    const agentId = byPid(event.pid)?.id ?? null;
    webhooks.quotaHit(event.tenant, { agentId, call: event.call, message: event.message });
  }
  if (event.type !== "exit") return;
  const live = byPid(event.pid);
  if (live === undefined) return; // a child agent of an agent: its parent hears of it
  void live.recorded.then((row) =>
    webhooks.emit(row.tenantId, "agent.exited", {
      agentId: row.id,
      state: row.state,
      reason: row.reason,
      exitCode: row.exitCode,
      message: row.message,
      usage: row.usage,
      createdAt: row.createdAt,
      endedAt: row.endedAt,
    }), () =>
    webhooks.emit(live.tenantId, "agent.exited", {
      agentId: live.id,
      reason: event.reason,
      exitCode: event.exitCode,
      message: event.message ?? null,
    }));
}
