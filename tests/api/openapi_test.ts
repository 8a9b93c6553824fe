/**
 * `/openapi.json` against the app and against third-party tools: every
 * route the app registers is described (and nothing else); `@redocly/cli`
 * lints it with zero errors; `openapi-typescript` generates types that a
 * client (`openapi-fetch`) type-checks against and then uses to spawn an
 * agent, wait for it and read its output on a live server.
 *
 * The tools run as subprocesses (`npx --yes`, pinned in
 * `tests/api/openapi_tools.ts`): the first run fetches them from the npm
 * registry into npx's cache, later runs reuse it. The test itself talks to
 * 127.0.0.1 only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openApiPathOf } from "../../api/openapi.ts";
import { readmeBlock, runBlock, withShell } from "../docs/mod.ts";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";
import { openapiFetch, openapiTypescript, redoclyCli, toolRunMsMax } from "./openapi_tools.ts";

type Doc = {
  servers: { url: string }[];
  paths: Record<string, Record<string, Record<string, unknown>>>;
};

const methods = ["get", "post", "put", "patch", "delete"];

async function fetchDoc(s: TestServer): Promise<Doc> {
  const res = await s.req("/openapi.json");
  assert.equal(res.status, 200);
  return await res.json() as Doc;
}

/** `METHOD /path` of every operation of the document. */
function documented(doc: Doc): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).filter((m) => methods.includes(m)).map((m) => `${m.toUpperCase()} ${path}`)
  ).sort();
}

/** Run a tool with a deadline; its output, or a failure that says which tool and what it printed. */
async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(toolRunMsMax),
    env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_UPDATE_NOTIFIER: "1" },
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.signal !== null) assert.fail(`${cmd} ${args.join(" ")}: killed (${out.signal}) after ${toolRunMsMax} ms`);
  return { code: out.code, stdout, stderr };
}

Deno.test("openapi: every route the app registers is an operation, and every operation a route", async () => {
  await withServer(async (s) => {
    const doc = await fetchDoc(s);
    const registered = [...new Set(s.routes.map((r) => `${r.method} ${openApiPathOf(r.path)}`))].sort();
    const described = documented(doc);
    assert.deepEqual(registered.filter((r) => !described.includes(r)), [], "registered routes without an operation");
    assert.deepEqual(described.filter((d) => !registered.includes(d)), [], "operations without a route");
    assert.deepEqual(doc.servers.map((x) => x.url), [s.url], "servers is the URL the document was fetched from");
  });
});

Deno.test("openapi: operations have unique camelCase ids, their path parameters, tags and error answers", async () => {
  await withServer(async (s) => {
    const doc = await fetchDoc(s);
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        const where = `${method} ${path}`;
        const id = op.operationId as string;
        assert.match(id, /^[a-z][a-zA-Z]+$/, where);
        assert.ok(!ids.has(id), `${where}: operationId ${id} twice`);
        ids.add(id);
        assert.ok((op.tags as string[]).length === 1, where);
        const params = (op.parameters ?? []) as { name: string; in: string; schema: unknown }[];
        assert.deepEqual(params.filter((p) => p.in === "path").map((p) => p.name), templated, where);
        assert.ok(params.every((p) => p.schema !== undefined), `${where}: a parameter without a schema`);
        const responses = op.responses as Record<string, { content?: Record<string, { schema?: unknown }> }>;
        assert.ok(responses["4XX"] && responses["5XX"], `${where}: no error answers`);
        const ok = Object.keys(responses).filter((k) => /^2\d\d$/.test(k));
        assert.ok(ok.length > 0, `${where}: no success answer`);
        for (const k of ok) {
          for (const [type, media] of Object.entries(responses[k].content ?? {})) {
            assert.ok(media.schema, `${where} ${k} ${type}: no schema`);
          }
        }
      }
    }
    const query = (id: string) =>
      Object.values(doc.paths).flatMap((item) => Object.values(item)).find((op) => op.operationId === id)!;
    const names = (id: string) => ((query(id).parameters ?? []) as { name: string }[]).map((p) => p.name);
    assert.deepEqual(names("listAgents"), ["state", "label", "limit", "cursor"]);
    assert.ok(names("streamAgentEvents").includes("Last-Event-ID"));
    const download = query("downloadVolumeFile").responses as Record<string, { headers?: object; content?: object }>;
    assert.ok("application/octet-stream" in download[206].content! && "ETag" in download[200].headers!);
    assert.ok(
      "text/event-stream" in (query("streamEvents").responses as Record<string, { content: object }>)[200].content,
    );
  });
});

Deno.test("openapi: @redocly/cli lints the served document with zero errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-openapi-" });
  try {
    await withServer(async (s) => {
      await Deno.writeTextFile(join(dir, "openapi.json"), JSON.stringify(await fetchDoc(s), null, 2));
    });
    const { stdout, stderr } = await run("npx", ["--yes", redoclyCli, "lint", "--format=json", "openapi.json"], dir);
    assert.ok(stdout.includes("{"), `${redoclyCli} printed no report:\n${stderr}`);
    const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string }[];
    };
    const errors = report.problems.filter((p) => p.severity === "error").map((p) => `${p.ruleId}: ${p.message}`);
    assert.deepEqual(errors, []);
    assert.equal(report.totals.errors, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openapi: a client generated by openapi-typescript type-checks, spawns, waits, reads output, moves a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentos-openapi-client-" });
  try {
    await withServer(async (s) => {
      await Deno.writeTextFile(join(dir, "openapi.json"), JSON.stringify(await fetchDoc(s)));
      const generated = await run("npx", ["--yes", openapiTypescript, "openapi.json", "-o", "schema.d.ts"], dir);
      assert.equal(generated.code, 0, `${openapiTypescript}:\n${generated.stderr}`);
      await Deno.copyFile(new URL("../fixtures/openapi/client.ts", import.meta.url), join(dir, "client.ts"));
      await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ imports: { "openapi-fetch": openapiFetch } }));
      const deno = Deno.execPath();
      const checked = await run(deno, ["check", "--quiet", "client.ts"], dir);
      assert.equal(checked.code, 0, `deno check of the generated client:\n${checked.stderr}`);

      const t = await createTenant(s, "typed");
      const ran = await run(deno, [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        "client.ts",
        s.url,
        t.apiKey,
      ], dir);
      assert.equal(ran.code, 0, `the generated client:\n${ran.stdout}\n${ran.stderr}`);
      const got = JSON.parse(ran.stdout.trim().split("\n").at(-1)!);
      assert.equal(got.spawnStatus, 201);
      assert.match(got.id, /^ag_/);
      assert.deepEqual([got.state, got.reason, got.result], ["Zombie", "exit", { answer: 42 }]);
      assert.equal(got.stdout, "hello from a generated client\n");
      assert.deepEqual(got.missing, { status: 404, code: "not_found" });
      assert.deepEqual([got.file.size, got.file.text, got.file.etag], [11, "hello, file", true]);
      assert.deepEqual(got.file.entries.map((e: { name: string }) => e.name), ["notes.txt"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openapi: the README's commands lint and generate, and its typed client runs as written", async () => {
  const commands = await readmeBlock("### A typed client from `/openapi.json`", "sh");
  const client = await readmeBlock("### A typed client from `/openapi.json`", "ts");
  for (const tool of [redoclyCli, openapiTypescript]) assert.ok(commands.text.includes(`npx --yes ${tool} `), tool);
  assert.ok(client.text.includes(`from "${openapiFetch}"`), openapiFetch);
  await withServer(async (s) => {
    const t = await createTenant(s, "readme-typed");
    const env = { URL: s.url, KEY: t.apiKey, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" };
    await withShell(env, async (shell, dir) => {
      await runBlock(commands, shell);
      await Deno.writeTextFile(join(dir, "client.ts"), client.text);
      // The run line the block's comment gives, after the type check a reader's editor does.
      const run = client.text.match(/`(URL=\$URL KEY=\$KEY deno run [^`]+)`/)![1];
      const checked = await shell.run("deno check --quiet client.ts", toolRunMsMax);
      assert.equal(checked.code, 0, checked.stderr);
      const ran = await shell.run(run, toolRunMsMax);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout, "42 \n");
    });
  });
});

Deno.test("openapi: real answers carry what their schemas require, and nothing they do not describe", async () => {
  await withServer(async (s) => {
    const doc = await fetchDoc(s) as Doc & { components: { schemas: Record<string, Schema> } };
    const schemas = doc.components.schemas;
    const t = await createTenant(s, "shapes");
    const call = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const res = await s.req(path, { ...init, key: t.apiKey });
      assert.ok(res.ok, `${init.method ?? "GET"} ${path}: ${res.status}`);
      return await res.json() as Record<string, unknown>;
    };
    const code = `export default () => 1`;
    const ended = await call("/v1/agents", { method: "POST", json: { code, wait: true } });
    conforms(schemas, "AgentEnded", ended);
    conforms(schemas, "Agent", await call(`/v1/agents/${ended.id}`));
    conforms(schemas, "AgentOutput", await call(`/v1/agents/${ended.id}/output`));
    conforms(schemas, "AgentPage", await call("/v1/agents"));
    conforms(schemas, "Volume", await call("/v1/volumes", { method: "POST", json: { name: "v1" } }));
    conforms(schemas, "FileWritten", await call("/v1/volumes/v1/files/a.txt", { method: "PUT", body: "hi" }));
    const entries = await call("/v1/volumes/v1/files");
    conforms(schemas, "FileEntries", entries);
    conforms(schemas, "FileEntry", (entries.entries as Record<string, unknown>[])[0]);
    const session = await call("/v1/sessions", { method: "POST", json: {} });
    conforms(schemas, "Session", session);
    conforms(
      schemas,
      "ExecResult",
      await call(`/v1/sessions/${session.id}/exec`, { method: "POST", json: { code: "1" } }),
    );
    conforms(schemas, "Session", await call(`/v1/sessions/${session.id}`, { method: "DELETE" }));
    const explained = await call("/v1/policy/explain", { method: "POST", json: { request: { call: "fs.readText" } } });
    conforms(schemas, "Decision", explained);
    conforms(
      schemas,
      "Decision",
      await call("/v1/policy/explain", { method: "POST", json: { request: { import: "x" } } }),
    );
    const admin = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const res = await s.req(path, { ...init, key: adminKey });
      assert.ok(res.ok, `${init.method ?? "GET"} ${path}: ${res.status}`);
      return await res.json() as Record<string, unknown>;
    };
    const scheduler = await admin("/v1/scheduler");
    conforms(schemas, "Scheduler", scheduler);
    conforms(
      schemas.Scheduler.properties as Record<string, Schema>,
      "syscalls",
      scheduler.syscalls as Record<string, unknown>,
    );
    conforms(
      schemas.Scheduler.properties as Record<string, Schema>,
      "admission",
      scheduler.admission as Record<string, unknown>,
    );
    conforms(schemas, "SchedulerPolicy", await admin("/v1/scheduler", { method: "PUT", json: { policy: "fair" } }));
    conforms(schemas, "Health", await (await s.req("/healthz")).json());
    conforms(schemas, "Ready", await (await s.req("/readyz")).json());
    const audit = await admin("/v1/audit?limit=5");
    conforms(schemas, "AuditPage", audit);
    for (const record of audit.records as Record<string, unknown>[]) conforms(schemas, "AuditRecord", record);
  });
});

type Schema = { properties?: Record<string, unknown>; required?: string[]; allOf?: Schema[] };

/** `value` has every key `name`'s schema requires, and (where it lists properties) no other. */
function conforms(schemas: Record<string, Schema>, name: string, value: Record<string, unknown>): void {
  const parts = schemas[name].allOf ?? [schemas[name]];
  const required = parts.flatMap((p) => p.required ?? []);
  const described = parts.flatMap((p) => Object.keys(p.properties ?? {}));
  const keys = Object.keys(value);
  assert.deepEqual(required.filter((k) => !keys.includes(k)), [], `${name}: required keys missing from the answer`);
  assert.deepEqual(keys.filter((k) => !described.includes(k)), [], `${name}: keys the schema does not describe`);
}
