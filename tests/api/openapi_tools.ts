/**
 * The third-party tools the OpenAPI test runs, pinned in one place: the
 * linter and the generator (run with `npx --yes`, from the npm registry
 * into npx's cache), and the fetch client the generated types are used
 * with (an `npm:` import of the generated client's config).
 *
 * @module
 */

/** The OpenAPI linter (`npx --yes <this> lint`). */
export const redoclyCli = "@redocly/cli@2.77.0";
/** The TypeScript generator (`npx --yes <this> doc.json -o schema.d.ts`). */
export const openapiTypescript = "openapi-typescript@7.13.0";
/** The fetch client the generated `paths` type (the client's import map: `"openapi-fetch": <this>`). */
export const openapiFetch = "npm:openapi-fetch@0.17.0";
/** The longest one tool may take (a cold npx cache installs it first), ms. */
export const toolRunMsMax = 240_000;
