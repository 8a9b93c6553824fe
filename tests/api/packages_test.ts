/**
 * The package store's admin routes through a real server on 127.0.0.1
 * whose data dir holds a copy of the shared fixture store: add (201 once
 * stored), list, remove (404 for a name not stored, scoped names
 * URL-encoded), refusals as 4xx with the store's code, a tenant key's 403,
 * the audit rows, the OpenAPI paths.
 */
import assert from "node:assert/strict";
import { adminKey, createTenant, withServer } from "./helpers.ts";
import { copyStore } from "../packages_fixture.ts";

async function json(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
}

/** A data dir whose `packages/` is a copy of the fixture store. */
async function dataDirWithStore(): Promise<string> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-api-packages-" });
  await Deno.rename(await copyStore(), `${dataDir}/packages`);
  return dataDir;
}

function errorCode(body: Record<string, unknown>): string {
  return (body.error as { code: string }).code;
}

Deno.test("api packages: add (201), list, remove (200, then 404), with an audit row each", async () => {
  await withServer(async (s) => {
    const listed = await s.req("/v1/packages", { key: adminKey });
    assert.equal(listed.status, 200);
    const names = ((await json(listed)).packages as { name: string }[]).map((p) => p.name);
    assert.deepEqual(names, ["date-fns", "lodash", "zod"]);

    const added = await s.req("/v1/packages", { method: "POST", key: adminKey, json: { spec: "ms@^2.1" } });
    const pkg = await json(added);
    assert.equal(added.status, 201, JSON.stringify(pkg));
    assert.equal(pkg.name, "ms");
    assert.match(pkg.version as string, /^2\.1\.\d+$/);
    assert.match(pkg.sha256 as string, /^[0-9a-f]{64}$/);
    assert.deepEqual(pkg.exports, ["default"]);
    const after = (await json(await s.req("/v1/packages", { key: adminKey }))).packages as { name: string }[];
    assert.deepEqual(after.map((p) => p.name), ["date-fns", "lodash", "ms", "zod"]);
    assert.equal((await s.service.packages.get("ms"))?.sha256, pkg.sha256, "the server's own store holds it");

    const removed = await s.req("/v1/packages/ms", { method: "DELETE", key: adminKey });
    assert.equal(removed.status, 200);
    assert.deepEqual(await json(removed), { name: "ms", removed: true });
    const again = await s.req("/v1/packages/ms", { method: "DELETE", key: adminKey });
    assert.equal(again.status, 404);
    assert.equal(errorCode(await json(again)), "not_found");
    const scoped = await s.req("/v1/packages/%40types%2Fnode", { method: "DELETE", key: adminKey });
    assert.equal(scoped.status, 404);
    assert.match(
      ((await json(scoped)).error as { message: string }).message,
      /@types\/node is not in the package store/,
    );
    const twoSegments = await s.req("/v1/packages/@types/node", { method: "DELETE", key: adminKey });
    assert.equal(twoSegments.status, 404);
    await twoSegments.body?.cancel();

    const audit = await json(await s.req("/v1/audit?action=package.added", { key: adminKey }));
    assert.equal((audit.records as { subject: string }[])[0]?.subject, `ms@${pkg.version}`);
    const removals = await json(await s.req("/v1/audit?action=package.removed", { key: adminKey }));
    assert.equal((removals.records as unknown[]).length, 1);
  }, { dataDir: await dataDirWithStore() });
});

Deno.test("api packages: bad bodies and specs are 400; refusals carry the store's code", async () => {
  await withServer(async (s) => {
    const post = (body: unknown) => s.req("/v1/packages", { method: "POST", key: adminKey, json: body });
    for (const body of [{}, { spec: 5 }, { spec: "ms", extra: true }, { spec: "x".repeat(10 * 1024) }]) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
      assert.equal(errorCode(await json(res)), "validation_failed");
    }
    for (const spec of ["https://example.com/x.tgz", "../x", "file:x", "a\u0000b", "Lodash"]) {
      const res = await post({ spec });
      assert.equal(res.status, 400, spec);
      assert.equal(errorCode(await json(res)), "invalid_spec");
    }
    const bad = await s.req("/v1/packages/..%2Fx", { method: "DELETE", key: adminKey });
    assert.equal(bad.status, 400);
    assert.equal(errorCode(await json(bad)), "invalid_spec");
    const script = await post({ spec: "husky@4.3.8" });
    assert.equal(script.status, 422);
    const body = await json(script);
    assert.equal(errorCode(body), "install_script");
    assert.match((body.error as { message: string }).message, /husky@4\.3\.8/);
    const missing = await post({ spec: "agentos-test-no-such-package-5c1f" });
    assert.equal(missing.status, 404);
    assert.equal(errorCode(await json(missing)), "not_found");
    assert.deepEqual((await json(await s.req("/v1/packages", { key: adminKey }))).packages, []);
    await Deno.mkdir(`${s.dataDir}/packages`, { recursive: true });
    await Deno.writeTextFile(`${s.dataDir}/packages/index.json`, "{damaged");
    const damaged = await s.req("/v1/packages", { key: adminKey });
    assert.equal(damaged.status, 409);
    assert.equal(errorCode(await json(damaged)), "integrity");
  });
});

Deno.test("api packages: a tenant key is forbidden on every package route; the routes are in the OpenAPI document", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "pkg-tenant");
    const calls: [string, RequestInit & { json?: unknown }][] = [
      ["/v1/packages", {}],
      ["/v1/packages", { method: "POST", json: { spec: "ms@2.1.3" } }],
      ["/v1/packages/ms", { method: "DELETE" }],
      ["/v1/packages/@scope/name", { method: "DELETE" }],
    ];
    for (const [path, init] of calls) {
      const res = await s.req(path, { ...init, key: t.apiKey });
      assert.equal(res.status, 403, `${init.method ?? "GET"} ${path}`);
      assert.equal(errorCode(await json(res)), "forbidden");
    }
    assert.equal(await s.service.packages.get("ms"), undefined, "nothing was added");
    const doc = await json(await s.req("/openapi.json"));
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(paths["/v1/packages"]).sort(), ["get", "post"]);
    assert.ok(paths["/v1/packages/{name}"].delete);
  });
});
