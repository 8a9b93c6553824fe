/**
 * Module loading in a cell: import declarations become awaited calls of
 * the session's module hook, run first on the cell's first line (imports
 * are hoisted, as in a module); `import(expr)` anywhere becomes a call of
 * the hook; `import.meta` becomes a plain object. The hook is
 * `globalThis[Symbol.for("agentos.import")](cellName, specifier, options?)`
 * and returns a Promise of the module namespace.
 *
 * @module
 */

import type { ImportAttribute, ImportDeclaration, ImportExpression, Literal, MetaProperty, Node } from "acorn";
import type { CellScope } from "./declarations.ts";

/** The symbol (by `Symbol.for`) under which the session's prelude installs the module hook. */
export const importHookKey = "agentos.import";

/** The generated code of a cell's imports: the hook's local name and the cell's name, as JSON. */
export interface ImportContext {
  /** The wrapper's parameter that holds the hook. */
  hook: string;
  /** `JSON.stringify(cellName)`. */
  cellJson: string;
}

/** `{ with: { type: "json" } }` for an import's attributes, or "" when it has none. */
function attributesArg(source: string, attributes: ImportAttribute[]): string {
  if (attributes.length === 0) return "";
  const pairs = attributes.map((a) => `${source.slice(a.key.start, a.key.end)}: ${JSON.stringify(a.value.value)}`);
  return `, { with: { ${pairs.join(", ")} } }`;
}

/** The hook call that loads `specifier`: `await $h("cell1.ts", "m")`. */
function load(ctx: ImportContext, specifier: Literal, source: string, attributes: ImportAttribute[]): string {
  return `await ${ctx.hook}(${ctx.cellJson}, ${JSON.stringify(specifier.value)}${attributesArg(source, attributes)})`;
}

/**
 * `import d, {a as b} from "m"` → `({ default: d, a: b } = await hook(cell, "m"));`
 * on the cell's first line; `import * as ns from "m"` → `ns = await …;`;
 * `import "m"` → `await …;`. The declaration itself is blanked.
 *
 * @param decl the import declaration
 * @param source the cell's source
 * @param scope where the names, the head statement and the edits go
 * @param ctx the hook's name and the cell's name
 */
export function rewriteImport(decl: ImportDeclaration, source: string, scope: CellScope, ctx: ImportContext): void {
  scope.edits.blank(decl.start, decl.end);
  let target = load(ctx, decl.source, source, decl.attributes);
  const fields: string[] = [];
  for (const spec of decl.specifiers) {
    scope.bindings.add(spec.local.name);
    if (spec.type === "ImportNamespaceSpecifier") target = `(${spec.local.name} = ${target})`;
    else if (spec.type === "ImportDefaultSpecifier") fields.push(`default: ${spec.local.name}`);
    else {
      const imported = spec.imported.type === "Identifier" ? spec.imported.name : JSON.stringify(spec.imported.value);
      fields.push(`${imported}: ${spec.local.name}`);
    }
  }
  scope.head.push(fields.length > 0 ? `({ ${fields.join(", ")} } = ${target});` : `${target};`);
}

/** `export … from "m"`: nothing is bound in a cell, the module is still loaded (for its effects). */
export function rewriteReexport(
  decl: { start: number; end: number; source: Literal; attributes: ImportAttribute[] },
  source: string,
  scope: CellScope,
  ctx: ImportContext,
): void {
  scope.edits.blank(decl.start, decl.end);
  scope.head.push(`${load(ctx, decl.source, source, decl.attributes)};`);
}

/**
 * Rewrite every `import(expr[, options])` into `hook(cell, expr[, options])`
 * and every `import.meta` into `({ url, main: true })`, anywhere in the
 * cell (in functions too: the cell's name is fixed into the call). Walks
 * the tree with an explicit stack.
 *
 * @param program the cell's tree
 * @param scope where the edits go
 * @param ctx the hook's name and the cell's name
 * @param metaUrl the URL `import.meta.url` gives
 */
export function rewriteDynamicImports(program: Node, scope: CellScope, ctx: ImportContext, metaUrl: string): void {
  const stack: unknown[] = [program];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown> & Node;
    if (node.type === "ImportExpression") {
      const call = node as unknown as ImportExpression;
      const breaks = scope.edits.breaksIn(call.start, call.source.start);
      // A name computed at run time goes to the hook's `dynamic` variant (the policy's `dynamicImports`).
      const literal = call.source.type === "Literal" && typeof (call.source as Literal).value === "string";
      const hook = literal ? ctx.hook : `${ctx.hook}.dynamic`;
      scope.edits.replace(call.start, call.source.start, `${hook}(${ctx.cellJson}, ${breaks}`);
    } else if (node.type === "MetaProperty" && (node as unknown as MetaProperty).meta.name === "import") {
      scope.edits.replace(node.start, node.end, `({ url: ${JSON.stringify(metaUrl)}, main: true })`);
      continue;
    }
    for (const key in node) {
      const value = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (item !== null && typeof item === "object" && "type" in item) stack.push(item);
      } else if (value !== null && typeof value === "object" && "type" in value) {
        stack.push(value);
      }
    }
  }
}
