/**
 * Webhooks: tenants' endpoints for lifecycle events (`agent.exited`,
 * `session.ended`, `approval.pending`, `quota.hit`), signed deliveries
 * through a bounded queue with retries, and the per-attempt delivery log.
 *
 * @example
 * ```ts
 * import { sign } from "./mod.ts";
 * // What a receiver checks: the header equals this, and the timestamp is recent.
 * const expected = await sign("whsec_...", "1767225600", '{"id":"ev_1","type":"agent.exited"}');
 * ```
 *
 * @module
 */

export { type EgressOptions, type PostResult, WebhookEgress } from "./egress.ts";
export { type Delivery, deliveryDefaults, type DeliveryOptions, DeliveryQueue, type DeliveryStats } from "./queue.ts";
export { type DeliveryOutcome, type DeliveryRow, type WebhookRow, WebhookRows, webhookSchema } from "./rows.ts";
export {
  deliveriesPageMax,
  deliveriesQuery,
  deliveryRowsPerWebhookMax,
  type WebhookCreate,
  webhookCreateSchema,
  webhookDescriptionCharsMax,
  type WebhookEventType,
  webhookEventTypes,
  webhooksPerTenantMax,
  webhookUrlCharsMax,
} from "./schemas.ts";
export { type WebhookEvent, type WebhookOptions, WebhookService, type WebhookView } from "./service.ts";
export { newSecret, sign } from "./sign.ts";
export { webhookOperations } from "./openapi.ts";
