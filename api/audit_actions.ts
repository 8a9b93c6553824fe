/**
 * The closed set of audit actions: every row the service writes names one,
 * `AuditLog.record`/`write` take only these (a new action is added here or
 * it does not compile), and `GET /v1/audit?action=` refuses any other.
 *
 * @module
 */

/** Every audit action, in the order a reader meets them. */
export const auditActions = [
  "tenant.created",
  "tenant.quotas_changed",
  "key.issued",
  "key.rotated",
  "key.created",
  "key.revoked",
  "policy.changed",
  "scheduler.changed",
  "agent.spawned",
  "agent.updated",
  "agent.killed",
  "agent.exited",
  "agents.pruned",
  "audit.pruned",
  "quota.exceeded",
  "denial",
  "denial.suppressed",
  "import",
  "approval.requested",
  "approval.decided",
  "session.created",
  "session.updated",
  "session.restarted",
  "session.ended",
  "volume.created",
  "volume.deleted",
  "package.added",
  "package.removed",
  "webhook.created",
  "webhook.deleted",
  "webhook.secret_rotated",
] as const;

/**
 * One audit action.
 *
 * @example
 * ```ts
 * const a: AuditAction = "agent.exited";
 * ```
 */
export type AuditAction = typeof auditActions[number];
