/**
 * The REPL cell transform: one cell of a session (JavaScript or
 * TypeScript, parsed as a module) → a classic script that the session's
 * Worker runs with indirect eval, `(0, eval)(script)`, in its global scope.
 * The script evaluates to a Promise of `{ value }`, the value of the cell's
 * last expression statement (or `export default`), `undefined` otherwise.
 *
 * Shape, with the user's lines where they were (added code sits on the
 * first line and after the last):
 *
 * ```text
 * var x, f; <make x, f writable> (async ($agentos_i) => { "use strict"; f = $agentos0(); <imports> <line 1 of the cell>
 * …the cell, rewritten in place…
 * ; return { value: void 0 }; })(globalThis[Symbol.for("agentos.import")])
 * //# sourceURL=cell3.ts
 * ```
 *
 * REPL semantics, not module semantics, where they differ: a later cell
 * may redeclare any name; `const` bindings are not read-only and have no
 * temporal dead zone; imported bindings are copies, not live; a function's
 * reference to its own name reads the function itself (not a later
 * redefinition).
 *
 * @module
 */

import { type Node, type Program, type Statement, tokenizer } from "acorn";
import { assert } from "../../lib/mod.ts";
import { CodeError } from "./errors.ts";
import { Edits } from "./edits.ts";
import { replCellCharsMax, replCellNameCharsMax } from "./limits.ts";
import { parseModule, stripTypes, typeScriptHint } from "./parse.ts";
import { type CellScope, rewriteClass, rewriteFunction, rewriteNestedVars, rewriteVariable } from "./declarations.ts";
import { type ImportContext, importHookKey, rewriteDynamicImports, rewriteImport, rewriteReexport } from "./imports.ts";

/** What a cell is. */
export interface ReplCellOptions {
  /** The language the cell was sent in (`ts` strips types first). */
  lang: "js" | "ts";
  /** The file name stack traces and errors show (`cell3.ts`): letters, digits, `_`, `-`, `.`, `/`. */
  cellName: string;
}

/** A cell, ready to run. */
export interface ReplCellScript {
  /** The classic script: `(0, eval)(script)` gives a Promise of `{ value }`. */
  script: string;
  /** The global names the cell binds, in source order. */
  bindings: string[];
}

/**
 * Transform one session cell into a script for the session's Worker.
 *
 * @param code the cell's source as the user sent it
 * @param opts its language and name
 * @returns the script and the names it binds
 * @throws {CodeError} `too_large` over `replCellCharsMax`; `syntax`
 *   naming `cellName:line:col` (with the TypeScript hint when `lang` is
 *   "js" and the code is TypeScript); `too_deep` when it nests beyond the
 *   parser's stack
 * @throws {RangeError} when `cellName` is not a plain file name (a bug of the caller)
 * @example
 * ```ts
 * const { script } = replCell("const x = 1;\nx + 1", { lang: "js", cellName: "cell1.js" });
 * await (0, eval)(script); // { value: 2 }, and globalThis.x is 1
 * ```
 */
export function replCell(code: string, opts: ReplCellOptions): ReplCellScript {
  const name = opts.cellName;
  assert(
    name.length <= replCellNameCharsMax && /^[\w.\-/]+$/.test(name),
    "cellName is a plain file name",
    RangeError,
  );
  if (code.length > replCellCharsMax) {
    throw new CodeError(
      `${name}: cell is ${code.length} characters, over replCellCharsMax (${replCellCharsMax}): ` +
        "send a smaller cell, or write the code to a file and import it",
      { reason: "too_large", file: name },
    );
  }
  const { program, source } = parseCell(opts.lang === "ts" ? stripTypes(code, name) : code, opts);
  let prefix = "$agentos";
  while (source.includes(prefix)) prefix += "_";
  const scope: CellScope = { edits: new Edits(source), bindings: new Set(), head: [], prefix };
  const ctx: ImportContext = { hook: `${prefix}_i`, cellJson: JSON.stringify(name) };
  if (source.startsWith("#!")) scope.edits.replace(0, 2, "//");
  const tailValue = rewriteTopLevel(program, source, scope, ctx);
  if (source.includes("import")) rewriteDynamicImports(program, scope, ctx, `file:///${name}`);
  const bindings = [...scope.bindings];
  const script = (bindings.length > 0 ? `var ${bindings.join(", ")}; ${writable(bindings)} ` : "") +
    `(async (${ctx.hook}) => { "use strict"; ${scope.head.join(" ")} ` + scope.edits.apply() +
    `\n; return { value: ${tailValue} }; })(globalThis[Symbol.for(${JSON.stringify(importHookKey)})])` +
    `\n//# sourceURL=${name}\n`;
  return { script, bindings };
}

/**
 * A statement that makes each of `names` a writable data property of the
 * global object where it is a configurable read-only one (the Worker's
 * getter-only `location`, the read-only `Deno`): a cell's `const location =
 * "Paris"` then binds it, as a REPL's own lexical binding would, instead of
 * throwing. Non-configurable globals (`undefined`, `NaN`) stay; assigning
 * them throws a TypeError naming them.
 */
function writable(names: string[]): string {
  return `for (const k of ${JSON.stringify(names)}) { const d = Object.getOwnPropertyDescriptor(globalThis, k); ` +
    "if (d?.configurable && !d.writable && !d.set) " +
    "Object.defineProperty(globalThis, k, { value: void 0, writable: true, enumerable: true, configurable: true }); }";
}

/**
 * Parse the (JavaScript) cell. A cell that starts with `{` (`{a: 1}`) is
 * tried in parentheses first, as an object literal, as Node's REPL does; a JavaScript cell that fails but parses once types
 * are stripped gets the TypeScript hint.
 */
function parseCell(js: string, opts: ReplCellOptions): { program: Program; source: string } {
  if (/^\s*\{/.test(js)) {
    const wrapped = `(${js}\n)`;
    try {
      return { program: parseModule(wrapped, opts.cellName), source: wrapped };
    } catch {
      // not an object literal: a block, parsed as written below
    }
  }
  try {
    return { program: parseModule(js, opts.cellName), source: js };
  } catch (err) {
    if (!(err instanceof CodeError) || err.reason !== "syntax" || opts.lang !== "js") throw err;
    let typeScript = false;
    try {
      parseModule(stripTypes(js, opts.cellName), opts.cellName);
      typeScript = true;
    } catch {
      // not TypeScript either: the JavaScript error stands
    }
    if (!typeScript) throw err;
    throw new CodeError(err.message + typeScriptHint, err);
  }
}

/**
 * Rewrite the cell's top-level statements; returns the expression the
 * tail returns as the value (the name of a default-exported declaration,
 * else `void 0`: a last expression statement returns its own value).
 */
function rewriteTopLevel(program: Program, source: string, scope: CellScope, ctx: ImportContext): string {
  let tailValue = "void 0";
  program.body.forEach((statement, i) => {
    const last = i === program.body.length - 1;
    switch (statement.type) {
      case "ImportDeclaration":
        return rewriteImport(statement, source, scope, ctx);
      case "ExportAllDeclaration":
        return rewriteReexport(statement, source, scope, ctx);
      case "ExportNamedDeclaration":
        if (statement.source) return rewriteReexport({ ...statement, source: statement.source }, source, scope, ctx);
        if (!statement.declaration) return scope.edits.blank(statement.start, statement.end);
        scope.edits.blank(statement.start, statement.declaration.start);
        return rewriteStatement(statement.declaration, scope);
      case "ExportDefaultDeclaration": {
        const decl = statement.declaration;
        if ((decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") && decl.id) {
          scope.edits.blank(statement.start, decl.start);
          if (last) tailValue = decl.id.name;
          return rewriteStatement(decl as Statement, scope);
        }
        const after = defaultKeywordEnd(source, statement.start, decl.start);
        scope.edits.blank(statement.start, after);
        return valueOf(after, statementEnd(source, statement), last, scope);
      }
      case "ExpressionStatement":
        if (last) valueOf(statement.start, statementEnd(source, statement), true, scope);
        return;
      default:
        return rewriteStatement(statement, scope);
    }
  });
  return tailValue;
}

/** A top-level declaration or statement (not a module declaration). */
function rewriteStatement(statement: Statement, scope: CellScope): void {
  switch (statement.type) {
    case "VariableDeclaration":
      if (statement.kind === "var" || statement.kind === "let" || statement.kind === "const") {
        rewriteVariable(statement, scope, true);
      }
      return; // `using` declarations stay local to the cell: disposed when it ends
    case "FunctionDeclaration":
      return rewriteFunction(statement, scope);
    case "ClassDeclaration":
      return rewriteClass(statement, scope);
    default:
      return rewriteNestedVars(statement, scope);
  }
}

/**
 * The source range `[start, end)` holds an expression: make it the cell's
 * value (`last`) or evaluate and drop it (`export default` not last). The
 * range is the statement's, not the expression node's, which excludes
 * parentheses around it.
 */
function valueOf(start: number, end: number, last: boolean, scope: CellScope): void {
  scope.edits.insert(start, last ? "return { value: (" : ";(");
  scope.edits.insert(end, last ? ") };" : ");");
}

/** Where a statement ends, before its own `;` if it has one. */
function statementEnd(source: string, statement: Node): number {
  return source[statement.end - 1] === ";" ? statement.end - 1 : statement.end;
}

/** The offset after the `default` of `export default` (comments between the keywords skipped by the tokenizer). */
function defaultKeywordEnd(source: string, start: number, declStart: number): number {
  for (const token of tokenizer(source.slice(start, declStart), { ecmaVersion: "latest", sourceType: "module" })) {
    if (source.slice(start + token.start, start + token.end) === "default") return start + token.end;
  }
  assert(false, "export default has a default keyword");
}
