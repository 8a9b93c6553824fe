/**
 * Top-level declarations of a cell turned into global bindings: `var`,
 * `let` and `const` become assignments to names the script declares with
 * `var` (a global property of an indirect-eval script, replaced by a later
 * cell's declaration), classes become assignments of class expressions,
 * functions stay hoisted through a helper that returns them. Every edit
 * keeps the user's line breaks.
 *
 * @module
 */

import type { ClassDeclaration, FunctionDeclaration, Node, Pattern, Statement, VariableDeclaration } from "acorn";
import type { Edits } from "./edits.ts";

/** What rewriting a cell collects besides its edits. */
export interface CellScope {
  /** The edits of the cell's source. */
  edits: Edits;
  /** The names the cell binds globally (declared by the script with `var`). */
  bindings: Set<string>;
  /** Statements run first in the cell, on its first line (function hoists, imports). */
  head: string[];
  /** The prefix of every generated name (it occurs nowhere in the source). */
  prefix: string;
}

/**
 * Add the names a binding pattern binds (`{a, b: [c], ...d}` → a, c, d).
 *
 * @param pattern a declarator's id or a for-head's left side
 * @param out where the names go
 */
export function patternNames(pattern: Pattern, out: Set<string>): void {
  const stack: (Pattern | null)[] = [pattern];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!node) continue;
    switch (node.type) {
      case "Identifier":
        out.add(node.name);
        break;
      case "ObjectPattern":
        for (const prop of node.properties) stack.push(prop.type === "RestElement" ? prop.argument : prop.value);
        break;
      case "ArrayPattern":
        stack.push(...node.elements);
        break;
      case "RestElement":
        stack.push(node.argument);
        break;
      case "AssignmentPattern":
        stack.push(node.left);
        break;
      case "MemberExpression":
        break;
    }
  }
}

/**
 * A `var`/`let`/`const` statement → one parenthesised assignment of the
 * same declarators (`const {a} = o, b = 1;` → `;(    {a} = o, b = 1);`);
 * the keyword becomes `;(` padded to its width, a `let` without an
 * initialiser is set to `void 0` (a redeclaration resets it), a `var`
 * without one keeps the earlier value.
 *
 * @param decl the declaration (kind var, let or const)
 * @param scope where names and edits go
 * @param inList whether the statement sits in a statement list (then a
 *   leading `;` guards against the previous line lacking one)
 */
export function rewriteVariable(decl: VariableDeclaration, scope: CellScope, inList: boolean): void {
  const open = (inList ? ";(" : " (").padEnd(decl.kind.length, " ");
  scope.edits.replace(decl.start, decl.start + decl.kind.length, open);
  for (const declarator of decl.declarations) {
    patternNames(declarator.id, scope.bindings);
    if (!declarator.init && decl.kind !== "var") scope.edits.insert(declarator.id.end, " = void 0");
  }
  scope.edits.insert(decl.declarations[decl.declarations.length - 1].end, ")");
}

/** `for (var i = 0; …)` / `for (var x of …)` → the same loop over the global names (`var` blanked). */
function rewriteForHead(decl: VariableDeclaration, scope: CellScope): void {
  scope.edits.blank(decl.start, decl.start + decl.kind.length);
  for (const declarator of decl.declarations) patternNames(declarator.id, scope.bindings);
}

/**
 * A top-level `function f` (also async, generator) stays a hoisted
 * declaration, nested in a hoisted helper that returns it
 * (`function $p0() { return f; function f() {…} }`), so no binding named
 * `f` encloses the cell's code: every reference to `f`, in this cell and
 * in earlier cells' functions, reads the global, which the cell's first
 * line sets.
 */
export function rewriteFunction(fn: FunctionDeclaration, scope: CellScope): void {
  const name = fn.id.name;
  const helper = `${scope.prefix}${scope.head.length}`;
  scope.bindings.add(name);
  scope.head.push(`${name} = ${helper}();`);
  scope.edits.insert(fn.start, `function ${helper}() { return ${name}; `);
  scope.edits.insert(fn.end, " }");
}

/** A top-level `class C {…}` → `;C = class C {…};` (classes are not hoisted: it runs where it stands). */
export function rewriteClass(cls: ClassDeclaration, scope: CellScope): void {
  scope.bindings.add(cls.id.name);
  scope.edits.insert(cls.start, `;${cls.id.name} = `);
  scope.edits.insert(cls.end, ";");
}

/**
 * Rewrite every `var` of a top-level statement that is not inside a
 * function (`if (…) { var x }`, `for (var i…)`): it would otherwise be a
 * local of the cell's wrapper. `let`/`const` below the top level are block
 * scoped and stay. Iterative: nesting depth costs no stack.
 *
 * @param statement a top-level statement that is not a declaration
 * @param scope where names and edits go
 */
export function rewriteNestedVars(statement: Statement, scope: CellScope): void {
  const stack: { node: Node | null | undefined; inList: boolean }[] = [{ node: statement, inList: true }];
  const list = (nodes: Node[]) => nodes.forEach((node) => stack.push({ node, inList: true }));
  const one = (node: Node | null | undefined) => stack.push({ node, inList: false });
  const head = (node: Node | null | undefined) => {
    if (node?.type === "VariableDeclaration" && (node as VariableDeclaration).kind === "var") {
      rewriteForHead(node as VariableDeclaration, scope);
    }
  };
  while (stack.length > 0) {
    const { node, inList } = stack.pop()!;
    if (!node) continue;
    const s = node as Statement;
    switch (s.type) {
      case "VariableDeclaration":
        if (s.kind === "var") rewriteVariable(s, scope, inList);
        break;
      case "BlockStatement":
        list(s.body);
        break;
      case "IfStatement":
        one(s.consequent), one(s.alternate);
        break;
      case "ForStatement":
        head(s.init), one(s.body);
        break;
      case "ForInStatement":
      case "ForOfStatement":
        head(s.left), one(s.body);
        break;
      case "WhileStatement":
      case "DoWhileStatement":
      case "LabeledStatement":
        one(s.body);
        break;
      case "TryStatement":
        one(s.block), one(s.handler?.body), one(s.finalizer);
        break;
      case "SwitchStatement":
        for (const c of s.cases) list(c.consequent);
        break;
    }
  }
}
