/**
 * The OpenAPI paths of the webhook routes (`api/schemas.ts` adds them to
 * the document), with operation ids, path and query parameters, and the
 * request schemas the routes validate with.
 *
 * @module
 */

import type { z } from "zod";
import { deliveriesPageMax, webhookCreateSchema } from "./schemas.ts";

/**
 * The webhook paths.
 *
 * @param body a request body from a zod schema, as the document writes it
 * @param responses the document's shared responses
 * @returns the `paths` entries
 * @example
 * ```ts
 * const paths = { ...webhookPaths(body, responses) };
 * ```
 */
export function webhookPaths(body: (schema: z.ZodType) => unknown, responses: unknown): Record<string, unknown> {
  const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
  return {
    "/v1/webhooks": {
      post: {
        operationId: "createWebhook",
        summary: "register an endpoint for lifecycle events (the signing secret is answered this once)",
        requestBody: body(webhookCreateSchema),
        responses,
      },
      get: { operationId: "listWebhooks", summary: "the tenant's webhook endpoints", responses },
    },
    "/v1/webhooks/{id}": {
      parameters: [id],
      get: { operationId: "getWebhook", summary: "one endpoint (without its secret)", responses },
      delete: { operationId: "deleteWebhook", summary: "delete an endpoint and its delivery log", responses },
    },
    "/v1/webhooks/{id}/secret": {
      parameters: [id],
      post: { operationId: "rotateWebhookSecret", summary: "a new signing secret, answered once", responses },
    },
    "/v1/webhooks/{id}/deliveries": {
      parameters: [id],
      get: {
        operationId: "listWebhookDeliveries",
        summary: "the delivery log, one row per attempt, newest first",
        parameters: [
          { name: "cursor", in: "query", schema: { type: "string", pattern: "^[1-9][0-9]{0,14}$" } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: deliveriesPageMax } },
        ],
        responses,
      },
    },
  };
}
