/**
 * The webhook routes as operations of the OpenAPI document (api/openapi.ts
 * lists them), with the request and query schemas the routes validate with.
 *
 * @module
 */

import { json, type Operation, operationOf } from "../openapi_operation.ts";
import { deliveriesQuery, webhookCreateSchema } from "./schemas.ts";

const endpoint = {
  type: "object",
  description: "a webhook endpoint (its secret only when created or rotated)",
  additionalProperties: true,
};

/**
 * The webhook operations.
 *
 * @example
 * ```ts
 * webhookOperations().map((op) => op.operationId).includes("createWebhook"); // true
 * ```
 */
export function webhookOperations(): Operation[] {
  const op = operationOf("webhooks");
  return [
    {
      ...op("post", "/v1/webhooks", "createWebhook", "register an endpoint for lifecycle events (the secret: once)"),
      body: webhookCreateSchema,
      responses: { 201: json("the endpoint and its signing secret", endpoint) },
    },
    {
      ...op("get", "/v1/webhooks", "listWebhooks", "the tenant's webhook endpoints"),
      responses: { 200: json("the endpoints", { type: "object", additionalProperties: true }) },
    },
    {
      ...op("get", "/v1/webhooks/{id}", "getWebhook", "one endpoint (without its secret)"),
      responses: { 200: json("the endpoint", endpoint) },
    },
    {
      ...op("delete", "/v1/webhooks/{id}", "deleteWebhook", "delete an endpoint and its delivery log"),
      responses: { 200: json("deleted", { type: "object", additionalProperties: true }) },
    },
    {
      ...op("post", "/v1/webhooks/{id}/secret", "rotateWebhookSecret", "a new signing secret, answered once"),
      responses: { 200: json("the endpoint and its new secret", endpoint) },
    },
    {
      ...op("get", "/v1/webhooks/{id}/deliveries", "listWebhookDeliveries", "the delivery log, one row per attempt"),
      query: deliveriesQuery,
      responses: { 200: json("a page of attempts, newest first", { type: "object", additionalProperties: true }) },
    },
  ];
}
