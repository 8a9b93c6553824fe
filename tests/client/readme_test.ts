/**
 * The README's SDK example, run verbatim against a real server: the first
 * `ts` block of its "Client SDK" section, with the server's URL, a
 * tenant's key and the path of `client/mod.ts` put in.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "../api/helpers.ts";
import { readmeBlock } from "../docs/mod.ts";

const sdk = new URL("../../client/mod.ts", import.meta.url).href;

Deno.test("readme: the Client SDK example runs as written", async () => {
  const code = (await readmeBlock("## Client SDK", "ts")).text;
  assert.ok(code.split("\n").filter((l) => l.trim() !== "").length <= 10, "a 10-line example");
  for (const part of ['"./client/mod.ts"', "http://127.0.0.1:8787", "aos_your_key"]) assert.ok(code.includes(part));
  const dir = await Deno.makeTempDir({ prefix: "agentos-readme-" });
  try {
    await withServer(async (s) => {
      const t = await createTenant(s, "readme");
      const file = `${dir}/example.ts`;
      await Deno.writeTextFile(
        file,
        code.replace('"./client/mod.ts"', JSON.stringify(sdk)).replace("http://127.0.0.1:8787", s.url)
          .replace("aos_your_key", t.apiKey),
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", `--allow-net=${new URL(s.url).host}`, `--allow-read=${dir}`, file],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
      assert.deepEqual(lines, ["hi 42", "live: 7", "[ 3, 4 ]"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
