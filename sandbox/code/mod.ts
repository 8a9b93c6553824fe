/**
 * The code layer: TypeScript stripping, parsing with typed errors, and the
 * REPL cell transform of sessions (each cell → a classic script whose
 * top-level declarations become globals the next cell sees). Pure code: no
 * I/O, no Deno API.
 *
 * @module
 */

export { CodeError, type CodeErrorInit, type CodeErrorReason } from "./errors.ts";
export { looksLikeTypeScript, stripTypes, typeScriptHint } from "./parse.ts";
export { replCell, type ReplCellOptions, type ReplCellScript } from "./repl.ts";
export { importHookKey } from "./imports.ts";
export { replCellCharsMax, replCellNameCharsMax } from "./limits.ts";
