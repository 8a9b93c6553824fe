/**
 * Opening the SQLite file, with the checks that keep a damaged or foreign
 * file from being served — or, worse, silently replaced by a fresh install.
 * Each failure is a {@linkcode StartupError}: one line naming the file, what
 * is wrong and what to do (`main.ts` prints it and exits non-zero).
 *
 * - The file does not exist: a fresh install. The schema is built in a
 *   temporary file beside it and renamed into place, so a crash during the
 *   first start never leaves a half-made (or empty) database behind.
 * - The file is empty (0 bytes), is not SQLite, or fails
 *   `PRAGMA quick_check`: refused (restore a backup; only deleting the file
 *   starts a fresh install).
 * - Its `PRAGMA user_version` is above {@linkcode schemaVersion}: written by
 *   a newer agentos; refused before anything is written to it.
 * - The data dir or the file is not writable: refused.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

/**
 * The schema this build writes (`PRAGMA user_version`). 0 is the schema from
 * before versions were recorded; a migration brings it to this. Raise it
 * with every schema change and add the step to the migration.
 */
export const schemaVersion = 1;

/** The exit status of a server that refused to start (EX_CONFIG of sysexits.h). */
export const startupExitCode = 78;

/** A reason the server cannot start: its message is one line, names the file, the cause and the fix. */
export class StartupError extends Error {
  override name = "StartupError";
}

const sqliteHeader = "SQLite format 3\0";

/**
 * Open (or create) the database at `path`, checked.
 *
 * @param path the SQLite file
 * @param init builds the schema, idempotently, and migrates a database of an older `user_version` (0: fresh, or
 *   from before versions were kept); run at every open in one transaction, after which `user_version` is
 *   {@linkcode schemaVersion}
 * @returns the open database, WAL mode
 * @throws {StartupError} for every check above, and for any SQLite error while opening
 * @example
 * ```ts
 * import { openDatabase } from "./store_open.ts";
 * const db = openDatabase("/tmp/agentos-example.db", (db) => db.exec("CREATE TABLE IF NOT EXISTS t (a)"));
 * db.close();
 * ```
 */
export function openDatabase(path: string, init: (db: DatabaseSync) => void): DatabaseSync {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  checkDirWritable(dir);
  const existing = checkFile(path);
  if (!existing) createFresh(path, init);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    const version = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
    if (version > schemaVersion) {
      throw new StartupError(
        `database ${path} has schema version ${version}, newer than this agentos reads (${schemaVersion}): ` +
          `run the agentos release that wrote it, or restore a backup made by this one`,
      );
    }
    const check = db.prepare("PRAGMA quick_check(1)").get() as { quick_check: string };
    if (check.quick_check !== "ok") throw corrupt(path, check.quick_check);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    db.exec(`PRAGMA journal_size_limit = ${walBytesKept}`);
    // Every start: `init` is idempotent (CREATE ... IF NOT EXISTS, added columns), so a table or index added
    // without a version bump is still made; a change an older build could not read must raise `schemaVersion`.
    migrate(db, init);
    return db;
  } catch (err) {
    db?.close();
    throw err instanceof StartupError ? err : sqliteFailure(path, err);
  }
}

/** Bytes a WAL file is cut back to after a checkpoint (it grows with the largest transaction). */
const walBytesKept = 16 * 1024 * 1024;

function migrate(db: DatabaseSync, init: (db: DatabaseSync) => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    init(db);
    db.exec(`PRAGMA user_version = ${schemaVersion}`);
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}

/** A fresh install: the schema built in a temporary file, renamed into place once complete. */
function createFresh(path: string, init: (db: DatabaseSync) => void): void {
  const temp = `${path}.creating-${Deno.pid}`;
  try {
    const db = new DatabaseSync(temp);
    try {
      // Before the first table: lets retention give freed pages back to the file system.
      db.exec("PRAGMA auto_vacuum = INCREMENTAL");
      migrate(db, init);
    } finally {
      db.close();
    }
    Deno.renameSync(temp, path);
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch { /* never made */ }
    throw sqliteFailure(path, err);
  }
}

/** Whether the file exists; throws when it does but cannot be the database. */
function checkFile(path: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw ioFailure(path, "cannot be read", err);
  }
  if (!info.isFile) {
    throw new StartupError(
      `database ${path} is not a file: move it away, or set AGENTOS_DATA_DIR to another directory`,
    );
  }
  if (info.size === 0) {
    throw new StartupError(
      `database ${path} is empty (0 bytes), so every tenant, key and record is gone: restore it from a backup ` +
        `(delete it only to start over as a fresh install with a new admin key)`,
    );
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true });
  } catch (err) {
    throw ioFailure(path, "is not writable", err);
  }
  try {
    const head = new Uint8Array(sqliteHeader.length);
    const n = file.readSync(head) ?? 0;
    if (n < head.length || new TextDecoder().decode(head) !== sqliteHeader) {
      throw new StartupError(
        `database ${path} is not an SQLite database (its first bytes are not an SQLite header): ` +
          `restore it from a backup, or move it away to start over as a fresh install`,
      );
    }
  } finally {
    file.close();
  }
  return true;
}

/** The data dir must take new files (the WAL and its index, workspaces, cells). */
function checkDirWritable(dir: string): void {
  let probe: string;
  try {
    probe = Deno.makeTempFileSync({ dir, prefix: ".agentos-write-check-" });
  } catch (err) {
    throw ioFailure(dir, "is not writable", err, "data dir");
  }
  Deno.removeSync(probe);
}

function ioFailure(path: string, what: string, err: unknown, kind = "database"): StartupError {
  const denied = err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable;
  const cause = err instanceof Deno.errors.NotCapable
    ? "this process was started without access to it; start the server with `deno task start`"
    : denied
    ? "make it writable by the user running agentos (check its mode, owner, immutable flag and mount)"
    : "check the disk and the path";
  const fix = kind === "data dir" ? ", or set AGENTOS_DATA_DIR to a writable directory" : "";
  return new StartupError(`${kind} ${path} ${what} (${oneLine(err)}): ${cause}${fix}`);
}

function corrupt(path: string, detail: string): StartupError {
  return new StartupError(
    `database ${path} is corrupt (${oneLine(detail)}): stop agentos and restore it from a backup ` +
      `(or move it away to start over as a fresh install)`,
  );
}

/** An SQLite error while opening, as one line with what to do. */
function sqliteFailure(path: string, err: unknown): StartupError {
  const message = oneLine(err);
  if (/malformed|not a database|corrupt/i.test(message)) return corrupt(path, message);
  if (/readonly|read-only|permission|access/i.test(message)) return ioFailure(path, "is not writable", err);
  return new StartupError(`database ${path} cannot be opened (${message}): check the disk, or restore a backup`);
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, " ").trim().slice(0, 300);
}
