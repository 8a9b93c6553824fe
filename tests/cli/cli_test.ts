/**
 * The `deno task agent` CLI as a user runs it: real subprocesses, real cells,
 * and the client verbs against a real server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, withServer } from "../api/helpers.ts";

const cli = new URL("../../cli/main.ts", import.meta.url).pathname;
const guests = new URL("../fixtures/guests/", import.meta.url).pathname;
const examples = new URL("../../examples/", import.meta.url).pathname;

async function agent(args: string[], dataDir?: string) {
  const dir = dataDir ?? await Deno.makeTempDir({ prefix: "agentos-cli-" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args, ...(args[0] === "run" && !args.includes("--server") ? ["--data-dir", dir] : [])],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!dataDir) await Deno.remove(dir, { recursive: true });
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("cli: run a file locally with --json and --trace", async () => {
  const r = await agent(["run", `${examples}hello.js`, "--allow", "fs.read,fs.write", "--trace", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines[0], "hello from inside the sandbox");
  const summary = JSON.parse(lines.at(-1)!);
  assert.equal(summary.state, "Zombie");
  assert.equal(summary.reason, "exit");
  assert.equal(summary.exitCode, 0);
  assert.equal(summary.result.text, "the sandbox works\n");
  for (const key of ["cpuMs", "wallMs", "peakRssMb", "syscalls"]) {
    assert.equal(typeof summary.usage[key], "number", key);
  }
  assert.match(r.stderr, /fs\.writeText \{"path":"notes\/today\.txt".*→ ok \d+µs/);
});

Deno.test("cli: the exit code is the agent's; kills are non-zero", async () => {
  assert.equal((await agent(["run", `${guests}exit_code.js`])).code, 7);
  assert.equal((await agent(["run", `${guests}throws.js`])).code, 1);
  const cpu = await agent(["run", `${guests}busy_loop.js`, "--cpu-ms", "200", "--json"]);
  assert.notEqual(cpu.code, 0);
  assert.equal(JSON.parse(cpu.stdout.trim().split("\n").at(-1)!).reason, "cpu");
  const denied = await agent(["run", `${examples}hello.js`, "--json"]);
  assert.equal(denied.code, 1);
  assert.match(JSON.parse(denied.stdout.trim().split("\n").at(-1)!).message, /EACCES|capability|not granted/);
  assert.equal((await agent(["run", `${examples}hello.js`, "--allow", "root"])).code, 2);
});

Deno.test("cli: client verbs against a server", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "cli");
    const auth = ["--server", s.url, "--key", t.apiKey];
    const run = await agent(["run", `${examples}hello.js`, "--allow", "fs.read,fs.write", ...auth]);
    assert.equal(run.code, 0, run.stderr);
    const done = JSON.parse(run.stdout);
    assert.equal(done.reason, "exit");
    const spawned = await agent(["spawn", `${guests}sleeper.js`, ...auth]);
    assert.equal(spawned.code, 0, spawned.stderr);
    const { id } = JSON.parse(spawned.stdout);
    const ps = await agent(["ps", ...auth]);
    assert.match(ps.stdout, new RegExp(`${id}\\tRunning`));
    const status = await agent(["status", id, ...auth]);
    assert.equal(JSON.parse(status.stdout).state, "Running");
    assert.equal((await agent(["kill", id, ...auth])).code, 0);
    const logs = await agent(["logs", done.id, ...auth]);
    assert.equal(logs.stdout, "hello from inside the sandbox\n");
    const missing = await agent(["status", "ag_nope", "--server", s.url, "--key", adminKey]);
    assert.equal(missing.code, 1);
    const events = await agent(["events", done.id, ...auth]);
    assert.match(events.stdout, /fs\.writeText .* → ok \d+µs/);
    assert.match(events.stdout, /exit reason=exit code=0/);
  });
});
