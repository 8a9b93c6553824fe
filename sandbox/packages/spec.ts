/**
 * What an operator may name: a package spec (`name`, `name@range`,
 * `@scope/name@range`) checked strictly before anything runs, and the file
 * name a stored package's bundle gets.
 *
 * A name follows npm's rules for new packages: at most
 * {@linkcode packageNameCharsMax} characters, lowercase letters, digits,
 * `-`, `.` and `_`, not starting with `.` or `_`, optionally under one
 * `@scope/`, and not the name of a Node built-in (`fs` is `node:fs`). A
 * range is a semver range or a dist-tag: letters, digits and
 * `. - + ^ ~ < > = * |` and inner spaces, so no URL, path, `file:`, `git:`,
 * alias (`npm:`) or subpath can be named. Legacy mixed-case names
 * (`JSONStream`) are refused too.
 *
 * @module
 */

import { builtinModules } from "node:module";
import { packageNameCharsMax, packageRangeCharsMax, packageSpecCharsMax } from "./limits.ts";
import { PackageError } from "./types.ts";

/** A spec, checked. */
export interface PackageSpec {
  /** The npm name, `lodash` or `@scope/name`. */
  name: string;
  /** The range or dist-tag (`^4`, `4.17.21`, `latest`); undefined when the spec names none. */
  range?: string;
}

const namePart = /^[a-z0-9-][a-z0-9._-]*$/;
const rangePattern = /^[0-9A-Za-z.+^~<>=*|-](?:[0-9A-Za-z.+^~<>=*| -]*[0-9A-Za-z.+^~<>=*|-])?$/;
const versionPattern = /^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const builtins = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));

/** The first 64 characters of what the caller sent, as JSON, for an error message. */
function shown(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function invalid(text: string, why: string): PackageError {
  return new PackageError(
    "invalid_spec",
    `${shown(text)} is not a package spec: ${why} (write name, name@range or @scope/name@range, e.g. lodash@^4)`,
  );
}

/**
 * Check a package name by npm's rules for new packages (see the module doc).
 *
 * @param name the name, `lodash` or `@scope/name`
 * @returns the name
 * @throws {PackageError} `invalid_spec` naming the rule it breaks
 * @example
 * ```ts
 * import { checkPackageName } from "./spec.ts";
 * checkPackageName("@types/node"); // "@types/node"
 * ```
 */
export function checkPackageName(name: string): string {
  if (typeof name !== "string" || name.length === 0) throw invalid(String(name), "the name is empty");
  if (name.length > packageNameCharsMax) throw invalid(name, `a name has at most ${packageNameCharsMax} characters`);
  const scoped = name.startsWith("@");
  const parts = scoped ? name.slice(1).split("/") : [name];
  if (parts.length !== (scoped ? 2 : 1)) {
    throw invalid(name, scoped ? "a scoped name is @scope/name" : "a name has no '/' (a scope is written @scope/name)");
  }
  for (const part of parts) {
    if (!namePart.test(part)) {
      throw invalid(
        name,
        "a name is lowercase letters, digits, '-', '.' and '_', not starting with '.' or '_' (no URL, path or git spec)",
      );
    }
  }
  if (!scoped && (name === "node_modules" || name === "favicon.ico")) throw invalid(name, `${name} is reserved`);
  if (!scoped && builtins.has(name)) throw invalid(name, `${name} is a Node built-in: import it as node:${name}`);
  return name;
}

/**
 * Parse and check a spec: `name`, `name@range` or `@scope/name@range`.
 *
 * @param spec what the operator wrote
 * @returns the name and the range, if any
 * @throws {PackageError} `invalid_spec` naming the rule it breaks
 * @example
 * ```ts
 * import { parsePackageSpec } from "./spec.ts";
 * parsePackageSpec("@scope/name@^1.2"); // { name: "@scope/name", range: "^1.2" }
 * parsePackageSpec("lodash"); // { name: "lodash" }
 * ```
 */
export function parsePackageSpec(spec: string): PackageSpec {
  if (typeof spec !== "string") throw invalid(String(spec), "a spec is a string");
  if (spec.length > packageSpecCharsMax) throw invalid(spec, `a spec has at most ${packageSpecCharsMax} characters`);
  const at = spec.indexOf("@", 1);
  if (at === -1) return { name: checkPackageName(spec) };
  const name = checkPackageName(spec.slice(0, at));
  const range = spec.slice(at + 1);
  if (range.length === 0) throw invalid(spec, "the range after '@' is empty");
  if (range.length > packageRangeCharsMax) {
    throw invalid(spec, `a range has at most ${packageRangeCharsMax} characters`);
  }
  if (!rangePattern.test(range)) {
    throw invalid(spec, "a range is a semver range or a dist-tag (no URL, path, file:, git: or npm: alias)");
  }
  return { name, range };
}

/**
 * Whether `version` is an exact semver version (`4.17.21`, `1.0.0-rc.1`).
 *
 * @example
 * ```ts
 * import { isExactVersion } from "./spec.ts";
 * isExactVersion("4.17.21"); // true
 * isExactVersion("^4"); // false
 * ```
 */
export function isExactVersion(version: string): boolean {
  return typeof version === "string" && version.length <= packageRangeCharsMax && versionPattern.test(version);
}

/**
 * The file name of a stored package's bundle: `<safe-name>@<version>.js`,
 * a scope's `/` written `+` (`@scope+name@1.0.0.js`; `+` is in no name, so
 * two packages never share a file).
 *
 * @param name a checked name
 * @param version an exact version
 * @returns the file name (no directory)
 * @throws {PackageError} `integrity` when either is not what the store writes (a damaged index)
 * @example
 * ```ts
 * import { bundleFileName } from "./spec.ts";
 * bundleFileName("@scope/name", "1.0.0"); // "@scope+name@1.0.0.js"
 * ```
 */
export function bundleFileName(name: string, version: string): string {
  try {
    checkPackageName(name);
  } catch {
    throw new PackageError("integrity", `the store index names ${shown(String(name))}, which is not a package name`);
  }
  if (!isExactVersion(version)) {
    throw new PackageError("integrity", `the store index gives ${name} the version ${shown(String(version))}`);
  }
  return `${name.replace("/", "+")}@${version}.js`;
}
