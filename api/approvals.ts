/**
 * The API side of approvals (`sandbox/approvals.ts`): a tenant lists the
 * calls of its agents that wait for a person and allows or denies each
 * one. An open approval is an `approval.pending` webhook and an
 * `approval.requested` audit row; a decision is an `approval.decided` row
 * written before the answer is sent (so a 200 is on the record), then the
 * waiting call goes on or fails; an expiry or an agent's end is an
 * `approval.decided` row too, by `system`.
 *
 * @module
 */

import { z } from "zod";
import type { Approval, Runtime } from "../sandbox/mod.ts";
import { ApiError } from "./api_error.ts";
import type { AuditLog } from "./audit_log.ts";
import { json, type Operation, operationOf } from "./openapi_operation.ts";
import type { Principal } from "./tenant_keys.ts";
import type { WebhookService } from "./webhooks/mod.ts";

/** `POST /v1/approvals/:id`. */
export const approvalDecisionSchema = z.strictObject({
  decision: z.enum(["allow", "deny"]),
  /** Why, for the agent's error message and the audit log. */
  note: z.string().max(500).optional(),
});

/** An approval as the API shows it. */
export interface ApprovalView {
  id: string;
  agentId: string | null;
  pid: number;
  state: Approval["state"];
  call: string;
  paths: string[];
  host: string | null;
  port: number | null;
  method: string | null;
  ruleId: string;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  note: string | null;
}

/** Lists and decides approvals for the API; tells webhooks and the audit log what happened. */
export class ApprovalService {
  #runtime: Runtime;
  #audit: AuditLog;
  #webhooks: WebhookService;
  #agentIdOf: (pid: number) => string | undefined;

  constructor(
    runtime: Runtime,
    audit: AuditLog,
    webhooks: WebhookService,
    agentIdOf: (pid: number) => string | undefined,
  ) {
    this.#runtime = runtime;
    this.#audit = audit;
    this.#webhooks = webhooks;
    this.#agentIdOf = agentIdOf;
    runtime.subscribe((event) => {
      if (event.type === "approval") this.#opened(event.approval);
    });
  }

  /** The caller's tenant's open approvals (an admin's: every tenant's), oldest first. */
  list(p: Principal): ApprovalView[] {
    return this.#runtime.approvals.list(p.tenant.admin ? null : p.tenant.id).map((a) => this.view(a));
  }

  /** One approval, open or recently decided. @throws {ApiError} 404 for another tenant's or an unknown id */
  get(p: Principal, id: string): ApprovalView {
    return this.view(this.#find(p, id));
  }

  /**
   * Allow or deny an open approval. The audit row is written first: the
   * answer reports a state change that is already durable.
   *
   * @throws {ApiError} 404 unknown or another tenant's; 409 `approval_decided` when it is no longer open
   */
  decide(p: Principal, id: string, body: z.output<typeof approvalDecisionSchema>): ApprovalView {
    const open = this.#find(p, id);
    if (open.state !== "pending") {
      throw new ApiError(409, "approval_decided", `approval ${id} is ${open.state} already (at ${open.decidedAt})`);
    }
    const state = body.decision === "allow" ? "allowed" : "denied";
    this.#audit.write(open.tenant, p.tenant.id, "approval.decided", this.#agentIdOf(open.pid) ?? null, {
      approvalId: id,
      state,
      call: open.call,
      note: body.note ?? null,
    });
    const decided = this.#runtime.approvals.decide(
      open.tenant,
      id,
      body.decision === "allow",
      p.tenant.id,
      body.note ?? null,
    );
    return this.view(decided!.approval);
  }

  /** The API's form of an approval. */
  view(a: Readonly<Approval>): ApprovalView {
    return {
      id: a.id,
      agentId: this.#agentIdOf(a.pid) ?? null,
      pid: a.pid,
      state: a.state,
      call: a.call,
      paths: [...a.paths],
      host: a.host ?? null,
      port: a.port ?? null,
      method: a.method ?? null,
      ruleId: a.ruleId,
      createdAt: a.createdAt,
      expiresAt: a.expiresAt,
      decidedAt: a.decidedAt,
      decidedBy: a.decidedBy,
      note: a.note,
    };
  }

  #find(p: Principal, id: string): Readonly<Approval> {
    const found = this.#runtime.approvals.get(p.tenant.admin ? null : p.tenant.id, id);
    if (found === undefined) throw new ApiError(404, "not_found", `no approval ${id.slice(0, 64)}`);
    return found;
  }

  /** An approval opened (webhook, audit row), or closed by the system (audit row); decisions by a key wrote theirs. */
  #opened(a: Readonly<Approval>): void {
    const view = this.view(a);
    if (a.state === "pending") {
      this.#audit.record(a.tenant, "kernel", "approval.requested", view.agentId, {
        approvalId: a.id,
        call: a.call,
        ruleId: a.ruleId,
      });
      const { id, ...rest } = view;
      this.#webhooks.emit(a.tenant, "approval.pending", { approvalId: id, ...rest });
    } else if (a.decidedBy === "system") {
      this.#audit.record(a.tenant, "system", "approval.decided", view.agentId, { approvalId: a.id, state: a.state });
    }
  }
}

/**
 * The approval routes as operations of the OpenAPI document.
 *
 * @example
 * ```ts
 * approvalOperations().map((op) => op.operationId); // ["listApprovals", "getApproval", "decideApproval"]
 * ```
 */
export function approvalOperations(): Operation[] {
  const op = operationOf("approvals");
  return [
    {
      ...op("get", "/v1/approvals", "listApprovals", "the open approvals of the tenant's agents (an admin's: all)"),
      responses: { 200: json("oldest first", "ApprovalList") },
    },
    {
      ...op("get", "/v1/approvals/{id}", "getApproval", "one approval, open or recently decided"),
      responses: { 200: json("the approval", "Approval") },
    },
    {
      ...op("post", "/v1/approvals/{id}", "decideApproval", "allow or deny the waiting call; 409 once decided"),
      body: approvalDecisionSchema,
      responses: { 200: json("the approval in its final state", "Approval") },
    },
  ];
}
