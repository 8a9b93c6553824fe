/**
 * `POST /v1/policy/explain` refuses a call the runtime's syscall table does
 * not have (`unknown_call`, naming it); known calls and import questions
 * are answered as before.
 */
import assert from "node:assert/strict";
import { createTenant, withServer } from "./helpers.ts";

Deno.test("explain: an unknown call is a 400 unknown_call naming it; known calls and imports are answered", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const explain = (request: unknown) =>
      s.req("/v1/policy/explain", { method: "POST", key: t.apiKey, json: { request } });
    const made = await explain({ call: "made.up" });
    const body = await made.json();
    assert.equal(made.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, "unknown_call");
    assert.match(body.error.message, /made\.up/);
    const typo = await (await explain({ call: "fs.raedText" })).json();
    assert.equal(typo.error.code, "unknown_call");
    assert.match(typo.error.message, /fs\.readText/, "the calls of the same namespace are listed");
    const known = await explain({ call: "fs.readText", path: "a.txt" });
    assert.equal(known.status, 200);
    assert.ok(["allow", "deny"].includes((await known.json()).effect));
    const imp = await explain({ import: "lodash" });
    assert.equal(imp.status, 200);
    assert.equal((await imp.json()).layer, "store");
  });
});
