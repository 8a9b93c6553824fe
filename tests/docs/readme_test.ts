/**
 * Every code block of the README that is a command or a request is run as
 * it is written, against a real server on 127.0.0.1 (or the real CLI), so
 * the docs cannot drift from the code. The first test fails on a block no
 * test claims; each other test runs one block: shell blocks in one `bash`
 * (variables carry over, every `curl` must get a 2xx unless its comment
 * names the status, a `# → …` comment is the output it must print), agent
 * code over `POST /v1/agents`, the CLI's synopsis against each verb's
 * `--help`. The only edits are the ones a reader makes: the server's URL
 * for `http://127.0.0.1:8787`, and a local server for `api.example.com`.
 *
 * Blocks run elsewhere say where (`coveredBy`), and that file must read the
 * block with `readmeBlock(...)`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, type TestServer, withServer } from "../api/helpers.ts";
import { copyStore } from "../packages_fixture.ts";
import { commands, readme, type ReadmeBlock, readmeBlock, readmeBlocks, repoRoot, runBlock, withShell } from "./mod.ts";

const documented = "http://127.0.0.1:8787";

/** How each block is exercised, by `<heading> · <lang> <n>` (the n-th block of that language there). */
const claims: Record<string, { test: string } | { coveredBy: string } | { notACommand: string }> = {
  "(top) · sh 1": { test: "the two set-up commands" },
  "(top) · sh 2": { test: "the first local run" },
  "## How it works ·  1": { notACommand: "the architecture diagram" },
  "## A code interpreter in 10 lines · sh 1": { test: "the code interpreter" },
  "## A code interpreter in 10 lines · sh 2": { test: "the REPL transcript" },
  "## Agent SDK · js 1": { test: "the Agent SDK example" },
  "### Packages · js 1": { test: "the packages example" },
  "### Standard APIs over syscalls · js 1": { test: "the standard APIs example" },
  "### A typed client from `/openapi.json` · sh 1": { coveredBy: "tests/api/openapi_test.ts" },
  "### A typed client from `/openapi.json` · ts 1": { coveredBy: "tests/api/openapi_test.ts" },
  "### Volumes and files · sh 1": { test: "the volume commands" },
  "### Webhooks · sh 1": { test: "the webhook commands" },
  "### Webhooks · ts 1": { coveredBy: "tests/api/webhooks_test.ts" },
  "## Client SDK · ts 1": { coveredBy: "tests/client/readme_test.ts" },
  "## CLI · sh 1": { test: "the CLI synopsis" },
  "## MCP · sh 1": { test: "the MCP config" },
  "## MCP · json 1": { test: "the MCP config" },
  "## MCP · sh 2": { test: "the MCP curl" },
  "## Curating packages (operators) · sh 1": { test: "the package commands" },
  "## Policies · json 1": { test: "the policy example" },
  "## Policies · sh 1": { test: "the policy example" },
  "### Approvals · sh 1": { test: "the approval commands" },
};

function keyOf(blocks: ReadmeBlock[], b: ReadmeBlock): string {
  const nth = blocks.filter((o) => o.heading === b.heading && o.lang === b.lang && o.line <= b.line).length;
  return `${b.heading || "(top)"} · ${b.lang} ${nth}`;
}

Deno.test("readme: every code block is claimed by a test, and every claim has its block", async () => {
  const blocks = readmeBlocks(await readme());
  const keys = blocks.map((b) => keyOf(blocks, b));
  const unclaimed = keys.filter((k) => !(k in claims));
  assert.deepEqual(unclaimed, [], "README blocks no test runs: add each to `claims` in tests/docs/readme_test.ts");
  assert.deepEqual(Object.keys(claims).filter((k) => !keys.includes(k)), [], "claims of blocks the README lost");
  for (const [key, claim] of Object.entries(claims)) {
    if (!("coveredBy" in claim)) continue;
    const source = await Deno.readTextFile(`${repoRoot}${claim.coveredBy}`);
    const heading = key.slice(0, key.lastIndexOf(" · "));
    assert.ok(source.includes(`readmeBlock(${JSON.stringify(heading)}`), `${claim.coveredBy} does not read "${key}"`);
  }
});

/** The block claimed as `key`. */
function block(key: string): Promise<ReadmeBlock> {
  const at = key.lastIndexOf(" · ");
  const [lang, nth] = key.slice(at + 3).split(" ");
  const heading = key.slice(0, at);
  return readmeBlock(heading === "(top)" ? "" : heading, lang, Number(nth) - 1);
}

const toServer = (s: TestServer) => (command: string) => command.replaceAll(documented, s.url);

Deno.test("readme: the two set-up commands: `task start` serves and stops on SIGTERM, `.ci/run` runs `task test`", async () => {
  const [start, test] = commands(await block("(top) · sh 1")).map((c) => c.replace(/\s+#.*$/, ""));
  assert.equal(start, "npx --yes deno@2.9.6 task start");
  assert.equal(test, "npx --yes deno@2.9.6 task test");
  const ci = await Deno.readTextFile(`${repoRoot}.ci/run`);
  assert.ok(ci.split("\n").includes(test), ".ci/run must run the README's test command");
  const data = await Deno.makeTempDir({ prefix: "agentos-readme-start-" });
  try {
    const server = new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", `${repoRoot}deno.json`, "start"],
      env: { PORT: "0", AGENTOS_DATA_DIR: data, AGENTOS_ADMIN_KEY: adminKey },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    while (!/listening on (\S+)/.test(log)) {
      const { value, done } = await reader.read();
      assert.ok(!done, `task start ended before listening:\n${log}`);
      log += value;
    }
    const url = log.match(/listening on (\S+)/)![1];
    assert.equal((await fetch(`${url}/healthz`).then((r) => r.text())).length > 0, true);
    const tenants = await fetch(`${url}/v1/tenants`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(tenants.status, 200);
    await tenants.body?.cancel();
    server.kill("SIGTERM");
    await reader.cancel();
    assert.equal((await server.status).code, 0);
    await Deno.stat(`${data}/agentos.db`);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("readme: the first local run prints the agent's output and its record", async () => {
  await withShell({}, async (shell) => {
    const [ran] = await runBlock(await block("(top) · sh 2"), shell);
    const last = JSON.parse(ran.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual([last.state, last.reason, last.exitCode], ["Zombie", "exit", 0]);
    assert.match(ran.stderr, /fs\.write/, "--trace prints the syscalls on stderr");
  });
});

Deno.test("readme: the code interpreter, line by line", async () => {
  await withServer(async (s) => {
    await withShell({ AGENTOS_ADMIN_KEY: adminKey }, async (shell) => {
      const ran = await runBlock(await block("## A code interpreter in 10 lines · sh 1"), shell, { edit: toServer(s) });
      assert.equal(ran.at(-2)!.stdout, "7");
      assert.equal(JSON.parse(ran.at(-1)!.stdout).reason, "closed");
    });
  });
});

Deno.test("readme: the REPL transcript, fed to the local REPL", async () => {
  const lines = (await block("## A code interpreter in 10 lines · sh 2")).text.trimEnd().split("\n");
  assert.ok(lines[0].startsWith("$ "));
  const input = lines.filter((l) => /^(> |\.\.\. )/.test(l)).map((l) => l.replace(/^(> |\.\.\. )/, ""));
  const output = lines.slice(1).filter((l) => !/^(> |\.\.\. )/.test(l));
  await withShell({}, async (shell) => {
    const ran = await shell.run(`${lines[0].slice(2)} <<'EOF'\n${input.join("\n")}\nEOF`);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(ran.stdout.trim().split("\n"), output);
  });
});

/** Run `code` as an agent of a fresh tenant over HTTP, to its end. */
async function runAgent(s: TestServer, code: string, capabilities: string[], tenant?: { apiKey: string }) {
  const t = tenant ?? await createTenant(s, `readme-${crypto.randomUUID().slice(0, 8)}`);
  const res = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code, capabilities, wait: true } });
  assert.equal(res.status, 200);
  const done = await res.json();
  assert.equal(done.reason, "exit", JSON.stringify(done));
  return done;
}

Deno.test("readme: the Agent SDK example runs as an agent", async () => {
  await withServer(async (s) => {
    const b = await block("## Agent SDK · js 1");
    const done = await runAgent(s, b.text, ["fs.read", "fs.write", "proc.spawn"]);
    assert.equal(done.result.text, "hi");
    assert.deepEqual([done.result.child.reason, done.result.child.result], ["exit", 42]);
  });
});

Deno.test("readme: the packages example imports from the store", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-readme-pkgs-" });
  const store = await copyStore();
  await Deno.rename(store, `${dataDir}/packages`);
  await withServer(async (s) => {
    const done = await runAgent(s, (await block("### Packages · js 1")).text, []);
    assert.equal(done.result, "19703");
  }, { dataDir });
});

Deno.test("readme: the standard APIs example, against a local server for api.example.com", async () => {
  const items = [{ id: 1, name: "a" }, { id: 2, name: "b" }, { id: 3, name: "c" }, { id: 4, name: "d" }];
  await using api = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => Response.json(items));
  const local = `http://127.0.0.1:${api.addr.port}/items`;
  await withServer(async (s) => {
    const t = await createTenant(s, "web");
    const rules = [
      { effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.1/32"], ports: [api.addr.port] },
      { effect: "allow", calls: ["fs.*", "io.*", "time.*"] },
    ];
    const put = await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: { rules } });
    assert.equal(put.status, 200, await put.text());
    const code = (await block("### Standard APIs over syscalls · js 1")).text;
    assert.ok(code.includes("https://api.example.com/items"));
    const done = await runAgent(s, code.replace("https://api.example.com/items", local), [
      "net.fetch",
      "fs.read",
      "fs.write",
    ], t);
    assert.equal(done.result, JSON.stringify(items).length);
    assert.match(done.stdout, /┌[^]*│ id │ name │[^]*"c"/);
  });
});

Deno.test("readme: the volume commands", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "vols");
    await withShell({ URL: s.url, AUTH: `Authorization: Bearer ${t.apiKey}` }, async (shell, dir) => {
      const csv = "region,amount\n" + Array.from({ length: 20 }, (_, i) => `r${i},${i * 10}`).join("\n") + "\n";
      await Deno.writeTextFile(`${dir}/sales.csv`, csv);
      const [created, put, range, list] = await runBlock(await block("### Volumes and files · sh 1"), shell);
      assert.equal(JSON.parse(created.stdout).name, "data");
      assert.equal(JSON.parse(put.stdout).size, csv.length);
      assert.deepEqual([range.statuses, range.stdout], [[206], csv.slice(0, 100)]);
      assert.deepEqual(JSON.parse(list.stdout).entries.map((e: { name: string }) => e.name), ["sales.csv"]);
    });
  });
});

Deno.test("readme: the webhook commands", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "hooks");
    await withShell({ URL: s.url, AUTH: `Authorization: Bearer ${t.apiKey}` }, async (shell) => {
      const [created, log, rotated, deleted] = await runBlock(await block("### Webhooks · sh 1"), shell, {
        // The reader sets HOOK to the id the registration answered.
        after: (i, ran) => i === 0 ? `HOOK=${JSON.parse(ran.stdout).id}` : undefined,
      });
      const hook = JSON.parse(created.stdout);
      assert.match(hook.secret, /^whsec_/);
      assert.ok(Array.isArray(JSON.parse(log.stdout).deliveries));
      assert.notEqual(JSON.parse(rotated.stdout).secret, hook.secret);
      assert.deepEqual(JSON.parse(deleted.stdout), { id: hook.id, deleted: true });
    });
  });
});

/** Each line of the CLI synopsis: its verbs and the flags it shows. */
function synopsis(b: ReadmeBlock): { verbs: string[]; flags: string[]; line: string }[] {
  const joined = b.text.trimEnd().split("\n").reduce<string[]>((out, l) => {
    const command = l.replace(/\s+#.*$/, "");
    if (command.startsWith("deno task agent ")) out.push(...command.split(/;\s*/));
    else out[out.length - 1] += " " + command.trim();
    return out;
  }, []);
  return joined.map((line) => {
    const words = line.slice("deno task agent ".length).split(/\s+/);
    const verbs = words[0].startsWith("<") || words[0] === "--help" ? [] : words[0].split("|");
    const flags = [...line.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
    return { verbs, flags, line };
  });
}

async function agentHelp(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--config", `${repoRoot}deno.json`, "agent", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, `agent ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("readme: the CLI synopsis: every verb and flag it shows is in that verb's --help, and every verb is shown", async () => {
  const lines = synopsis(await block("## CLI · sh 1"));
  const shown = new Set(lines.flatMap((l) => l.verbs));
  const top = await agentHelp("--help");
  const verbs = [...top.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
  assert.deepEqual(verbs.filter((v) => !shown.has(v)), [], "verbs of `agent --help` the README's synopsis leaves out");
  const helps = new Map(await Promise.all([...shown].map(async (v) => [v, await agentHelp(v, "--help")] as const)));
  for (const { verbs, flags, line } of lines) {
    for (const verb of verbs) {
      assert.ok(helps.has(verb), `"${verb}" is not a verb of agent --help (${line})`);
      const missing = flags.filter((f) => f !== "--help" && !helps.get(verb)!.includes(f));
      assert.deepEqual(missing, [], `agent ${verb} --help lacks flags the README shows: ${line}`);
    }
  }
  const session = helps.get("session")!;
  for (const sub of ["create", "exec", "close", "ls"]) assert.ok(session.includes(`session ${sub}`), sub);
});

Deno.test("readme: the MCP config printed by `agent mcp` is the README's JSON", async () => {
  const json = JSON.parse((await block("## MCP · json 1")).text);
  await withShell({}, async (shell) => {
    const [ran] = await runBlock(await block("## MCP · sh 1"), shell);
    assert.deepEqual(JSON.parse(ran.stdout), json);
  });
});

Deno.test("readme: the MCP curl answers what its comment shows", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "mcp");
    await withShell({ URL: s.url, AUTH: `Authorization: Bearer ${t.apiKey}` }, async (shell) => {
      const [ran] = await runBlock(await block("## MCP · sh 2"), shell);
      assert.equal(JSON.parse(ran.stdout).result.structuredContent.result, 42);
    });
  });
});

Deno.test("readme: the package commands, on the server's data dir", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-readme-ops-" });
  await withServer(async (s) => {
    const env = { URL: s.url, ADMIN: `Authorization: Bearer ${adminKey}`, AGENTOS_DATA_DIR: dataDir };
    await withShell(env, async (shell) => {
      const [added, listed, removed, help, posted, got, deleted] = await runBlock(
        await block("## Curating packages (operators) · sh 1"),
        shell,
      );
      assert.deepEqual(added.stdout.trim().split("\n").map((l) => l.split("@")[0]), [
        "added lodash",
        "added zod",
        "added date-fns",
      ]);
      assert.match(listed.stdout, /^lodash\s+4\.17\.21/m);
      assert.equal(removed.stdout.trim(), "removed lodash");
      assert.match(help.stdout, /^usage: deno task packages/);
      assert.equal(JSON.parse(posted.stdout).version, "4.17.21");
      assert.deepEqual(JSON.parse(got.stdout).packages.map((p: { name: string }) => p.name).sort(), [
        "date-fns",
        "lodash",
        "zod",
      ]);
      assert.deepEqual(deleted.statuses, [404]);
    });
  }, { dataDir });
});

Deno.test("readme: the policy example is valid, set on a tenant, and explained as its comment says", async () => {
  const policy = await block("## Policies · json 1");
  await withServer(async (s) => {
    const t = await createTenant(s, "policy");
    const env = { URL: s.url, ADMIN: `Authorization: Bearer ${adminKey}`, AUTH: `Authorization: Bearer ${t.apiKey}` };
    await withShell({ ...env, TENANT: t.id }, async (shell, dir) => {
      await Deno.writeTextFile(`${dir}/policy.json`, policy.text);
      const [put, explained] = await runBlock(await block("## Policies · sh 1"), shell);
      assert.equal(JSON.parse(put.stdout).tenantId, t.id);
      assert.equal(JSON.parse(explained.stdout).ruleId, "no-secrets");
    });
    // The document does what its rule ids say, for a real agent.
    const code = `export default async () => {
      await sys.fs.mkdir("out");
      const tried = async (f) => { try { await f(); return "ok"; } catch (e) { return e.code; } };
      return [await tried(() => sys.fs.writeText("out/a.txt", "x")), await tried(() => sys.fs.readText("out/a.txt")),
        await tried(() => sys.fs.writeText("secrets/k", "x")), await tried(() => sys.fs.writeText("src/x", "x"))];
    }`;
    const done = await runAgent(s, code, ["fs.read", "fs.write"], t);
    assert.deepEqual(done.result, ["ok", "ok", "EPERM", "EPERM"]);
  });
});

Deno.test("readme: the approval commands: an ask rule holds an agent's write until the curl allows it", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "approvals");
    const env = { URL: s.url, ADMIN: `Authorization: Bearer ${adminKey}`, AUTH: `Authorization: Bearer ${t.apiKey}` };
    let agentId = "";
    await withShell({ ...env, TENANT: t.id }, async (shell) => {
      const [, listed, decided] = await runBlock(await block("### Approvals · sh 1"), shell, {
        after: async (i, ran) => {
          if (i === 0) {
            // An agent that writes under out/: its write waits for a person.
            const code =
              `export default async () => { await sys.fs.mkdir("out"); await sys.fs.writeText("out/r", "ok"); return 1; }`;
            const res = await s.req("/v1/agents", {
              method: "POST",
              key: t.apiKey,
              json: { code, capabilities: ["fs.write"] },
            });
            agentId = (await res.json()).id;
            for (let n = 0; n < 500; n++) {
              const open = await (await s.req("/v1/approvals", { key: t.apiKey })).json();
              if (open.approvals.length > 0) return undefined;
              await new Promise((r) => setTimeout(r, 20));
            }
            assert.fail("the agent's write never waited for an approval");
          }
          // The reader sets AP to the id the list answered.
          return i === 1 ? `AP=${JSON.parse(ran.stdout).approvals[0].id}` : undefined;
        },
      });
      assert.equal(JSON.parse(listed.stdout).approvals[0].ruleId, "review-out");
      assert.equal(JSON.parse(decided.stdout).state, "allowed");
    });
    const done = await (await s.req(`/v1/agents/${agentId}/wait`, { key: t.apiKey })).json();
    assert.deepEqual([done.reason, done.result], ["exit", 1]);
  });
});

/** Inline code spans of the README's prose (fenced blocks left out), a span's line breaks read as spaces. */
function inlineSpans(markdown: string): string[] {
  const prose = markdown.replace(/^```[^]*?^```/gm, "");
  return [...prose.matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\s*\n\s*/g, " "));
}

/** `text` as a JSON object, if it is one. */
function object(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

Deno.test("readme: the requests, policy rules and body fields written inline are accepted by the server", async () => {
  const seen = { request: 0, rule: 0, explain: 0, field: 0 };
  await withServer(async (s) => {
    const t = await createTenant(s, "inline");
    const call = async (method: string, path: string, json: unknown, key = t.apiKey) => {
      const res = await s.req(path, { method, key, json });
      const text = await res.text();
      assert.ok(res.ok, `README \`${method} ${path} ${JSON.stringify(json)}\`: ${res.status} ${text}`);
      return JSON.parse(text);
    };
    for (const span of inlineSpans(await readme())) {
      const request = span.match(/^(GET|POST|PUT|PATCH|DELETE) (\/\S+) (\{.*\})$/);
      const body = request ? object(request[3]) : undefined;
      if (request && body !== undefined) {
        await call(request[1], request[2], body);
        seen.request++;
        continue;
      }
      const json = object(span);
      if (json && "effect" in json) {
        await call("PUT", `/v1/tenants/${t.id}/policy`, { rules: [json] }, adminKey);
        await call("PUT", `/v1/tenants/${t.id}/policy`, { rules: [{ effect: "allow", calls: ["*"] }] }, adminKey);
        seen.rule++;
      } else if (json && "request" in json) {
        await call("POST", "/v1/policy/explain", json);
        seen.explain++;
      } else if (json) {
        assert.fail(`README inline JSON no test sends: \`${span}\` (add its kind to this test)`);
      }
      const field = object(`{${span}}`);
      if (!json && field && ("volumes" in field || "files" in field)) {
        const volumes = (field.volumes ?? []) as { name: string }[];
        for (const v of volumes) {
          const res = await s.req(`/v1/volumes/${v.name}`, { key: t.apiKey });
          await res.body?.cancel();
          if (res.status === 404) await call("POST", "/v1/volumes", { name: v.name });
        }
        const done = await call("POST", "/v1/agents", { code: "export default () => 1", ...field, wait: true });
        assert.equal(done.reason, "exit", span);
        seen.field++;
      }
    }
  });
  assert.deepEqual(seen, { request: 2, rule: 1, explain: 2, field: 2 });
});

Deno.test("readme: every AGENTOS_* variable the code reads is documented", async () => {
  const text = await readme();
  const names = new Set<string>();
  for (const dir of ["api", "cli", "sandbox", "kernel", "observability", "client"]) {
    for await (const path of walkTs(`${repoRoot}${dir}`)) {
      for (const m of (await Deno.readTextFile(path)).matchAll(/\bAGENTOS_[A-Z_]+\b/g)) names.add(m[0]);
    }
  }
  assert.ok(names.has("AGENTOS_DATA_DIR") && names.size > 10, [...names].join(" "));
  assert.deepEqual(
    [...names].filter((n) => !text.includes("`" + n + "`")).sort(),
    [],
    "variables the README never names",
  );
});

async function* walkTs(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walkTs(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}
