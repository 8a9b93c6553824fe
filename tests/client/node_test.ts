/**
 * The same SDK file on Node 20: `deno bundle client/mod.ts` (no
 * dependencies, so one file) imported by a `.mjs` run with `node` against
 * the test server — `run()`, a session with a file, and a typed error.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "../api/helpers.ts";

const sdk = new URL("../../client/mod.ts", import.meta.url).pathname;

/** Is there a node on PATH? (The test says so instead of passing quietly.) */
async function nodeVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

const script = `
import { AgentOS, Unauthorized } from "./client.mjs";
const [url, apiKey] = process.argv.slice(2);
const os = new AgentOS({ url, apiKey });
const run = await os.run("console.log('from node'); export default () => 6 * 7");
const spawned = await os.spawn("export default () => 1");
const types = [];
for await (const e of spawned.events()) types.push(e.type);
const session = await os.sessions.create({ capabilities: ["fs.read"] });
await session.files.upload("in.txt", new TextEncoder().encode("bytes from node"));
const read = await session.exec("await sys.fs.readText('in.txt')", { onStdout: () => {} });
const listed = (await session.files.list()).map((e) => e.name);
await session.close();
const wrong = await new AgentOS({ url, apiKey: "wrong" }).run("1").catch((e) => e);
console.log(JSON.stringify({
  stdout: run.stdout, result: run.result, read: read.result, listed, lastEvent: types.at(-1),
  unauthorized: wrong instanceof Unauthorized, code: wrong.code, status: wrong.status,
}));
`;

Deno.test("sdk on node: a deno bundle of client/mod.ts runs run(), events(), a session and a typed error", async () => {
  const version = await nodeVersion();
  assert.ok(version, "node is required for this test (Node 20+ on PATH)");
  assert.ok(Number(version.slice(1).split(".")[0]) >= 20, version);
  const dir = await Deno.makeTempDir({ prefix: "agentos-sdk-node-" });
  try {
    const bundled = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", sdk, "-o", `${dir}/client.mjs`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bundled.code, 0, new TextDecoder().decode(bundled.stderr));
    const text = await Deno.readTextFile(`${dir}/client.mjs`);
    assert.doesNotMatch(text, /^import /m, "the bundle imports nothing");
    await Deno.writeTextFile(`${dir}/main.mjs`, script);
    await withServer(async (s) => {
      const t = await createTenant(s, "sdk-node");
      const out = await new Deno.Command("node", {
        args: [`${dir}/main.mjs`, s.url, t.apiKey],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const got = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
      assert.deepEqual(got, {
        stdout: "from node\n",
        result: 42,
        read: "bytes from node",
        listed: ["in.txt"],
        lastEvent: "exit",
        unauthorized: true,
        code: got.code,
        status: 401,
      });
      assert.equal(typeof got.code, "string");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
