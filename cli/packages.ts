/**
 * `deno task packages <add|list|remove>`: the operator's verbs on the
 * package store of a data dir (`<data-dir>/packages`, the store the server
 * reads). The task runs with `--allow-read --allow-write --allow-run
 * --allow-env`: the store's `deno` subprocesses reach the npm registry, this
 * process does not.
 *
 * `add` prints one line per package, `list` a table, every failure one line
 * on stderr naming the fix; the exit status is 1 when anything failed, 2 for
 * a command line that is not one.
 *
 * @example
 * ```sh
 * deno task packages add lodash@4.17.21 zod@^3
 * deno task packages list --verify
 * deno task packages remove lodash
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PackageError, PackageStore, type StoredPackage } from "../sandbox/packages/mod.ts";
import { escapeLine } from "./escape.ts";

/** The data dir when neither `--data-dir` nor `AGENTOS_DATA_DIR` is given: the server's (`cli/launch.ts`). */
export const packagesDataDirDefault = "./data";

/** The usage text of `--help`. */
export const packagesUsage = `usage: deno task packages <add|list|remove> [spec...] [--data-dir DIR] [--verify] [--help]

  add <spec...>      resolve each spec to one exact version, refuse install scripts and native
                     addons, bundle it with its dependencies into one ES module, store it
                     (a spec is name, name@range or @scope/name@range; another version of a
                     stored name replaces it)
  list [--verify]    the stored packages; --verify checks every bundle against the index
  remove <name...>   take packages out of the store

  --data-dir DIR     the server's data dir; the store is DIR/packages
                     (default: $AGENTOS_DATA_DIR, else ${packagesDataDirDefault})
  --help             this text

The registry is $NPM_CONFIG_REGISTRY, else https://registry.npmjs.org. Agents import a stored
package by its name ("lodash", or "npm:lodash@^4" when the range admits the stored version).

examples:
  deno task packages add lodash@4.17.21 zod@^3 @types/node
  deno task packages list --verify
  deno task packages remove lodash
  AGENTOS_DATA_DIR=/srv/agentos deno task packages add date-fns@3.6.0
`;

/** `1234567` → `1.2 MB`, `234550` → `229 KB`. */
function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** `301 exports`, `1 export` (`default` counts as one). */
function exportCount(p: StoredPackage): string {
  return `${p.exports.length} export${p.exports.length === 1 ? "" : "s"}`;
}

function fail(verb: string, what: string, err: unknown): void {
  const message = err instanceof PackageError ? `${err.message} [${err.code}]` : String(err);
  console.error(escapeLine(`packages: ${verb} ${what}: ${message}`));
}

async function add(store: PackageStore, specs: string[]): Promise<number> {
  let failed = 0;
  for (const spec of specs) {
    try {
      const p = await store.add(spec);
      const deps = p.dependencies.length > 1 ? `, ${p.dependencies.length - 1} dependencies bundled` : "";
      console.log(`added ${p.name}@${p.version} (${size(p.bytes)}, ${exportCount(p)}${deps})`);
    } catch (err) {
      fail("add", spec, err);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

async function remove(store: PackageStore, names: string[]): Promise<number> {
  let failed = 0;
  for (const name of names) {
    try {
      if (await store.remove(name)) console.log(`removed ${name}`);
      else {
        console.error(escapeLine(`packages: remove ${name}: not in the store (see: deno task packages list)`));
        failed++;
      }
    } catch (err) {
      fail("remove", name, err);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

async function list(store: PackageStore, verify: boolean): Promise<number> {
  const packages = await store.list();
  if (packages.length === 0) {
    console.log(`no packages in ${store.dir} (add one: deno task packages add lodash@4.17.21)`);
    return 0;
  }
  const checked = verify ? new Map((await store.verify()).map((r) => [r.name, r])) : undefined;
  const rows = [["NAME", "VERSION", "SIZE", "EXPORTS", "ADDED", ...(checked ? ["BUNDLE"] : [])]];
  for (const p of packages) {
    const status = checked ? [checked.get(p.name)?.ok ? "ok" : "DAMAGED"] : [];
    rows.push([p.name, p.version, size(p.bytes), String(p.exports.length), p.addedAt.slice(0, 19) + "Z", ...status]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  const bad = [...(checked?.values() ?? [])].filter((r) => !r.ok);
  for (const r of bad) console.error(escapeLine(`packages: ${r.name}@${r.version}: ${r.reason}`));
  return bad.length === 0 ? 0 : 1;
}

/**
 * Run one command line of `deno task packages`.
 *
 * @param argv the arguments after the task name
 * @returns the exit status: 0, 1 (something failed), 2 (not a command line)
 * @example
 * ```ts
 * import { packagesCommand } from "./packages.ts";
 * Deno.exit(await packagesCommand(["list", "--data-dir", "/srv/agentos"]));
 * ```
 */
export async function packagesCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { "data-dir": { type: "string" }, verify: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    console.error(`packages: ${err instanceof Error ? err.message : err}\n\n${packagesUsage}`);
    return 2;
  }
  const { values, positionals: [verb, ...args] } = parsed;
  if (values.help) {
    console.log(packagesUsage);
    return 0;
  }
  const dataDir = values["data-dir"] ?? Deno.env.get("AGENTOS_DATA_DIR") ?? packagesDataDirDefault;
  const store = new PackageStore(PackageStore.defaultDir(dataDir));
  const needsArgs = verb === "add" || verb === "remove";
  if ((needsArgs && args.length === 0) || (verb === "list" && args.length > 0) || !(needsArgs || verb === "list")) {
    console.error(
      `packages: ${verb === undefined ? "no verb" : `bad use of ${JSON.stringify(verb)}`}\n\n${packagesUsage}`,
    );
    return 2;
  }
  try {
    if (verb === "add") return await add(store, args);
    if (verb === "remove") return await remove(store, args);
    return await list(store, values.verify ?? false);
  } catch (err) {
    fail(verb, store.dir, err);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await packagesCommand(Deno.args));
