/**
 * What an import specifier names: a file of the workspace, a Node
 * built-in, a package of the store, or something the sandbox never loads
 * (a URL, `jsr:`). Pure: no I/O.
 *
 * @module
 */

import { KernelError } from "../../kernel/mod.ts";

/** The target of a specifier. */
export type ImportTarget =
  | { readonly kind: "file" }
  | { readonly kind: "node"; readonly name: string }
  | { readonly kind: "package"; readonly name: string; readonly range: string | null };

/** Node built-ins that need authority the sandbox does not give: refused with a message, not Deno's. */
const authorityBuiltins = new Set([
  "child_process",
  "cluster",
  "dgram",
  "dns",
  "dns/promises",
  "http",
  "http2",
  "https",
  "inspector",
  "inspector/promises",
  "net",
  "readline",
  "readline/promises",
  "repl",
  "sqlite",
  "tls",
  "trace_events",
  "tty",
  "v8",
  "vm",
  "wasi",
  "worker_threads",
]);

/** Built-ins an agent may import without the `node:` prefix, as in Node. */
const bareBuiltins = new Set([
  "assert",
  "assert/strict",
  "buffer",
  "crypto",
  "events",
  "fs",
  "fs/promises",
  "os",
  "path",
  "path/posix",
  "path/win32",
  "process",
  "querystring",
  "stream",
  "stream/promises",
  "stream/web",
  "string_decoder",
  "timers",
  "timers/promises",
  "url",
  "util",
  "util/types",
  "zlib",
  ...authorityBuiltins,
]);

/** npm's package-name rules: lower case, URL-safe, at most 214 characters, an optional `@scope/`. */
const packageName = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;
/** A version range as written after `@` (checked by semver where it is used): printable, no `/`. */
const rangeText = /^[0-9A-Za-z.*^~<>=| xX+-]{1,128}$/;

/**
 * What `specifier` names.
 *
 * @throws {KernelError} `EINVAL` for a malformed one; `ENOSYS` for a URL,
 *   a `jsr:` import, a package subpath or a built-in that needs authority
 * @example
 * ```ts
 * importTarget("./util.ts"); // { kind: "file" }
 * importTarget("npm:lodash@^4"); // { kind: "package", name: "lodash", range: "^4" }
 * importTarget("zod"); // { kind: "package", name: "zod", range: null }
 * importTarget("node:path"); // { kind: "node", name: "path" }
 * ```
 */
export function importTarget(specifier: string): ImportTarget {
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/")) return { kind: "file" };
  const shown = JSON.stringify(specifier.slice(0, 200));
  // deno-lint-ignore no-control-regex
  if (specifier.length === 0 || specifier.length > 512 || /[\u0000-\u001f\u007f\\]/.test(specifier)) {
    throw new KernelError("EINVAL", `malformed import specifier ${shown}`);
  }
  if (specifier.startsWith("node:")) return builtin(specifier.slice(5), shown);
  if (bareBuiltins.has(specifier)) return builtin(specifier, shown);
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) && !specifier.startsWith("npm:")) {
    throw new KernelError(
      "ENOSYS",
      `cannot import ${shown}: the sandbox loads no URLs or registries; packages come from the server's package ` +
        `store (import "name" or "npm:name@range"; an operator adds them with \`deno task packages add name@version\`)`,
    );
  }
  let text = specifier.startsWith("npm:") ? specifier.slice(4) : specifier;
  if (text.startsWith("/")) text = text.slice(1);
  const at = text.indexOf("@", text.startsWith("@") ? 1 : 0);
  const nameEnd = at < 0 ? text.length : at;
  let name = text.slice(0, nameEnd);
  let rest = at < 0 ? "" : text.slice(at + 1);
  // `name/sub` or `name@range/sub`: a subpath, which the store does not hold.
  const slashes = name.startsWith("@") ? 1 : 0;
  const parts = name.split("/");
  if (parts.length > slashes + 1) {
    name = parts.slice(0, slashes + 1).join("/");
    return subpath(specifier, name);
  }
  if (rest.includes("/")) {
    rest = rest.slice(0, rest.indexOf("/"));
    return subpath(specifier, name);
  }
  if (!packageName.test(name) || name.length > 214) {
    throw new KernelError("EINVAL", `malformed import specifier ${shown}: ${JSON.stringify(name)} is not an npm name`);
  }
  if (at >= 0 && !rangeText.test(rest)) {
    throw new KernelError(
      "EINVAL",
      `malformed import specifier ${shown}: ${JSON.stringify(rest)} is not a version range`,
    );
  }
  return { kind: "package", name, range: at < 0 ? null : rest };
}

function builtin(name: string, shown: string): ImportTarget {
  if (authorityBuiltins.has(name)) {
    throw new KernelError(
      "ENOSYS",
      `cannot import ${shown}: node:${name} needs authority the sandbox does not give (use sys.net.fetch, ` +
        "sys.fs.*, sys.proc.spawn)",
    );
  }
  return { kind: "node", name };
}

function subpath(specifier: string, name: string): never {
  throw new KernelError(
    "ENOSYS",
    `cannot import ${JSON.stringify(specifier.slice(0, 200))}: the package store holds each package's main entry ` +
      `only; import it from ${JSON.stringify(name)}`,
  );
}
