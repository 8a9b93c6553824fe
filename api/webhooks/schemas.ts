/**
 * Webhooks' request shapes (zod, validated at the HTTP boundary), the event
 * types a tenant may subscribe to, and the limits of registrations and of
 * the delivery log.
 *
 * @module
 */

import { z } from "zod";
import { deliveriesPageMax, webhookDescriptionCharsMax, webhookUrlCharsMax } from "../limits.ts";

export {
  deliveriesPageMax,
  deliveryRowsPerWebhookMax,
  webhookDescriptionCharsMax,
  webhooksPerTenantMax,
  webhookUrlCharsMax,
} from "../limits.ts";

/**
 * Lifecycle events a webhook can receive (`approval.pending`: a call a policy
 * `ask` rule holds for a person, `api/approvals.ts`).
 */
export const webhookEventTypes = ["agent.exited", "session.ended", "approval.pending", "quota.hit"] as const;

/** One event type. */
export type WebhookEventType = typeof webhookEventTypes[number];

/** The body of `POST /v1/webhooks`. */
export const webhookCreateSchema = z.strictObject({
  url: z.string().min(1).max(webhookUrlCharsMax),
  events: z.union([
    z.array(z.literal("*")).length(1),
    z.array(z.enum(webhookEventTypes)).min(1).max(webhookEventTypes.length)
      .refine((list) => new Set(list).size === list.length, "each event type once"),
  ]),
  description: z.string().max(webhookDescriptionCharsMax).optional(),
});

/** A validated registration body. */
export type WebhookCreate = z.output<typeof webhookCreateSchema>;

/** The query of `GET /v1/webhooks/:id/deliveries`: `cursor` is the `next` of the previous page. */
export const deliveriesQuery = z.strictObject({
  cursor: z.string().regex(/^[1-9][0-9]{0,14}$/, "a cursor is the `next` of a previous page").optional(),
  limit: z.coerce.number().int().min(1).max(deliveriesPageMax).optional(),
});
