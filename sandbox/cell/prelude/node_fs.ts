/**
 * Prelude part: `node:fs/promises` (and the promise and callback parts of
 * `node:fs`) over the sandbox's `Deno.*` file APIs, which run over the
 * `fs.*` syscalls (std_deno_fs.ts): the same workspace, confinement,
 * policy and errno (`err.code` is `"ENOENT"`, `"EACCES"`, …) as `sys.fs`.
 * The synchronous functions cannot work over asynchronous syscalls: they
 * throw, naming the promise form. Shipped as source: it must not close over
 * anything in this module.
 *
 * @module
 */

/** The sources of the two modules, by the specifier they stand for. */
export function preludeNodeFsSources(): Record<string, string> {
  return { "node:fs/promises": preludeNodeFsPromises(), "node:fs": preludeNodeFsCallbacks() };
}

/** `node:fs/promises` over `Deno.*`. */
export function preludeNodeFsPromises(): string {
  return `
import { Buffer } from "node:buffer";
const D = globalThis.Deno;
const text = (o) => typeof o === "string" ? o : o?.encoding ?? null;
const path = (p) => p instanceof URL ? p.pathname : String(p);
const stats = (i) => ({
  size: i.size, mtime: i.mtime, atime: i.atime, birthtime: i.birthtime, ctime: i.mtime,
  mtimeMs: i.mtime?.getTime() ?? 0, mode: i.mode ?? 0,
  isFile: () => i.isFile, isDirectory: () => i.isDirectory, isSymbolicLink: () => i.isSymlink,
});
export async function readFile(p, options) {
  const bytes = await D.readFile(path(p));
  const enc = text(options);
  return enc === null ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.from(bytes).toString(enc);
}
const bytesOf = (data, options) => typeof data === "string"
  ? Buffer.from(data, text(options) ?? "utf8")
  : data instanceof Uint8Array ? data : Buffer.from(data);
export async function writeFile(p, data, options) {
  await D.writeFile(path(p), bytesOf(data, options), { append: options?.flag === "a" });
}
export async function appendFile(p, data, options) {
  await D.writeFile(path(p), bytesOf(data, options), { append: true });
}
export async function readdir(p, options) {
  const out = [];
  for await (const e of D.readDir(path(p))) {
    out.push(options?.withFileTypes
      ? { name: e.name, isFile: () => e.isFile, isDirectory: () => e.isDirectory, isSymbolicLink: () => e.isSymlink }
      : e.name);
  }
  return out;
}
export async function mkdir(p, options) {
  await D.mkdir(path(p), { recursive: options?.recursive === true });
}
export async function rm(p, options) {
  try {
    await D.remove(path(p), { recursive: options?.recursive === true });
  } catch (e) {
    if (!(options?.force && e?.code === "ENOENT")) throw e;
  }
}
export async function rmdir(p, options) { await D.remove(path(p), { recursive: options?.recursive === true }); }
export async function unlink(p) { await D.remove(path(p)); }
export async function rename(from, to) { await D.rename(path(from), path(to)); }
export async function copyFile(from, to) { await D.writeFile(path(to), await D.readFile(path(from))); }
export async function stat(p) { return stats(await D.stat(path(p))); }
export async function lstat(p) { return stats(await D.lstat(path(p))); }
export async function access(p) { await D.stat(path(p)); }
export const constants = { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 };
export default { readFile, writeFile, appendFile, readdir, mkdir, rm, rmdir, unlink, rename, copyFile, stat, lstat, access, constants };
`;
}

/** `node:fs`: the promises, callback forms over them, and synchronous forms that say why they cannot work. */
export function preludeNodeFsCallbacks(): string {
  return `
import * as promises from "node:fs/promises";
export { promises };
export const constants = promises.constants;
const callback = (fn) => (...args) => {
  const cb = args.pop();
  if (typeof cb !== "function") throw new TypeError("the last argument must be a callback");
  fn(...args).then((v) => cb(null, v), (e) => cb(e));
};
export const readFile = callback(promises.readFile);
export const writeFile = callback(promises.writeFile);
export const appendFile = callback(promises.appendFile);
export const readdir = callback(promises.readdir);
export const mkdir = callback(promises.mkdir);
export const rm = callback(promises.rm);
export const unlink = callback(promises.unlink);
export const rename = callback(promises.rename);
export const stat = callback(promises.stat);
const sync = (name) => () => {
  const e = new Error(name + " is not available in the sandbox (files are syscalls, which are asynchronous): " +
    "use await fs.promises." + name.replace(/Sync$/, "") + "() or node:fs/promises");
  e.code = "ENOSYS";
  throw e;
};
export const readFileSync = sync("readFileSync");
export const writeFileSync = sync("writeFileSync");
export const existsSync = sync("existsSync");
export const readdirSync = sync("readdirSync");
export const mkdirSync = sync("mkdirSync");
export const statSync = sync("statSync");
export const rmSync = sync("rmSync");
export default { promises, constants, readFile, writeFile, appendFile, readdir, mkdir, rm, unlink, rename, stat,
  readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync, statSync, rmSync };
`;
}
