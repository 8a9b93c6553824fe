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
  type PreparedModule,
  prepareModule,
  resolveSpecifier,
} from "./prepare.ts";
export { moduleSyscalls } from "./syscalls.ts";
