/**
 * Parsing and TypeScript stripping: `stripTypes` (TypeScript → JavaScript
 * with the same line numbers, by sucrase), `parseModule` (acorn, as an ES
 * module with top-level await) and `looksLikeTypeScript` (the hint for
 * TypeScript sent as JavaScript).
 *
 * @module
 */

import { parse, type Program } from "acorn";
import { transform } from "sucrase";
import { codeErrorFrom } from "./errors.ts";

/** What the TypeScript hint adds to a JavaScript syntax error. */
export const typeScriptHint = ' (this looks like TypeScript: send lang: "ts")';

/**
 * Remove TypeScript's types (interfaces, annotations, `as`, `satisfies`,
 * type-only imports) and lower what has runtime meaning (enums, parameter
 * properties), keeping every line where it was. Imports that only name
 * types are kept (`keepUnusedImports`): a REPL cell's import may be used by
 * a later cell, which the stripper cannot see.
 *
 * @param code the TypeScript source
 * @param name the file name error messages show (`main.ts`)
 * @returns the JavaScript, line for line
 * @throws {CodeError} `SyntaxError` naming `name:line:col`, or `too_deep`
 * @example
 * ```ts
 * stripTypes("const n: number = 1;\ninterface A {}\n", "main.ts"); // "const n = 1;\n\n"
 * ```
 */
export function stripTypes(code: string, name: string): string {
  try {
    return transform(code, {
      transforms: ["typescript"],
      disableESTransforms: true,
      keepUnusedImports: true,
    }).code;
  } catch (err) {
    throw codeErrorFrom(err, name, code);
  }
}

/**
 * Parse JavaScript as an ES module (strict, top-level `await`, `import`
 * and `export` allowed), without locations (errors compute theirs).
 *
 * @param js the JavaScript source
 * @param name the file name error messages show
 * @param hint appended to a syntax error's message
 * @returns the acorn `Program`
 * @throws {CodeError} `SyntaxError` naming `name:line:col`, or `too_deep`
 * @example
 * ```ts
 * parseModule("const x = await 1;", "cell1.js").body.length; // 1
 * ```
 */
export function parseModule(js: string, name: string, hint = ""): Program {
  try {
    return parse(js, { ecmaVersion: "latest", sourceType: "module", allowHashBang: true });
  } catch (err) {
    throw codeErrorFrom(err, name, js, hint);
  }
}

/** Whether `js` parses as a module. */
function parses(js: string): boolean {
  try {
    parse(js, { ecmaVersion: "latest", sourceType: "module", allowHashBang: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether code that was sent as JavaScript is TypeScript: it does not
 * parse as JavaScript but does once its types are stripped. For the hint
 * `(this looks like TypeScript: send lang: "ts")`.
 *
 * @param code the source as sent
 * @returns true when only stripping types makes it parse
 * @example
 * ```ts
 * looksLikeTypeScript("const n: number = 1;"); // true
 * looksLikeTypeScript("const n = ;"); // false
 * ```
 */
export function looksLikeTypeScript(code: string): boolean {
  if (parses(code)) return false;
  let js: string;
  try {
    js = transform(code, { transforms: ["typescript"], disableESTransforms: true, keepUnusedImports: true }).code;
  } catch {
    return false;
  }
  return parses(js);
}
