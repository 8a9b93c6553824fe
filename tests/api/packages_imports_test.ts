/**
 * Package imports through the HTTP API, with a real store (the shared
 * fixture) as the server's own: a tenant's policy refuses lodash with
 * EPERM while another tenant runs it; `explain` answers import questions;
 * each load is an `import` event in the agent's trace and a row of the
 * tenant's audit log; a session imports a package in cell 1 and uses it in
 * cell 5.
 */
import assert from "node:assert/strict";
import { testPackageStore } from "../packages_fixture.ts";
import { adminKey, createTenant, type TestServer, withServer } from "./helpers.ts";
import { ndjson } from "./trace_helpers.ts";

/** A server whose store is the shared fixture (linked as `<dataDir>/packages`; these tests only read it). */
async function withStoreServer(fn: (s: TestServer) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-api-packages-" });
  await Deno.symlink(await testPackageStore(), `${dataDir}/packages`);
  await withServer(fn, { dataDir });
}

async function run(s: TestServer, key: string, code: string) {
  const res = await s.req("/v1/agents", { method: "POST", key, json: { code, wait: true } });
  assert.equal(res.status < 300, true, await res.clone().text());
  return await res.json();
}

Deno.test("packages over HTTP: policy per tenant, explain, the import event and the audit row", async () => {
  await withStoreServer(async (s) => {
    const strict = await createTenant(s, "strict");
    const relaxed = await createTenant(s, "relaxed");
    const policy = {
      version: 1,
      rules: [{ id: "no-lodash", effect: "deny", imports: ["lodash"] }, { effect: "allow", calls: ["*"] }],
    };
    const put = await s.req(`/v1/tenants/${strict.id}/policy`, { method: "PUT", key: adminKey, json: policy });
    assert.equal(put.status, 200, await put.text());

    const code = `import _ from "lodash";\nexport default () => _.sum([1, 2, 3]);`;
    const denied = await run(s, strict.apiKey, code);
    assert.equal(denied.reason, "error", JSON.stringify(denied));
    assert.match(denied.error ?? denied.message ?? "", /EPERM: import of lodash@4\.17\.21 denied by rule "no-lodash"/);
    const ok = await run(s, relaxed.apiKey, code);
    assert.equal(ok.reason, "exit", JSON.stringify(ok));
    assert.equal(ok.result, 6);

    const explain = async (key: string, request: unknown) => {
      const res = await s.req("/v1/policy/explain", { method: "POST", key, json: { request } });
      return { status: res.status, body: await res.json() };
    };
    const no = await explain(strict.apiKey, { import: "lodash" });
    assert.deepEqual([no.status, no.body.effect, no.body.ruleId, no.body.package], [
      200,
      "deny",
      "no-lodash",
      "lodash@4.17.21",
    ]);
    const yes = await explain(relaxed.apiKey, { import: "npm:lodash@^4" });
    assert.deepEqual([yes.body.effect, yes.body.package], ["allow", "lodash@4.17.21"]);
    const missing = await explain(relaxed.apiKey, { import: "left-pad" });
    assert.deepEqual([missing.body.effect, missing.body.layer], ["deny", "store"]);
    assert.match(missing.body.message, /packages add left-pad/);
    const dynamic = await explain(relaxed.apiKey, { import: "zod", dynamic: true });
    assert.equal(dynamic.body.effect, "deny");
    assert.match(dynamic.body.message, /dynamicImports/);
    const bad = await explain(relaxed.apiKey, { import: "https://esm.sh/x" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "invalid_import");

    const trace = await s.req(`/v1/agents/${ok.id}/trace`, { key: relaxed.apiKey });
    const imports = ndjson(await trace.text()).filter((e) => e.type === "import");
    assert.equal(imports.length, 1);
    assert.deepEqual([imports[0].data.name, imports[0].data.version, imports[0].data.specifier], [
      "lodash",
      "4.17.21",
      "npm:lodash@4.17.21",
    ]);

    // Audit rows are written in batches: wait (bounded) for the row.
    let rows: { action: string; subject: string | null; detail: { package: string } }[] = [];
    for (let i = 0; i < 200 && rows.length === 0; i++) {
      const res = await s.req("/v1/audit?action=import", { key: relaxed.apiKey });
      rows = (await res.json()).records;
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0].subject, rows[0].detail.package], [ok.id, "lodash@4.17.21"]);
    const theirs = await (await s.req("/v1/audit?action=import", { key: strict.apiKey })).json();
    assert.equal(theirs.records.length, 0, "another tenant's imports are not in this tenant's audit log");
  });
});

Deno.test("packages over HTTP: a session imports a package in cell 1 and uses it in cell 5", async () => {
  await withStoreServer(async (s) => {
    const t = await createTenant(s, "notebook");
    const open = await s.req("/v1/sessions", { method: "POST", key: t.apiKey, json: {} });
    assert.equal(open.status, 201, await open.clone().text());
    const { id } = await open.json();
    const cells = [
      `import _ from "lodash";\nimport { z } from "zod";\nconst Row = z.object({ n: z.number() });`,
      `const rows = [3, 1, 2].map((n) => Row.parse({ n }));`,
      `let note = "sorted";`,
      `rows.length`,
      `({ note, sorted: _.sortBy(rows, "n").map((r) => r.n), parsed: Row.safeParse({ n: "x" }).success })`,
    ];
    let last;
    for (const code of cells) {
      const res = await s.req(`/v1/sessions/${id}/exec`, { method: "POST", key: t.apiKey, json: { code } });
      assert.equal(res.status, 200, await res.clone().text());
      last = await res.json();
      assert.equal(last.error, null, JSON.stringify(last.error));
    }
    assert.deepEqual(last.result, { note: "sorted", sorted: [1, 2, 3], parsed: false });
    await s.req(`/v1/sessions/${id}`, { method: "DELETE", key: t.apiKey });
  });
});
