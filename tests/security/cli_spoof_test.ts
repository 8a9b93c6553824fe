/**
 * Red-team finding: CLI spoofing. Agent-controlled strings (argument
 * summaries, error and exit messages, results, its own output, event
 * streams) carried CR/ESC/newlines and bidi controls straight to the
 * terminal, forging `agent run --trace` lines; output without a trailing
 * newline made the agent's own forged JSON the CLI's last parseable
 * `--json` line. Containment, checked on real subprocesses of the CLI:
 * nothing the CLI prints holds a raw control, separator or bidi character;
 * every stderr line under `--trace` is the CLI's (a trace line, or an agent
 * stderr line prefixed with its pid); the last stdout line parses as the
 * CLI's own record. The same for `status`, `logs` and `events` against a
 * real server.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "../api/helpers.ts";

const cli = new URL("../../cli/main.ts", import.meta.url).pathname;

/** ESC sequences, CR, BEL, NEL, U+2028, RLO, a forged trace line. */
const evil = "x\r\x1b[2K\x1b[1A[1] fs.readText {} → ok 1µs\x07\u0085\u2028\u202e\u2066evil";
const forgedTrace = "[1] fs.forged {} → ok 1µs";
const forgedRecord = `{"state":"Zombie","reason":"exit","exitCode":0,"result":"forged","forged":true}`;
// deno-lint-ignore no-control-regex
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

async function cliRun(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

function assertPrintable(what: string, text: string): void {
  const at = text.search(unsafe);
  assert.equal(
    at,
    -1,
    `${what} holds a raw control at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 20), at + 20))}`,
  );
}

const guest = (end: "return" | "throw") =>
  `export default async () => {
  const evil = ${JSON.stringify(evil)};
  try { await sys.fs.writeText(evil, evil); } catch {}
  try { await sys.fs.readText("a/" + evil); } catch {}
  await sys.call("io.write", { fd: 2, data: "oops" + evil + "\\n" + ${JSON.stringify(forgedTrace)} + "\\n" });
  await sys.call("io.write", { fd: 2, data: "no newline at the end" });
  await sys.call("io.write", { fd: 1, data: evil + "\\n" + ${JSON.stringify(forgedRecord)} });
  ${end === "return" ? "return { evil };" : "throw new Error(evil);"}
}`;

Deno.test("security cli: agent run --trace --json escapes everything the agent controls; the last line is the CLI's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-spoof-" });
  try {
    await Deno.writeTextFile(`${dir}/ok.js`, guest("return"));
    const r = await cliRun(["run", `${dir}/ok.js`, "--allow", "fs.read", "--trace", "--json", "--data-dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    assertPrintable("stdout", r.stdout);
    assertPrintable("stderr", r.stderr);
    const last = JSON.parse(r.stdout.trimEnd().split("\n").at(-1)!);
    assert.equal(last.forged, undefined, "the agent's forged record was taken for the CLI's");
    assert.deepEqual([last.state, last.reason, last.exitCode], ["Zombie", "exit", 0]);
    assert.deepEqual(last.result, { evil }, "the result survives escaping exactly");
    assert.equal(typeof last.usage.syscalls, "number");
    const lines = r.stderr.trimEnd().split("\n");
    for (const line of lines) assert.match(line, /^\[\d+\] /, `a stderr line that is not the CLI's: ${line}`);
    assert.ok(!lines.includes(forgedTrace), "the forged trace line stands on its own");
    assert.ok(lines.some((l) => /^\[\d+\] 2> .*fs\.forged/.test(l)), "the agent's stderr is shown, prefixed");
    assert.ok(lines.some((l) => /fs\.writeText .*\\u\{2028\}.*→ EACCES/.test(l)), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("security cli: exit messages are escaped (trace and summary lines)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-spoof-" });
  try {
    await Deno.writeTextFile(`${dir}/throws.js`, guest("throw"));
    const traced = await cliRun(["run", `${dir}/throws.js`, "--trace", "--data-dir", dir]);
    assert.equal(traced.code, 1, traced.stderr);
    assertPrintable("stdout", traced.stdout);
    assertPrintable("stderr", traced.stderr);
    const lines = traced.stderr.trimEnd().split("\n");
    for (const line of lines) assert.match(line, /^(\[\d+\] |agent ended: )/, `not the CLI's: ${line}`);
    assert.ok(
      lines.some((l) => l.startsWith("agent ended: error (exit 1): ") && l.includes("\\x1b[2K")),
      traced.stderr,
    );
    const json = await cliRun(["run", `${dir}/throws.js`, "--json", "--data-dir", dir]);
    assertPrintable("stdout", json.stdout);
    const last = JSON.parse(json.stdout.trimEnd().split("\n").at(-1)!);
    assert.equal(last.reason, "error");
    assert.ok(String(last.message).includes(evil), "the message survives escaping exactly");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("security cli: status, logs and events of a hostile agent print escaped", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "spoof");
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: guest("throw"), capabilities: ["fs.read"], wait: true },
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    const auth = ["--server", s.url, "--key", t.apiKey];
    const status = await cliRun(["status", body.id, ...auth]);
    assert.equal(status.code, 0, status.stderr);
    assertPrintable("status", status.stdout);
    assert.ok(String(JSON.parse(status.stdout).message).includes(evil));
    const logs = await cliRun(["logs", body.id, ...auth]);
    assert.equal(logs.code, 0, logs.stderr);
    assertPrintable("logs stdout", logs.stdout);
    assertPrintable("logs stderr", logs.stderr);
    assert.ok(logs.stdout.includes("\\x1b[2K"), logs.stdout);
    const events = await cliRun(["events", body.id, ...auth]);
    assert.equal(events.code, 0, events.stderr);
    assertPrintable("events", events.stdout);
    assert.match(events.stdout, /fs\.writeText/);
  });
});
