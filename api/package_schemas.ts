/**
 * Request bodies of the package routes (zod, strict: unknown keys are a
 * 400) and their OpenAPI paths.
 *
 * @module
 */

import { z } from "zod";
import { packageSpecCharsMax } from "../sandbox/packages/mod.ts";

/** `POST /v1/packages`: the spec to add (`name`, `name@range`, `@scope/name@range`; checked by the store). */
export const packageAddSchema = z.strictObject({
  spec: z.string().min(1).max(packageSpecCharsMax),
});

/** An add body, as validated. */
export type PackageAdd = z.infer<typeof packageAddSchema>;

/**
 * The OpenAPI paths of the package store (admin).
 *
 * @param body the request-body builder of the document
 * @param responses the error responses every route shares
 * @param error one error response (for the statuses only these routes answer)
 * @returns the paths
 * @example
 * ```ts
 * import { packagePaths } from "./package_schemas.ts";
 * Object.keys(packagePaths(() => ({}), {}, {})); // ["/v1/packages", "/v1/packages/{name}"]
 * ```
 */
export function packagePaths(
  body: (schema: z.ZodType) => unknown,
  responses: Record<string, unknown>,
  error: unknown,
): Record<string, unknown> {
  const adding = { ...responses, 403: error, 409: error, 422: error, 502: error };
  return {
    "/v1/packages": {
      post: {
        summary: "add an npm package to the store: one exact version, bundled (admin; 201 once it is stored)",
        requestBody: body(packageAddSchema),
        responses: adding,
      },
      get: { summary: "the stored packages (admin)", responses: { ...responses, 403: error, 409: error } },
    },
    "/v1/packages/{name}": {
      delete: {
        summary: "remove a package (admin; a scoped name URL-encoded, %40scope%2Fname)",
        responses: { ...responses, 403: error },
      },
    },
  };
}
