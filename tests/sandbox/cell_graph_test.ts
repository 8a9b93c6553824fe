/**
 * A cell runs with no permission and no npm: every module its entry point
 * loads must be a local file that imports no npm package (a module that
 * pulls zod in, say, would make every cell fail to start).
 */
import assert from "node:assert/strict";

Deno.test("cell: the cell's module graph is local files only (no npm, no remote)", async () => {
  const entry = new URL("../../sandbox/cell/cell_main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", entry], stdout: "piped" }).output();
  assert.equal(out.code, 0);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: { specifier: string }[] };
  const specifiers = info.modules.map((m) => m.specifier);
  // The prelude warms a `data:` import of its own; anything else must be a local file.
  const foreign = specifiers.filter((s) => !s.startsWith("file://") && !s.startsWith("data:"));
  assert.deepEqual(foreign, [], `the cell loads ${foreign.join(", ")}`);
  assert.ok(specifiers.length < 30, `the cell loads ${specifiers.length} modules`);
});
