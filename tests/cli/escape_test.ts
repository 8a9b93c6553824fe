import assert from "node:assert/strict";
import { escapeLine, escapeStream, LineTracker, safeJson } from "../../cli/escape.ts";
import { agentCommand, serverHostPort } from "../../cli/agent_launch.ts";

Deno.test("escape: lines show every control, separator, bidi and lone surrogate as an escape", () => {
  assert.equal(escapeLine("a\nb\rc\td\x1b[2Ke\x07\x7f\x85"), "a\\nb\\rc\\td\\x1b[2Ke\\x07\\x7f\\x85");
  assert.equal(
    escapeLine("\u2028\u2029\u202e\u2066\u200f\u061c"),
    "\\u{2028}\\u{2029}\\u{202e}\\u{2066}\\u{200f}\\u{61c}",
  );
  assert.equal(escapeLine("\ud800x😀"), "\\u{d800}x😀");
  assert.equal(escapeLine(42), "42");
  assert.equal(escapeStream("l1\nl2\t\r\x1b\n"), "l1\nl2\t\\r\\x1b\n");
});

Deno.test("escape: safeJson parses back to the same value and prints no raw controls", () => {
  const value = { s: "a\u2028b\u202e\x7f\x85\n\x1b", n: [1, null] };
  const text = safeJson(value, 2);
  assert.deepEqual(JSON.parse(text), value);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /[\u007f-\u009f\u2028-\u202e\u001b]/);
});

Deno.test("escape: LineTracker keeps the CLI's lines on lines of their own and prefixes chunks", () => {
  let out = "";
  const t = new LineTracker((s) => out += s);
  t.chunk('{"forged":1}');
  t.line('{"real":1}');
  t.chunk("x\ny", "[1] 2> ");
  t.chunk("z\n", "[1] 2> ");
  t.chunk("w", "[2] 2> ");
  t.line("[1] trace");
  assert.equal(out, '{"forged":1}\n{"real":1}\n[1] 2> x\n[1] 2> yz\n[2] 2> w\n[1] trace\n');
});

Deno.test("agent launcher: local run gets read/write on its data dir only and no net by default", () => {
  const launch = {
    codeDir: "/app",
    execPath: "/bin/deno",
    cwd: "/work",
    egressHosts: [],
    resolvePath: (p: string) => p.startsWith("/") ? p : `/work/${p}`,
  };
  const local = agentCommand({ ...launch, argv: ["run", "a.js", "--trace", "--data-dir", "d"] });
  assert.deepEqual(local.flags, [
    "run",
    "--no-prompt",
    "--allow-read=/app,/work/d,/bin/deno,/work/a.js",
    "--allow-write=/work/d",
    "--allow-run=/bin/deno",
    "--allow-env=AGENTOS_URL,AGENTOS_KEY",
    "--allow-sys=setPriority",
  ]);
  assert.deepEqual(local.argv.at(-1), "--data-dir=/work/d");
  const egress = agentCommand({ ...launch, egressHosts: ["1.2.3.4:443"], argv: ["run", "a.js"] });
  assert.ok(egress.flags.includes("--allow-net=1.2.3.4:443"));
  const client = agentCommand({
    ...launch,
    argv: ["spawn", "a.js", "--server", "https://api.example:8443", "--key", "k"],
  });
  assert.deepEqual(client.flags, [
    "run",
    "--no-prompt",
    "--allow-read=/app,/work/a.js",
    "--allow-net=api.example:8443",
    "--allow-env=AGENTOS_URL,AGENTOS_KEY",
  ]);
  const ps = agentCommand({ ...launch, serverUrl: "http://10.0.0.1", argv: ["ps"] });
  assert.ok(ps.flags.includes("--allow-net=10.0.0.1:80"));
  for (const flags of [local.flags, client.flags, ps.flags]) {
    assert.ok(!flags.some((f) => f === "-A" || f === "--allow-net" || f === "--allow-read" || f === "--allow-all"));
  }
  assert.throws(() => serverHostPort("ftp://x"), TypeError);
});
