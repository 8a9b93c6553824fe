/**
 * Approvals over HTTP against a real server: a tenant policy with an `ask`
 * rule holds an agent's write; the tenant's webhook receiver (on
 * 127.0.0.1, through `webhooks.allowHosts`) gets `approval.pending`; the
 * tenant allows it with `POST /v1/approvals/:id` and the agent finishes.
 * Another tenant cannot see or decide it, a second decision is 409, a bad
 * body 400; explain answers `ask`; the audit log has both rows; the
 * agent's trace has both approval events.
 */
import assert from "node:assert/strict";
import { AgentOS, Conflict } from "../../client/mod.ts";
import { adminKey, createTenant, withServer } from "./helpers.ts";

const writer = `export default async () => {
  await sys.fs.mkdir("out");
  await sys.fs.writeText("out/report.txt", "done");
  return await sys.fs.readText("out/report.txt");
}`;

Deno.test("approvals: a webhook announces the pending call, the tenant allows it over HTTP, the agent finishes", async () => {
  const pending: Record<string, unknown>[] = [];
  let announced: () => void = () => {};
  const arrived = new Promise<void>((r) => announced = r);
  await using receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const event = await req.json();
    if (event.type === "approval.pending") {
      pending.push(event.data);
      announced();
    }
    return new Response("ok");
  });
  await withServer(async (s) => {
    const t = await createTenant(s, "acme");
    const other = await createTenant(s, "other");
    const rules = [
      { id: "review-out", effect: "ask", calls: ["fs.write*"], paths: ["out/**"] },
      { effect: "allow", calls: ["*"] },
    ];
    assert.equal(
      (await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: { rules } })).status,
      200,
    );
    const hook = await s.req("/v1/webhooks", {
      method: "POST",
      key: t.apiKey,
      json: { url: `http://127.0.0.1:${receiver.addr.port}/hook`, events: ["approval.pending"] },
    });
    assert.equal(hook.status, 201, await hook.clone().text());
    const explained = await (await s.req("/v1/policy/explain", {
      method: "POST",
      key: t.apiKey,
      json: { request: { call: "fs.writeText", path: "out/report.txt" } },
    })).json();
    assert.deepEqual([explained.effect, explained.ruleId], ["ask", "review-out"]);

    const spawned = await (await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: writer, capabilities: ["fs.read", "fs.write"] },
    })).json();
    await arrived;
    const [event] = pending;
    assert.deepEqual([event.agentId, event.call, event.paths, event.ruleId, event.state], [
      spawned.id,
      "fs.writeText",
      ["out/report.txt"],
      "review-out",
      "pending",
    ]);
    const id = String(event.approvalId);
    const listed = await (await s.req("/v1/approvals", { key: t.apiKey })).json();
    assert.deepEqual(listed.approvals.map((a: { id: string }) => a.id), [id]);
    assert.deepEqual((await (await s.req("/v1/approvals", { key: other.apiKey })).json()).approvals, []);
    const foreign = await s.req(`/v1/approvals/${id}`, {
      method: "POST",
      key: other.apiKey,
      json: { decision: "allow" },
    });
    assert.equal(foreign.status, 404);
    await foreign.body?.cancel();
    const bad = await s.req(`/v1/approvals/${id}`, { method: "POST", key: t.apiKey, json: { decision: "maybe" } });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();

    const decided = await s.req(`/v1/approvals/${id}`, {
      method: "POST",
      key: t.apiKey,
      json: { decision: "allow", note: "looks fine" },
    });
    assert.equal(decided.status, 200);
    const approval = await decided.json();
    assert.deepEqual([approval.state, approval.decidedBy, approval.note], ["allowed", t.id, "looks fine"]);
    const again = await s.req(`/v1/approvals/${id}`, { method: "POST", key: t.apiKey, json: { decision: "deny" } });
    assert.equal(again.status, 409);
    assert.equal((await again.json()).error.code, "approval_decided");

    const done = await (await s.req(`/v1/agents/${spawned.id}/wait`, { key: t.apiKey })).json();
    assert.deepEqual([done.reason, done.result], ["exit", "done"]);
    assert.equal((await (await s.req(`/v1/approvals/${id}`, { key: t.apiKey })).json()).state, "allowed");

    const audit = await (await s.req("/v1/audit?limit=200", { key: t.apiKey })).json();
    const actions = audit.records.map((r: { action: string }) => r.action);
    assert.ok(actions.includes("approval.requested") && actions.includes("approval.decided"), actions.join(" "));
    const trace = (await (await s.req(`/v1/agents/${spawned.id}/trace`, { key: t.apiKey })).text()).trim().split("\n")
      .map((l) => JSON.parse(l)).filter((e) => e.type === "approval");
    assert.deepEqual(trace.map((e) => e.data.state), ["pending", "allowed"]);
  }, { webhooks: { allowHosts: ["127.0.0.1"] } });
});

Deno.test("approvals: the SDK lists and denies; the agent gets EPERM naming the note; a second decision is Conflict", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "sdk");
    const rules = [{ id: "review", effect: "ask", calls: ["fs.write*"] }, { effect: "allow", calls: ["*"] }];
    assert.equal(
      (await s.req(`/v1/tenants/${t.id}/policy`, { method: "PUT", key: adminKey, json: { rules } })).status,
      200,
    );
    const os = new AgentOS({ url: s.url, apiKey: t.apiKey });
    const code = `export default async () => {
      try { await sys.fs.writeText("a.txt", "x"); return "written"; } catch (e) { return e.message; }
    }`;
    const agent = await os.spawn(code, { capabilities: ["fs.write"] });
    let open = await os.approvals.list();
    for (let n = 0; open.length === 0 && n < 500; n++) {
      await new Promise((r) => setTimeout(r, 20));
      open = await os.approvals.list();
    }
    assert.equal(open.length, 1);
    assert.equal((await os.approvals.decide(open[0].id, "deny", "not now")).state, "denied");
    await assert.rejects(os.approvals.decide(open[0].id, "allow"), (err: Error) => err instanceof Conflict);
    const done = await agent.wait();
    assert.equal(
      done.result,
      `fs.writeText: fs.writeText a.txt needs an approval (rule review): denied by ${t.id} (not now)`,
    );
  });
});
