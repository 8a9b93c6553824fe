/**
 * The style rules of agentos as lint rules (`deno task lint` runs them):
 *
 * - `mod-imports`: source code imports another folder only through that
 *   folder's `mod.ts` (a subfolder may use its parents' files; tests,
 *   benchmarks and tools may reach inside).
 * - `function-length`: no function over {@linkcode functionLinesMax} lines
 *   in `kernel/`, `sandbox/`, `api/`.
 * - `file-length`: no source file over {@linkcode fileLinesMax} lines (tests
 *   and benchmarks excepted).
 * - `one-assert`: the one assertion helper is `lib/assert.ts`; nothing else
 *   defines an `assert`.
 *
 * @module
 */

/** Longest function, lines (STYLE: functions ≤ ~70 lines). */
export const functionLinesMax = 70;

/** Longest source file, lines (a file over it holds more than one concept: split it). */
export const fileLinesMax = 500;
/** Folders whose files are held to `fileLinesMax`. */
const fileChecked = ["/kernel/", "/sandbox/", "/api/", "/client/", "/observability/", "/lib/", "/cli/", "/tools/"];

/** Folders whose functions are held to `functionLinesMax`. */
const lengthChecked = ["/kernel/", "/sandbox/", "/api/", "/client/"];
/** Folders whose imports are not checked (they may test or measure internals). */
const importsFree = ["/tests/", "/bench/", "/tools/", "/.scratch/"];

function relative(filename: string): string {
  const root = new URL("..", import.meta.url).pathname;
  return "/" + (filename.startsWith(root) ? filename.slice(root.length) : filename).replace(/^\/+/, "");
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/") + 1);
}

/** Resolve `./`/`../` segments of a posix path. */
function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

const plugin: Deno.lint.Plugin = {
  name: "agentos",
  rules: {
    "mod-imports": {
      create(ctx) {
        const file = relative(ctx.filename);
        if (importsFree.some((p) => file.startsWith(p))) return {};
        const check = (node: { source: { value: string } | null } & Deno.lint.Node) => {
          const spec = node.source?.value;
          if (spec === undefined || !spec.startsWith(".")) return;
          const target = normalize(dirOf(file) + spec);
          // Within a folder (and from a subfolder up to its parents) anything goes; across, only mod.ts.
          if (dirOf(file).startsWith(dirOf(target)) || target.endsWith("/mod.ts")) return;
          // The root limits module gathers every layer's limits file.
          if (file === "/limits.ts" && target.endsWith("/limits.ts")) return;
          ctx.report({
            node,
            message: `import of ${spec} reaches inside ${dirOf(target)}: import its mod.ts instead`,
          });
        };
        return {
          ImportDeclaration: check,
          ExportNamedDeclaration: (node) => node.source && check(node as never),
          ExportAllDeclaration: check,
        };
      },
    },
    "function-length": {
      create(ctx) {
        const file = relative(ctx.filename);
        if (!lengthChecked.some((p) => file.startsWith(p))) return {};
        const source = ctx.sourceCode.text;
        const lines = (start: number, end: number) => source.slice(start, end).split("\n").length;
        const check = (node: Deno.lint.Node & { body?: Deno.lint.Node | null }) => {
          if (!node.body || node.body.type !== "BlockStatement") return;
          const n = lines(node.range[0], node.range[1]);
          if (n > functionLinesMax) {
            ctx.report({ node, message: `function of ${n} lines (at most ${functionLinesMax}): split it` });
          }
        };
        return { FunctionDeclaration: check, FunctionExpression: check, ArrowFunctionExpression: check };
      },
    },
    "file-length": {
      create(ctx) {
        const file = relative(ctx.filename);
        if (!fileChecked.some((p) => file.startsWith(p))) return {};
        return {
          Program(node) {
            const n = ctx.sourceCode.text.replace(/\n$/, "").split("\n").length;
            if (n > fileLinesMax) {
              ctx.report({ node, message: `file of ${n} lines (at most ${fileLinesMax}): split it by concept` });
            }
          },
        };
      },
    },
    "one-assert": {
      create(ctx) {
        const file = relative(ctx.filename);
        if (file === "/lib/assert.ts") return {};
        const report = (node: Deno.lint.Node) =>
          ctx.report({ node, message: "a second assert helper: import { assert } from lib/mod.ts" });
        return {
          FunctionDeclaration(node) {
            if (node.id?.name === "assert") report(node);
          },
          VariableDeclarator(node) {
            if (node.id.type === "Identifier" && node.id.name === "assert" && node.init?.type !== "CallExpression") {
              if (node.init?.type === "ArrowFunctionExpression" || node.init?.type === "FunctionExpression") {
                report(node);
              }
            }
          },
        };
      },
    },
  },
};

export default plugin;
