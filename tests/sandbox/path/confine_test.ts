import assert from "node:assert/strict";
import { confinePath } from "../../../sandbox/path/confine.ts";
import { normalizeGuestPath } from "../../../sandbox/path/normalize.ts";

async function workspace(): Promise<{ root: string; outside: string; done: () => Promise<void> }> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "agentos-path-" }));
  const root = `${base}/ws`;
  const outside = `${base}/outside`;
  await Deno.mkdir(root);
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
  return { root, outside, done: () => Deno.remove(base, { recursive: true }) };
}

Deno.test("path: lexical escapes are EACCES", () => {
  for (
    const raw of [
      "..",
      "../x",
      "a/../../x",
      "/etc/passwd",
      "/proc/self/environ",
      "\\x",
      "C:x",
      "a\0b",
      "x".repeat(5000),
      "a/".repeat(100),
    ]
  ) {
    assert.throws(() => normalizeGuestPath(raw), { code: "EACCES" }, JSON.stringify(raw.slice(0, 20)));
  }
  assert.throws(() => normalizeGuestPath(5), { code: "EINVAL" });
  assert.deepEqual(normalizeGuestPath("a/./b/../c"), ["a", "c"]);
  assert.deepEqual(normalizeGuestPath("%2e%2e/\uff0e\uff0e/x"), ["%2e%2e", "\uff0e\uff0e", "x"]);
  assert.deepEqual(normalizeGuestPath(""), []);
});

Deno.test("path: symlinks that point out are refused, wherever they sit", async () => {
  const { root, outside, done } = await workspace();
  try {
    await Deno.symlink(`${outside}/secret.txt`, `${root}/link.txt`);
    await Deno.symlink(outside, `${root}/dirlink`);
    await Deno.symlink("../outside", `${root}/rel`);
    await Deno.symlink(`${outside}/missing`, `${root}/dangling`);
    await Deno.symlink("/proc/self", `${root}/proc`);
    for (const raw of ["link.txt", "dirlink/secret.txt", "rel/secret.txt", "dangling", "dangling/x", "proc/environ"]) {
      await assert.rejects(() => confinePath(root, raw, "read"), { code: "EACCES" }, raw);
    }
    // A symlink that stays inside is fine and resolves to its real target.
    await Deno.writeTextFile(`${root}/real.txt`, "ok");
    await Deno.symlink("real.txt", `${root}/inner`);
    assert.equal((await confinePath(root, "inner", "read")).real, `${root}/real.txt`);
  } finally {
    await done();
  }
});

Deno.test("path: hard links to files are refused", async () => {
  const { root, outside, done } = await workspace();
  try {
    await Deno.link(`${outside}/secret.txt`, `${root}/hard.txt`);
    await assert.rejects(() => confinePath(root, "hard.txt", "read"), { code: "EACCES" });
  } finally {
    await done();
  }
});

Deno.test("path: new files resolve beneath the real root", async () => {
  const { root, done } = await workspace();
  try {
    assert.equal((await confinePath(root, "new/deep/file.txt", "write")).real, `${root}/new/deep/file.txt`);
    assert.equal((await confinePath(root, ".", "read")).real, root);
  } finally {
    await done();
  }
});
