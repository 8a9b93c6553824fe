/**
 * Every query parameter validated: unknown parameters and bad values are a
 * 400 naming the parameter; cursors are opaque and checked; a route that
 * takes no query refuses any.
 */
import assert from "node:assert/strict";
import { decodeCursor, encodeCursor } from "../../api/cursor.ts";
import { adminKey, createTenant, withServer } from "./helpers.ts";

async function refused(res: Response, named: string): Promise<string> {
  const body = await res.json();
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.equal(body.error.code, "validation_failed");
  assert.ok(body.error.message.includes(named), `${body.error.message} names ${named}`);
  return body.error.message;
}

Deno.test("query: unknown parameters and bad values are 400s naming the parameter", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const key = t.apiKey;
    const cases: [string, string][] = [
      ["/v1/agents?cursor=zzz", "cursor"],
      ["/v1/agents?limit=-1", "limit"],
      ["/v1/agents?limit=abc", "limit"],
      ["/v1/agents?state=Sleeping", "state"],
      ["/v1/agents?sort=asc", "sort"],
      ["/v1/audit?action=made.up", "action"],
      ["/v1/audit?after=-3", "after"],
      ["/v1/sessions?limit=0", "limit"],
      ["/v1/tenants?x=1", "x"],
      ["/v1/volumes?page=2", "page"],
      ["/v1/events?follow=maybe", "follow"],
    ];
    for (const [path, named] of cases) await refused(await s.req(path, { key }), named);
    const unknown = await refused(await s.req("/v1/agents?sort=asc", { key }), "sort");
    assert.match(unknown, /this route takes state, label, limit, cursor/);
    const none = await refused(await s.req("/v1/volumes?page=2", { key }), "page");
    assert.match(none, /takes no query parameters/);
    // A cursor made by hand of something that is not a row is refused too (opaque, not a passthrough to SQL).
    const forged = new TextEncoder().encode("' OR 1=1 --").toBase64({ alphabet: "base64url", omitPadding: true });
    await refused(await s.req(`/v1/agents?cursor=${forged}`, { key }), "cursor");
  });
});

Deno.test("query: the same routes take their good parameters (cursor round trip, kill signal, audit action)", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    for (let i = 0; i < 3; i++) {
      const res = await s.req("/v1/agents", { method: "POST", key: t.apiKey, json: { code: "1", wait: true } });
      assert.equal(res.status, 200, await res.clone().text());
      await res.body?.cancel();
    }
    const page1 = await (await s.req("/v1/agents?limit=2", { key: t.apiKey })).json();
    assert.equal(page1.agents.length, 2);
    assert.equal(typeof page1.next, "string");
    const page2 = await (await s.req(`/v1/agents?limit=2&cursor=${page1.next}`, { key: t.apiKey })).json();
    assert.equal(page2.agents.length, 1);
    const ids = new Set([...page1.agents, ...page2.agents].map((a: { id: string }) => a.id));
    assert.equal(ids.size, 3);
    const audit = await s.req("/v1/audit?action=agent.spawned&limit=10", { key: adminKey });
    assert.equal(audit.status, 200);
    assert.equal((await audit.json()).records.length, 3);
    const badSignal = await s.req(`/v1/agents/${page2.agents[0].id}?signal=HUP`, { method: "DELETE", key: t.apiKey });
    await refused(badSignal, "signal");
  });
});

Deno.test("query: cursors decode only what encodeCursor made", () => {
  const c = encodeCursor("2026-01-02T03:04:05.678Z", "ag_0123456789abcdef01234567");
  assert.equal(decodeCursor(c), "2026-01-02T03:04:05.678Zag_0123456789abcdef01234567");
  for (const bad of ["", "zzz", "!!!", "a".repeat(300), encodeCursor("yesterday", "ag_1")]) {
    assert.equal(decodeCursor(bad), undefined, bad);
  }
});
