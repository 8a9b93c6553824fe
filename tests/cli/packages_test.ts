/**
 * `deno task packages` as an operator runs it: a real subprocess with the
 * task's permissions, a real data dir, the real registry.
 */
import assert from "node:assert/strict";
import { copyStore } from "../packages_fixture.ts";

const cli = new URL("../../cli/packages.ts", import.meta.url).pathname;

/** The task's command line (deno.json `packages`), bounded in time. */
async function packages(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-write", "--allow-run", "--allow-env", cli, ...args],
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("cli packages: --help prints the usage with examples; a bad command line exits 2", async () => {
  const help = await packages(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: deno task packages <add\|list\|remove>/);
  assert.match(help.stdout, /examples:\n\s+deno task packages add lodash@4\.17\.21/);
  for (const argv of [[], ["frob"], ["add"], ["remove"], ["list", "x"], ["list", "--nope"]]) {
    const r = await packages(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, /usage: deno task packages/);
  }
});

Deno.test("cli packages: add, list, remove in a data dir; failures are one line each and exit 1", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-cli-packages-" });
  try {
    const empty = await packages(["list", "--data-dir", dataDir]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /^no packages in .*\/packages/);
    const added = await packages(["add", "ms@2.1.3", "../x", "--data-dir", dataDir]);
    assert.equal(added.code, 1, "one of the two failed");
    assert.match(added.stdout, /^added ms@2\.1\.3 \(\d+ KB, 1 export\)\n$/);
    assert.equal(added.stderr.trim().split("\n").length, 1, added.stderr);
    assert.match(added.stderr, /^packages: add \.\.\/x: .*\[invalid_spec\]$/m);
    const listed = await packages(["list", "--verify", "--data-dir", dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    const [header, row] = listed.stdout.trim().split("\n");
    assert.match(header, /^NAME\s+VERSION\s+SIZE\s+EXPORTS\s+ADDED\s+BUNDLE$/);
    assert.match(row, /^ms\s+2\.1\.3\s+\d+ KB\s+1\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+ok$/);
    const removed = await packages(["remove", "ms", "--data-dir", dataDir]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, "removed ms\n");
    const again = await packages(["remove", "ms"], { AGENTOS_DATA_DIR: dataDir });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^packages: remove ms: not in the store/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("cli packages: list --verify names a damaged bundle and exits 1", async () => {
  const store = await copyStore();
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-cli-packages-" });
  try {
    await Deno.rename(store, `${dataDir}/packages`);
    const ok = await packages(["list"], { AGENTOS_DATA_DIR: dataDir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/).slice(0, 2).join("@")), [
      "date-fns@3.6.0",
      "lodash@4.17.21",
      "zod@3.23.8",
    ]);
    await Deno.writeTextFile(`${dataDir}/packages/zod@3.23.8.js`, "export {};");
    const bad = await packages(["list", "--verify", "--data-dir", dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^zod\s.*DAMAGED$/m);
    assert.match(bad.stderr, /^packages: zod@3\.23\.8: .*deno task packages add zod@3\.23\.8` again$/m);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("cli packages: with the default data dir (./data, relative), add and list work from any directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-cli-packages-cwd-" });
  try {
    const added = await packages(["add", "ms@2.1.3"], {}, dir);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^added ms@2\.1\.3 /);
    const listed = await packages(["list", "--verify"], {}, dir);
    assert.match(listed.stdout, /^ms\s+2\.1\.3\s.*\sok$/m);
    assert.ok((await Deno.stat(`${dir}/data/packages/index.json`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
