/**
 * Policy `ask` rules with real cells: a matched call waits for a person's
 * decision, then goes on (allowed) or fails with `EPERM` (denied,
 * expired); an agent that ends while waiting leaves nothing open; caps
 * answer `EAGAIN` at once; a deny anywhere in the chain refuses before
 * anyone is asked; an approved `net.fetch` may not follow a redirect to a
 * host nobody approved.
 */
import assert from "node:assert/strict";
import type { Approval, Runtime } from "../../sandbox/mod.ts";
import { approvalsPerAgentMax } from "../../sandbox/limits.ts";
import { assertNothingHeld, withRuntime } from "../helpers.ts";

const asking = (extra: Record<string, unknown>[] = []) => ({
  rules: [
    { id: "review-out", effect: "ask", calls: ["fs.write*", "fs.append"], paths: ["out/**"] },
    ...extra,
    { effect: "allow", calls: ["*"] },
  ],
});

const taken = new Set<string>();

/** Approvals as the runtime announces them, and a wait for the next one in a state. */
function watch(runtime: Runtime) {
  const seen: Approval[] = [];
  const waiters: { state: string; resolve: (a: Approval) => void }[] = [];
  runtime.subscribe((e) => {
    if (e.type !== "approval") return;
    seen.push({ ...e.approval });
    for (const w of waiters.splice(0)) {
      if (w.state === e.approval.state) w.resolve({ ...e.approval });
      else waiters.push(w);
    }
  });
  return {
    seen,
    next: (state: string) => {
      const found = seen.find((a) => a.state === state && !taken.has(`${a.id}:${a.state}`));
      if (found) {
        taken.add(`${found.id}:${found.state}`);
        return Promise.resolve(found);
      }
      return new Promise<Approval>((resolve) =>
        waiters.push({
          state,
          resolve: (a) => {
            taken.add(`${a.id}:${a.state}`);
            resolve(a);
          },
        })
      );
    },
  };
}

const writer = `export default async () => {
  await sys.fs.mkdir("out", { recursive: true });
  try { await sys.fs.writeText("out/report.txt", "done"); } catch (e) { return [e.code, e.message]; }
  return ["ok", await sys.fs.readText("out/report.txt")];
}`;

Deno.test("approvals: an ask rule holds the call until it is allowed, then it goes on", async () => {
  await withRuntime(async (runtime, dataDir) => {
    runtime.policy.setTenant("acme", asking());
    const w = watch(runtime);
    const agent = await runtime.spawn({ tenant: "acme", code: writer, capabilities: ["fs.read", "fs.write"] });
    const open = await w.next("pending");
    assert.deepEqual([open.call, open.paths, open.ruleId, open.pid], [
      "fs.writeText",
      ["out/report.txt"],
      "review-out",
      agent.pid,
    ]);
    assert.deepEqual(runtime.approvals.list("acme").map((a) => a.id), [open.id]);
    assert.deepEqual(runtime.approvals.list("other"), [], "another tenant sees nothing");
    assert.equal(runtime.approvals.decide("other", open.id, true, "tn_other"), undefined, "nor decides it");
    const decided = runtime.approvals.decide("acme", open.id, true, "tn_boss");
    assert.deepEqual([decided?.already, decided?.approval.state], [false, "allowed"]);
    const done = await agent.done;
    assert.deepEqual(done.result, ["ok", "done"]);
    assert.equal(runtime.approvals.decide("acme", open.id, false, "tn_boss")?.already, true, "decided once");
    assert.deepEqual(w.seen.map((a) => a.state), ["pending", "allowed"]);
    await assertNothingHeld(runtime, dataDir, agent.pid);
  });
});

Deno.test("approvals: denied with a note, or expired: EPERM naming the rule and who decided", async () => {
  await withRuntime(async (runtime) => {
    runtime.policy.setTenant("acme", asking());
    const w = watch(runtime);
    const denied = await runtime.spawn({ tenant: "acme", code: writer, capabilities: ["fs.read", "fs.write"] });
    runtime.approvals.decide("acme", (await w.next("pending")).id, false, "tn_boss", "not before review");
    assert.deepEqual((await denied.done).result, [
      "EPERM",
      "fs.writeText: fs.writeText out/report.txt needs an approval (rule review-out): denied by tn_boss (not before review)",
    ]);
    const expired = await runtime.spawn({ tenant: "acme", code: writer, capabilities: ["fs.read", "fs.write"] });
    const r = (await expired.done).result as string[];
    assert.equal(r[0], "EPERM");
    assert.match(r[1], /needs an approval \(rule review-out\): nobody decided before it expired at /);
    assert.deepEqual(w.seen.map((a) => a.state), ["pending", "denied", "pending", "expired"]);
  }, { approvalWaitMs: 300 });
});

Deno.test("approvals: an agent killed while it waits leaves no approval open and holds nothing", async () => {
  await withRuntime(async (runtime, dataDir) => {
    runtime.policy.setTenant("acme", asking());
    const w = watch(runtime);
    const agent = await runtime.spawn({ tenant: "acme", code: writer, capabilities: ["fs.read", "fs.write"] });
    const open = await w.next("pending");
    assert.ok(runtime.kill(agent.pid));
    assert.equal((await agent.done).reason, "killed");
    assert.equal((await w.next("cancelled")).id, open.id);
    assert.deepEqual(runtime.approvals.list("acme"), []);
    assert.equal(runtime.approvals.get("acme", open.id)?.decidedBy, "system");
    await assertNothingHeld(runtime, dataDir, agent.pid);
  });
});

Deno.test("approvals: past approvalsPerAgentMax pending the next call is EAGAIN at once", async () => {
  await withRuntime(async (runtime) => {
    runtime.policy.setTenant("acme", asking());
    const w = watch(runtime);
    const code = `export default async () => {
      await sys.fs.mkdir("out");
      const all = [];
      for (let i = 0; i <= ${approvalsPerAgentMax}; i++) all.push(sys.fs.writeText("out/" + i, "x").then(() => "ok", (e) => e.code));
      return await Promise.all(all);
    }`;
    // The refusal of the call past the cap, seen before anything is decided (a decision would make room).
    const refused = new Promise<void>((resolve) =>
      runtime.subscribe((e) => e.type === "denial" && e.errno === "EAGAIN" && resolve())
    );
    const agent = await runtime.spawn({ tenant: "acme", code, capabilities: ["fs.write"] });
    for (let i = 0; i < approvalsPerAgentMax; i++) await w.next("pending");
    await refused;
    const open = runtime.approvals.list("acme");
    assert.equal(open.length, approvalsPerAgentMax);
    for (const a of open) {
      assert.equal(runtime.approvals.decide("acme", a.id, true, "tn_boss")?.approval.state, "allowed");
    }
    const done = await agent.done;
    assert.equal(done.reason, "exit", JSON.stringify(done));
    const results = done.result as string[];
    assert.equal(results.filter((r) => r === "ok").length, approvalsPerAgentMax);
    assert.deepEqual(results.filter((r) => r !== "ok"), ["EAGAIN"]);
  });
});

Deno.test("approvals: a deny of the agent's own policy refuses before anyone is asked", async () => {
  await withRuntime(async (runtime) => {
    runtime.policy.setTenant("acme", asking());
    const w = watch(runtime);
    const r = await runtime.run({
      tenant: "acme",
      code: writer,
      capabilities: ["fs.read", "fs.write"],
      policy: { rules: [{ effect: "deny", calls: ["fs.writeText"] }, { effect: "allow", calls: ["*"] }] },
    });
    const [code, message] = r.result as string[];
    assert.equal(code, "EPERM");
    assert.match(message, /denied by policy rule 0/);
    assert.deepEqual(w.seen, []);
  });
});

Deno.test("approvals: an approved fetch reaches its host; a redirect to another asked host is refused", async () => {
  let hits = 0;
  await using b = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    hits++;
    return new Response("from b");
  });
  await using a = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/hop"
        ? Response.redirect(`http://127.0.0.1:${b.addr.port}/`, 302)
        : new Response("from a"),
  );
  await withRuntime(async (runtime) => {
    runtime.policy.setTenant("acme", {
      rules: [
        { id: "ask-web", effect: "ask", calls: ["net.fetch"], hosts: ["127.0.0.1/32"] },
        { effect: "allow", calls: ["*"] },
      ],
    });
    const w = watch(runtime);
    const code = `export default async () => {
      const got = [];
      for (const path of ["/", "/hop"]) {
        try { got.push(await (await fetch("http://127.0.0.1:${a.addr.port}" + path)).text()); }
        catch (e) { got.push(e.code + " " + e.message); }
      }
      return got;
    }`;
    const agent = await runtime.spawn({ tenant: "acme", code, capabilities: ["net.fetch"] });
    for (let i = 0; i < 2; i++) {
      const open = await w.next("pending");
      assert.deepEqual([open.call, open.host, open.port, open.method], ["net.fetch", "127.0.0.1", a.addr.port, "GET"]);
      runtime.approvals.decide("acme", open.id, true, "tn_boss");
    }
    const [first, hop] = (await agent.done).result as string[];
    assert.equal(first, "from a");
    assert.match(
      hop,
      new RegExp(
        `^EPERM .*127\\.0\\.0\\.1:${b.addr.port} needs an approval \\(rule ask-web\\), and a redirect is not approved`,
      ),
    );
    assert.equal(hits, 0, "nothing reached the redirect's host");
  });
});
