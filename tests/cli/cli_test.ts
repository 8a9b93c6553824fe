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
    // Remote run streams the agent's output (not the JSON record) and exits with its code.
    const run = await agent(["run", `${examples}hello.js`, "--allow", "fs.read,fs.write", ...auth]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "hello from inside the sandbox\n");
    const json = await agent(["run", `${examples}hello.js`, "--allow", "fs.read,fs.write", "--json", ...auth]);
    assert.equal(json.code, 0, json.stderr);
    const lines = json.stdout.trim().split("\n");
    assert.equal(lines[0], "hello from inside the sandbox");
    const done = JSON.parse(lines.at(-1)!);
    assert.equal(done.reason, "exit");
    assert.equal(done.exitCode, 0);
    assert.equal(done.result.text, "the sandbox works\n");
    assert.match(done.id, /^ag_/);
    const spawned = await agent(["spawn", `${guests}sleeper.js`, ...auth]);
    assert.equal(spawned.code, 0, spawned.stderr);
    const { id, state } = JSON.parse(spawned.stdout);
    assert.equal(state, "Running");
    const ps = await agent(["ps", ...auth]);
    const table = ps.stdout.trimEnd().split("\n");
    assert.match(table[0], /^ID +STATE +REASON +CPU MS +AGE$/);
    assert.match(ps.stdout, new RegExp(`^${id} +Running +- +(\\d+|-) +\\d+[smhd]$`, "m"));
    assert.match(ps.stdout, new RegExp(`^${done.id} +Zombie +exit +\\d+ +\\d+[smhd]$`, "m"));
    // Aligned: every row's STATE starts in the header's STATE column.
    const column = table[0].indexOf("STATE");
    for (const row of table.slice(1)) assert.match(row.slice(column), /^(Running|Zombie) /, row);
    assert.deepEqual(
      JSON.parse((await agent(["ps", "--json", "--state", "Running", ...auth])).stdout).agents
        .map((a: { id: string }) => a.id),
      [id],
    );
    const status = await agent(["status", id, ...auth]);
    assert.equal(JSON.parse(status.stdout).state, "Running");
    assert.equal((await agent(["kill", id, ...auth])).code, 0);
    const logs = await agent(["logs", done.id, ...auth]);
    assert.equal(logs.stdout, "hello from inside the sandbox\n");
    const missing = await agent(["status", "ag_nope", "--server", s.url, "--key", adminKey]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404 not_found/);
    const events = await agent(["events", done.id, ...auth]);
    assert.match(events.stdout, /fs\.writeText .* → ok \d+µs/);
    assert.match(events.stdout, /exit reason=exit code=0/);
  });
});

Deno.test("cli: remote run --trace prints syscall lines on stderr; the exit code is the agent's", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "cli-trace");
    const auth = ["--server", s.url, "--key", t.apiKey];
    const r = await agent(["run", `${examples}hello.js`, "--allow", "fs.read,fs.write", "--trace", ...auth]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from inside the sandbox\n");
    assert.match(r.stderr, /^\[\d+\] fs\.writeText \{"path":"notes\/today\.txt".*→ ok \d+µs$/m);
    assert.match(r.stderr, /^\[\d+\] exit reason=exit code=0$/m);
    assert.equal((await agent(["run", `${guests}exit_code.js`, ...auth])).code, 7);
    const cpu = await agent(["run", `${guests}busy_loop.js`, "--cpu-ms", "200", "--json", ...auth]);
    assert.notEqual(cpu.code, 0);
    assert.equal(JSON.parse(cpu.stdout.trim().split("\n").at(-1)!).reason, "cpu");
    const denied = await agent(["run", `${examples}hello.js`, "--allow", "root", ...auth]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /400 validation_failed: .*capabilities/);
  });
});

Deno.test("cli: logs --follow streams a running agent's output until it exits", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "cli-follow");
    const auth = ["--server", s.url, "--key", t.apiKey];
    const dir = await Deno.makeTempDir({ prefix: "agentos-cli-follow-" });
    try {
      // Prints, waits until the test uploads go.txt, prints again, exits.
      await Deno.writeTextFile(
        `${dir}/gated.js`,
        `export default async () => {
          console.log("first");
          console.error("to stderr");
          while (true) {
            try { await sys.fs.readText("go.txt"); break; } catch { await new Promise((r) => setTimeout(r, 20)); }
          }
          console.log("second");
        }`,
      );
      const spawned = await agent(["spawn", `${dir}/gated.js`, "--allow", "fs.read", "--wall-ms", "60000", ...auth]);
      const { id } = JSON.parse(spawned.stdout);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, "logs", id, "--follow", ...auth],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderrText = new Response(child.stderr).text();
      // The first line arrives while the agent still runs (it waits for go.txt): streamed, not dumped at the end.
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let stdout = "";
      const deadline = setTimeout(() => child.kill(), 60_000);
      while (!stdout.includes("first\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        stdout += value;
      }
      assert.equal(stdout, "first\n");
      assert.equal((await s.req(`/v1/agents/${id}`, { key: t.apiKey }).then((res) => res.json())).state, "Running");
      const upload = await s.req(`/v1/agents/${id}/files/go.txt`, { method: "PUT", key: t.apiKey, body: "go" });
      assert.equal(upload.status, 201);
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        stdout += value;
      }
      const status = await child.status;
      clearTimeout(deadline);
      const r = { code: status.code, stdout, stderr: await stderrText };
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "first\nsecond\n");
      assert.equal(r.stderr, "to stderr\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("cli: --help on the CLI and every verb exits 0 with examples; an unknown flag exits 2 with the usage", async () => {
  const top = await agent(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^usage: deno task agent <verb>/);
  const verbs = ["run", "spawn", "ps", "status", "logs", "kill", "events", "sched", "repl", "session"];
  for (const verb of verbs) assert.match(top.stdout, new RegExp(`^  ${verb} `, "m"));
  for (const verb of verbs) {
    const r = await agent([verb, "--help"]);
    assert.equal(r.code, 0, `${verb}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: deno task agent ${verb}`), verb);
    assert.match(r.stdout, /^examples?:$/m, verb);
  }
  assert.equal((await agent(["logs", "-h"])).code, 0);
  assert.match((await agent(["help", "ps"])).stdout, /^usage: deno task agent ps/);
  const unknown = await agent(["ps", "--frobnicate", "--server", "http://127.0.0.1:9", "--key", "k"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--frobnicate/);
  assert.match(unknown.stderr, /usage: deno task agent ps/);
  const noVerb = await agent([]);
  assert.equal(noVerb.code, 2);
  assert.match(noVerb.stderr, /usage: deno task agent <verb>/);
  const badVerb = await agent(["frob"]);
  assert.equal(badVerb.code, 2);
  assert.match(badVerb.stderr, /unknown verb frob/);
  const noFile = await agent(["spawn", "--server", "http://127.0.0.1:9", "--key", "k"]);
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /usage: deno task agent spawn/);
});
