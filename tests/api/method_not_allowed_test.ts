/**
 * 405 with `Allow`: a known path asked with a method it does not serve
 * answers `method_not_allowed` naming the methods of that path (from the
 * app's routes); an unknown path stays a 404.
 */
import assert from "node:assert/strict";
import { allowedMethods, routePattern } from "../../api/method_not_allowed.ts";
import { adminKey, createTenant, withServer } from "./helpers.ts";

Deno.test("405: a wrong method on a known path names the path's methods in Allow", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const cases: [string, string, string][] = [
      ["PUT", "/v1/agents", "GET, HEAD, POST"],
      ["POST", "/v1/agents/a_nope/output", "GET, HEAD"],
      ["PATCH", "/v1/volumes", "GET, HEAD, POST"],
      ["DELETE", "/healthz", "GET, HEAD"],
      ["POST", "/v1/sessions/s_x/files/a/b.txt", "DELETE, GET, HEAD, PUT"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await s.req(path, { method, key: t.apiKey });
      const body = await res.json();
      assert.equal(res.status, 405, `${method} ${path}: ${JSON.stringify(body)}`);
      assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
      assert.equal(body.error.code, "method_not_allowed");
      assert.match(body.error.message, new RegExp(`use ${allow}`));
    }
    const unknown = await s.req("/v1/nothing-here", { method: "PUT", key: adminKey });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, "not_found");
    const unknownGet = await s.req("/v1/agents/a1/nothing", { key: adminKey });
    assert.equal(unknownGet.status, 404);
    await unknownGet.body?.cancel();
  });
});

Deno.test("405: an unauthenticated wrong method is still a 401 first (who is calling comes before anything)", async () => {
  await withServer(async (s) => {
    const res = await s.req("/v1/agents", { method: "PUT" });
    assert.equal(res.status, 401);
    await res.body?.cancel();
  });
});

Deno.test("405: route patterns compile as Hono matches them", () => {
  assert.ok(routePattern("/v1/agents/:id").test("/v1/agents/a1"));
  assert.ok(!routePattern("/v1/agents/:id").test("/v1/agents/a1/x"));
  assert.ok(routePattern("/v1/packages/:scope{@[^/]+}/:name").test("/v1/packages/@std/path"));
  assert.ok(!routePattern("/v1/packages/:scope{@[^/]+}/:name").test("/v1/packages/std/path"));
  assert.ok(routePattern("/v1/volumes/:name/files/*").test("/v1/volumes/v/files/a/b"));
  const allowed = allowedMethods(() => [
    { method: "ALL", path: "/v1/*" },
    { method: "GET", path: "/v1/x" },
    { method: "DELETE", path: "/v1/x" },
  ]);
  assert.deepEqual(allowed("/v1/x"), ["DELETE", "GET", "HEAD"]);
  assert.deepEqual(allowed("/v1/y"), []);
});
