/**
 * The prelude's lockdown (sandbox/cell/prelude/) holds against the two
 * ways around it that the security sweep found: nothing it removes is
 * reachable again, either
 *  1. from a nested `new Worker(...)` the agent starts (a fresh global with
 *     `Deno.kill` of its own cell, `Deno.addSignalListener`, `caches`,
 *     `BroadcastChannel`, `navigator.locks`, `Deno.stdout/stderr/stdin`), or
 *  2. through `Deno[Deno.internal].core` (`core.write(1, …)` /
 *     `core.read(0, …)` on the cell's raw stdio resources).
 * Both are now closed: `Worker` and the internals are denied in the prelude.
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";

Deno.test("security host a nested Worker does not regain what the prelude removed", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
        const inner = \`
          const r = {};
          const t = async (n, f) => { try { await f(); r[n] = "allowed"; } catch (e) { r[n] = e.name; } };
          await t("killSelf0", () => Deno.kill(Deno.pid, "SIGWINCH"));
          await t("addSignalListener", () => Deno.addSignalListener("SIGTERM", () => {}));
          await t("caches", async () => { await (await caches.open("x")).put("https://x/", new Response("x")); });
          await t("BroadcastChannel", () => new BroadcastChannel("x"));
          await t("locks", () => navigator.locks.request("x", () => 1));
          await t("stdout", () => Deno.stdout.write(new Uint8Array(0)));
          await t("stderr", () => Deno.stderr.write(new Uint8Array(0)));
          postMessage(JSON.stringify(r));
        \`;
        let w;
        try { w = new Worker("data:text/javascript," + encodeURIComponent(inner), { type: "module" }); }
        catch (e) { return { worker: e.name }; }
        const got = await new Promise((res) => { w.onmessage = (e) => res(JSON.parse(e.data)); });
        w.terminate();
        return got;
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    for (const [name, outcome] of Object.entries(r.result as Record<string, string>)) {
      assert.notEqual(outcome, "allowed", `nested Worker regained ${name}`);
    }
  });
});

Deno.test("security host Deno[Deno.internal].core gives no raw stdio", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
        const out = {};
        let core;
        try { core = Deno[Deno.internal]?.core; out.internals = "reachable"; } catch (e) { out.internals = e.name; }
        try { await core.write(2, new Uint8Array(0)); out.write = "allowed"; } catch (e) { out.write = e?.name ?? "denied"; }
        try { out.resources = Object.values(core.resources()).join(","); } catch (e) { out.resources = "denied"; }
        return out;
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as { internals: string; write: string; resources: string };
    assert.equal(out.internals, "TypeError");
    assert.notEqual(out.write, "allowed", "core.write on the cell's stdio");
    assert.ok(!/stdin|stdout|stderr/.test(out.resources), `raw stdio resources visible: ${out.resources}`);
  });
});
