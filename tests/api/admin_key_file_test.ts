/**
 * The first start's generated admin key is also written to
 * `<dataDir>/admin.key` (0600), works as the admin's key, and is never
 * overwritten: not by a later start, not over a file that was there.
 */
import assert from "node:assert/strict";
import { startServer } from "../../api/server.ts";
import { writeAdminKeyFile } from "../../api/admin_key_file.ts";

async function start(dataDir: string) {
  return await startServer({ host: "127.0.0.1", port: 0, dataDir, poolSize: 1, handleSignals: false, log: false });
}

Deno.test("admin.key: a first start without AGENTOS_ADMIN_KEY writes the generated key, 0600, once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-adminkey-" });
  try {
    const first = await start(dataDir);
    let key: string;
    try {
      key = (await Deno.readTextFile(`${dataDir}/admin.key`)).trim();
      assert.equal((await Deno.stat(`${dataDir}/admin.key`)).mode! & 0o777, 0o600);
      const res = await fetch(`${first.url}/v1/tenants`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200, "the file's key is the admin's");
      await res.body?.cancel();
    } finally {
      await first.close();
    }
    const before = await Deno.stat(`${dataDir}/admin.key`);
    const second = await start(dataDir);
    await second.close();
    assert.equal((await Deno.readTextFile(`${dataDir}/admin.key`)).trim(), key);
    assert.equal((await Deno.stat(`${dataDir}/admin.key`)).mtime?.getTime(), before.mtime?.getTime());
    const leftovers = [...Deno.readDirSync(dataDir)].filter((e) => e.name.startsWith(".admin.key"));
    assert.deepEqual(leftovers, [], "no temporary file is left");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("admin.key: a file already there is kept (and said so)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-adminkey-" });
  try {
    await Deno.writeTextFile(`${dataDir}/admin.key`, "older\n");
    const got = await writeAdminKeyFile(dataDir, "aos_new");
    assert.equal(got.written, false);
    assert.equal(got.written === false && got.why, "exists");
    assert.equal(await Deno.readTextFile(`${dataDir}/admin.key`), "older\n");
    const fresh = await Deno.makeTempDir({ prefix: "agentos-adminkey-" });
    const ok = await writeAdminKeyFile(fresh, "aos_new");
    assert.deepEqual(ok, { written: true, path: `${fresh}/admin.key` });
    await Deno.remove(fresh, { recursive: true });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
