/**
 * `deno task start` with a damaged or unusable database or data dir: the real
 * launcher and supervisor processes, each refusal one line on stderr naming
 * the file, the cause and what to do, a non-zero exit, no stack trace; a
 * fresh install only when the file does not exist.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { schemaVersion, startupExitCode, Store } from "../../api/store.ts";
import { launchExitCode } from "../../cli/launch.ts";

const launch = new URL("../../cli/launch.ts", import.meta.url).pathname;
const adminKey = "admin_startup_key_0123456789";

/** `deno task start`'s command line, with `env` on top of a throw-away data dir's. */
function start(dataDir: string, env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-write", "--allow-run", "--allow-env", launch],
    env: { AGENTOS_DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: "0", AGENTOS_POOL_SIZE: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  });
}

/** Run a start that must fail; returns its one stderr line after checking the exit and the absence of a stack. */
async function refused(dataDir: string, env?: Record<string, string>): Promise<string> {
  const out = await start(dataDir, env).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, startupExitCode, `exit ${out.code}, stderr: ${stderr}`);
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at |Uncaught|error:|Stack/m);
  assert.match(lines[0], /^agentos: /);
  return lines[0];
}

/** Start a server that must come up; resolves once it listens, with its url and a way to stop it. */
async function running(dataDir: string): Promise<{ url: string; stop: () => Promise<Deno.CommandStatus> }> {
  const child = start(dataDir, { AGENTOS_ADMIN_KEY: adminKey }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = AbortSignal.timeout(30_000);
  while (!/listening on (\S+)/.test(text)) {
    if (deadline.aborted) throw new Error(`server did not listen within 30 s; stdout so far: ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited before listening; stdout: ${text}`);
    text += value;
  }
  const url = /listening on (\S+)/.exec(text)![1];
  // Ready once the pool is warm (pool size 0: at once).
  for (let i = 0; (await fetch(`${url}/readyz`)).status !== 200; i++) {
    if (deadline.aborted) throw new Error("server not ready within 30 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  const stop = async () => {
    child.kill("SIGTERM");
    const status = await child.status;
    await reader.cancel();
    await child.stderr.cancel();
    return status;
  };
  return { url, stop };
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "agentos-startup-" });
}

/** A database made by this build (through the store), closed. */
async function madeDatabase(): Promise<{ dir: string; path: string }> {
  const dir = await tempDir();
  const path = `${dir}/agentos.db`;
  new Store(path).close();
  return { dir, path };
}

// Root ignores file modes; there the immutable flag (chattr +i) makes a file or directory read-only.
const root = Deno.uid() === 0;
async function setReadOnly(path: string, on: boolean): Promise<void> {
  if (root) {
    const out = await new Deno.Command("chattr", { args: [on ? "+i" : "-i", path], stderr: "piped" }).output();
    if (!out.success) throw new Error(`chattr: ${new TextDecoder().decode(out.stderr)}`);
  } else {
    const info = await Deno.stat(path);
    await Deno.chmod(path, info.isDirectory ? (on ? 0o555 : 0o755) : (on ? 0o444 : 0o644));
  }
}
/** Whether this machine can make a file read-only for this user (root needs chattr and a file system with the flag). */
const readOnlyWorks = await (async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/probe`, "x");
    await setReadOnly(`${dir}/probe`, true);
    try {
      Deno.openSync(`${dir}/probe`, { write: true }).close();
      return false;
    } catch {
      return true;
    } finally {
      await setReadOnly(`${dir}/probe`, false);
    }
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
})();
if (!readOnlyWorks) console.warn("startup_test: this machine cannot make a file read-only for this user; skipped");

Deno.test("startup: the launcher's exit status is the supervisor's", () => {
  assert.equal(launchExitCode, startupExitCode);
});

Deno.test("startup: a missing file is a fresh install; the file it leaves boots again with the same admin key", async () => {
  const dir = await tempDir();
  try {
    for (let run = 0; run < 2; run++) {
      const server = await running(dir);
      const res = await fetch(`${server.url}/v1/tenants`, { headers: { authorization: `Bearer ${adminKey}` } });
      assert.equal(res.status, 200, `run ${run}`);
      await res.body?.cancel();
      assert.equal((await server.stop()).code, 0);
    }
    const db = new DatabaseSync(`${dir}/agentos.db`, { readOnly: true });
    assert.equal((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, schemaVersion);
    db.close();
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.includes(".creating-")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup: an empty (0-byte) database is refused, not taken for a fresh install", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeFile(`${dir}/agentos.db`, new Uint8Array());
    const line = await refused(dir);
    assert.match(line, new RegExp(`database ${dir}/agentos.db is empty \\(0 bytes\\).*restore it from a backup`));
    assert.equal((await Deno.stat(`${dir}/agentos.db`)).size, 0, "the file is left as it was");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup: a file that is not SQLite is refused", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/agentos.db`, "these are not the bytes of an SQLite database, not at all");
    assert.match(await refused(dir), new RegExp(`database ${dir}/agentos.db is not an SQLite database.*backup`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup: a corrupt SQLite file (damaged pages) is refused", async () => {
  const { dir, path } = await madeDatabase();
  try {
    const bytes = await Deno.readFile(path);
    const pageBytes = new DataView(bytes.buffer).getUint16(16); // the header's page size
    assert.ok(bytes.length >= 3 * pageBytes, `${bytes.length} bytes`);
    bytes.fill(0xa5, pageBytes, bytes.length); // every page but the first (the schema's root stays readable)
    await Deno.writeFile(path, bytes);
    assert.match(await refused(dir), new RegExp(`database ${path} is corrupt \\(.+\\): .*restore it from a backup`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup: a database from a newer schema is refused and left untouched", async () => {
  const { dir, path } = await madeDatabase();
  try {
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${schemaVersion + 1}`);
    db.close();
    const before = await Deno.readFile(path);
    const line = await refused(dir);
    assert.match(
      line,
      new RegExp(`database ${path} has schema version ${schemaVersion + 1}, newer than .*\\(${schemaVersion}\\)`),
    );
    assert.match(line, /run the agentos release that wrote it/);
    assert.deepEqual(await Deno.readFile(path), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "startup: a read-only database file is refused",
  ignore: !readOnlyWorks,
  fn: async () => {
    const { dir, path } = await madeDatabase();
    await setReadOnly(path, true);
    try {
      assert.match(await refused(dir), new RegExp(`database ${path} is not writable \\(.+\\): make it writable`));
    } finally {
      await setReadOnly(path, false);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "startup: a read-only data dir is refused",
  ignore: !readOnlyWorks,
  fn: async () => {
    const { dir } = await madeDatabase();
    await setReadOnly(dir, true);
    try {
      const line = await refused(dir);
      assert.match(line, new RegExp(`data dir ${dir} is not writable \\(.+\\): make it writable.*AGENTOS_DATA_DIR`));
    } finally {
      await setReadOnly(dir, false);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("startup: a bad retention variable is refused by name", async () => {
  const dir = await tempDir();
  try {
    const line = await refused(dir, { AGENTOS_AUDIT_ROWS_MAX: "lots" });
    assert.match(line, /^agentos: AGENTOS_AUDIT_ROWS_MAX must be a whole number ≥ 0, got "lots": fix it or unset it$/);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing was created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup: a database from before schema versions is migrated in place and keeps its keys", async () => {
  const dir = await tempDir();
  try {
    // The schema as it was before `user_version` was kept (no policy column yet, no retention index).
    const old = new DatabaseSync(`${dir}/agentos.db`);
    old.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, admin INTEGER NOT NULL DEFAULT 0,
        quotas TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
      CREATE TABLE keys (hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id),
        created_at TEXT NOT NULL, revoked_at TEXT);`);
    old.close();
    const first = await running(dir); // no tenant: the admin is made from AGENTOS_ADMIN_KEY
    assert.equal((await first.stop()).code, 0);
    const db = new DatabaseSync(`${dir}/agentos.db`);
    assert.equal((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, schemaVersion);
    const columns = db.prepare("PRAGMA table_info(tenants)").all().map((c) => c.name);
    assert.ok(columns.includes("policy"), "the migration added the policy column");
    db.exec("PRAGMA user_version = 0"); // as if an older build wrote it again
    db.close();
    const again = await running(dir);
    const res = await fetch(`${again.url}/v1/tenants`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal((await again.stop()).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
