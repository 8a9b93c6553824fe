/**
 * `mod.load`: one module of an agent's graph, read from its workspace (or a
 * mounted volume) through the same confinement, policy and events as
 * `fs.readText`, and cut at its imports for the Worker to link. Needs no
 * capability: an agent may always run its own code; what it may read is
 * still decided by the path and policy layers (a policy can deny
 * `mod.load` on a path).
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../../kernel/mod.ts";
import { defineSyscall, type SyscallDef } from "../../kernel/syscall/mod.ts";
import { readCheckedFile } from "../fs/mod.ts";
import { moduleBytesMax } from "../../kernel/mod.ts";
import { moduleLang, prepareModule, resolveSpecifier } from "./prepare.ts";
import type { Packages } from "./packages.ts";
import { importTarget } from "./specifier.ts";

/** A built-in as a module of the graph: its namespace, re-exported (a bare `"path"` import lands here). */
function builtinModule(name: string) {
  const dep = `node:${name}`;
  return {
    path: dep,
    lang: "js" as const,
    segments: ['export * from "', '";\nexport { default } from "', '";\n'],
    deps: [dep, dep],
  };
}

const loadArgs = z.strictObject({
  specifier: z.string().max(4096),
  referrer: z.string().max(8192),
  /** Named at run time (`import(expr)`): a package then needs the policy's `dynamicImports`. */
  dynamic: z.boolean().optional(),
});
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The `mod.*` rows.
 *
 * @example
 * ```ts
 * const table = new SyscallTable(moduleSyscalls(new Packages({ store: null, decide: () => null, imported: () => {} })));
 * ```
 */
export function moduleSyscalls(packages: Packages): SyscallDef[] {
  return [
    defineSyscall({
      name: "mod.load",
      args: loadArgs,
      capability: null,
      ioBound: true,
      paths: (args) =>
        importTarget(args.specifier).kind === "file"
          ? [{ path: resolveSpecifier(args.referrer, args.specifier), access: "read" as const }]
          : [],
      handler: async ({ proc, args, paths, addBytes, reserve }) => {
        const target = importTarget(args.specifier);
        if (target.kind === "node") return builtinModule(target.name);

        if (target.kind === "package") {
          const pkg = await packages.resolve(proc, target.name, target.range, args.dynamic === true);
          const module = await packages.load(proc, pkg, args.specifier);
          addBytes(pkg.bytes);
          return module;
        }
        const checked = paths[0];
        const path = checked.relative;
        const lang = moduleLang(path);
        if (checked.seen === null) {
          throw new KernelError("ENOENT", `cannot find module ${JSON.stringify(path)}`);
        }
        if (checked.seen.size > moduleBytesMax) {
          throw new KernelError("E2BIG", `module ${path} is over moduleBytesMax (${moduleBytesMax} bytes)`);
        }
        const bytes = await readCheckedFile(checked, reserve);
        addBytes(bytes.length);
        let source: string;
        try {
          source = decoder.decode(bytes);
        } catch {
          throw new KernelError("EINVAL", `module ${path} is not valid UTF-8`);
        }
        return await packages.resolveDeps(proc, prepareModule(path, source, lang));
      },
    }),
  ];
}
