/**
 * Multi-file agents: lexing and cutting modules at their imports, and the
 * `mod.load` syscall the Worker loads workspace modules with.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export {
  importHookSource,
  isRelativeSpecifier,
  type ModuleLang,
  moduleLexerReady,
  packageDep,
  type PreparedModule,
  prepareModule,
  resolveSpecifier,
} from "./prepare.ts";
export { moduleSyscalls } from "./syscalls.ts";
export { type PackageDeps, Packages, type PackageSource } from "./packages.ts";
export { type ImportTarget, importTarget } from "./specifier.ts";
