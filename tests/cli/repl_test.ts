/**
 * `deno task agent repl` and `session` as a user runs them, through the
 * launcher (its narrow permissions): a local REPL over a real cell, and a
 * remote one over a real server's session.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "../api/helpers.ts";
import { unbalanced } from "../../cli/repl.ts";

const launcher = new URL("../../cli/agent_launch.ts", import.meta.url).pathname;

async function agent(args: string[], input: string, env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "--allow-write", "--allow-run", "--allow-env", launcher, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

const conversation = `const a = 20
function twice(x) {
  return x * 2
}
console.log("a is", a)
twice(a) + 2
throw new Error("oops")
a + 1
.exit
`;

Deno.test("cli: a local REPL keeps its variables across lines; a multi-line function is one cell", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-repl-" });
  try {
    const r = await agent(["repl", "--data-dir", dir], conversation);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "a is 20\n42\n21\n");
    assert.match(r.stderr, /Error: oops\n\s+at .*cell5\.js:1:\d+/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: a remote REPL and session exec run cells in a server's session", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const r = await agent(["repl", "--server", s.url, "--key", t.apiKey], conversation);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "a is 20\n42\n21\n");
    const listed = await (await s.req("/v1/sessions", { key: t.apiKey })).json();
    assert.deepEqual(listed.sessions.map((x: { reason: string }) => x.reason), ["closed"]);
    const env = { AGENTOS_URL: s.url, AGENTOS_KEY: t.apiKey };
    const created = JSON.parse((await agent(["session", "create", "--label", "via=cli"], "", env)).stdout);
    const first = await agent(["session", "exec", created.id, "-"], "let n = 41", env);
    assert.equal(first.code, 0, first.stderr);
    const second = JSON.parse((await agent(["session", "exec", created.id, "-"], "n + 1", env)).stdout);
    assert.deepEqual([second.executionCount, second.result], [2, 42]);
    const closed = JSON.parse((await agent(["session", "close", created.id], "", env)).stdout);
    assert.equal(closed.state, "ended");
  });
});

Deno.test("cli: the REPL's continuation rule counts brackets outside strings and comments", () => {
  assert.equal(unbalanced("function f() {"), true);
  assert.equal(unbalanced("f({ a: [1, 2] })"), false);
  assert.equal(unbalanced(`"{" + '(' + \`[\``), false);
  assert.equal(unbalanced("g( // )"), true);
});
