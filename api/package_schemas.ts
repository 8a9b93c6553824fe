/**
 * Request bodies of the package routes (zod, strict: unknown keys are a
 * 400); their operations are in `api/openapi_paths.ts`.
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
