/**
 * Red-team finding: a child agent opens loopback. The tenant allows public
 * hosts only; the agent spawns a child (and that child a grandchild …) with
 * a policy it writes itself naming `127.0.0.0/8`. Containment:
 * - the fetch of a real 127.0.0.1 listener is EPERM at every depth and the
 *   listener accepts zero connections (only the tenant's admin-set CIDRs open
 *   non-public addresses; a child's policy only narrows its parent's);
 * - a live update of an ancestor's own policy takes effect on a live
 *   grandchild at its next call (epochs, all the way down);
 * - the server's own listen address is refused even when the tenant's admin
 *   policy allows 127.0.0.0/8 (`/healthz`, `/v1/tenants`, other spellings);
 * - `deno task agent run` (the CLI's own runtime) contains the same attack.
 * A bystander tenant's p99 is measured before and during (printed only).
 */
import assert from "node:assert/strict";
import { withRuntime } from "../helpers.ts";
import { adminKey, createTenant, withServer } from "../api/helpers.ts";
import { agentRoundTrips, httpAgentRoundTrips, reportRatio } from "./bystander.ts";
import { countingListener } from "./listeners.ts";

/** Policy an agent writes itself to "open" loopback. */
const widening = {
  version: 1,
  rules: [
    { id: "all", effect: "allow", calls: ["*"] },
    { id: "loop", effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.0/8", "::1/128", "0.0.0.0/0"] },
  ],
};

/** Tenant (admin) policy: public hosts only. */
const publicOnly = {
  version: 1,
  rules: [
    { id: "public", effect: "allow", calls: ["net.fetch"], hosts: ["*"] },
    { id: "sdk", effect: "allow", calls: ["io.write", "time.now", "proc.*"] },
  ],
};

/**
 * Code of an agent at `depth`: fetch `urls`, then (below `depthMax`) spawn
 * the next level with the widening policy and append its report.
 */
function attacker(urls: string[], depth: number, depthMax: number): string {
  const child = depth < depthMax ? attacker(urls, depth + 1, depthMax) : null;
  return `export default async () => {
    const mine = [];
    for (const url of ${JSON.stringify(urls)}) {
      try {
        const r = await sys.net.fetch(url, { timeoutMs: 3000 });
        mine.push({ depth: ${depth}, url, code: "OK", status: r.status });
      } catch (e) {
        mine.push({ depth: ${depth}, url, code: e.code, message: String(e.message) });
      }
    }
    const child = ${JSON.stringify(child)};
    if (child === null) return mine;
    const { pid } = await sys.proc.spawn({ code: child, capabilities: ["net.fetch", "proc.spawn"],
      policy: ${JSON.stringify(widening)} });
    const done = await sys.proc.wait(pid);
    return [...mine, ...(Array.isArray(done.result) ? done.result : [{ depth: ${
    depth + 1
  }, code: "CHILD-" + done.reason, message: done.message }])];
  }`;
}

type Report = { depth: number; url?: string; code: string; message?: string; status?: number };

Deno.test("security egress: a child's own policy naming 127.0.0.0/8 opens nothing, at every depth", async () => {
  const target = countingListener();
  const depthMax = 4;
  const urls = [
    `http://127.0.0.1:${target.port}/`,
    `http://127.0.0.2:${target.port}/`,
    `http://0.0.0.0:${target.port}/`,
  ];
  try {
    await withRuntime(async (runtime) => {
      runtime.policy.setTenant("red", publicOnly);
      const quiet = await agentRoundTrips(runtime, "bystander");
      const attack = runtime.run({
        tenant: "red",
        capabilities: ["net.fetch", "proc.spawn"],
        policy: widening, // the root's own policy widens too: it only narrows the tenant's
        code: attacker(urls, 0, depthMax),
      });
      const during = await agentRoundTrips(runtime, "bystander");
      const r = await attack;
      assert.equal(r.reason, "exit", r.message);
      const reports = r.result as Report[];
      console.log(reports.map((x) => `d${x.depth}:${x.code}`).join(" "));
      assert.equal(reports.length, urls.length * (depthMax + 1), JSON.stringify(reports));
      for (let depth = 0; depth <= depthMax; depth++) {
        const mine = reports.filter((x) => x.depth === depth);
        assert.equal(mine.length, urls.length, `depth ${depth}: ${JSON.stringify(reports)}`);
        for (const x of mine) assert.equal(x.code, "EPERM", `depth ${depth}: ${JSON.stringify(x)}`);
      }
      assert.equal(target.accepted, 0, "the loopback listener was reached");
      reportRatio("child widens its policy to 127.0.0.0/8", quiet, during);
    });
  } finally {
    await target.close();
  }
});

Deno.test("security egress: a live update of an ancestor's policy narrows a live grandchild at its next call", async () => {
  const target = countingListener();
  const url = `http://127.0.0.1:${target.port}/`;
  const loop = `export default async () => {
    const seen = [];
    for (let i = 0; i < 400; i++) {
      try { seen.push(String((await sys.net.fetch(${JSON.stringify(url)}, { timeoutMs: 3000 })).status)); }
      catch (e) { seen.push(e.code); break; }
      await new Promise((r) => setTimeout(r, 10));
    }
    return seen;
  }`;
  const spawnNext = (code: string) =>
    `export default async () => {
    const { pid } = await sys.proc.spawn({ code: ${JSON.stringify(code)}, capabilities: ["net.fetch", "proc.spawn"],
      policy: ${JSON.stringify(widening)} });
    return (await sys.proc.wait(pid)).result;
  }`;
  try {
    await withRuntime(async (runtime) => {
      // The admin opens this one loopback port for the tenant.
      runtime.policy.setTenant("live", {
        version: 1,
        rules: [
          { effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.1/32"], ports: [target.port] },
          { effect: "allow", calls: ["io.write", "time.now", "proc.*"] },
        ],
      });
      const root = await runtime.spawn({
        tenant: "live",
        capabilities: ["net.fetch", "proc.spawn"],
        policy: widening,
        code: spawnNext(spawnNext(loop)),
      });
      const deadline = performance.now() + 30_000;
      while (target.accepted === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(target.accepted > 0, "the grandchild reached the admin-allowed port");
      // The root's own policy no longer allows net.fetch: every descendant follows.
      runtime.policy.setAgent(root.pid, {
        version: 1,
        rules: [{ effect: "allow", calls: ["io.*", "time.*", "proc.*"] }],
      });
      const hitsAtUpdate = target.accepted;
      const r = await root.done;
      assert.equal(r.reason, "exit", r.message);
      const seen = r.result as string[];
      assert.equal(seen.at(-1), "EPERM", JSON.stringify(seen));
      const oks = seen.filter((s) => s === "200").length;
      assert.ok(oks >= 1 && oks <= hitsAtUpdate, JSON.stringify(seen));
      assert.equal(target.accepted, hitsAtUpdate, "a request got through after the update");
    });
  } finally {
    await target.close();
  }
});

Deno.test("security egress: the server's own address is refused even when the admin allows 127.0.0.0/8", async () => {
  const control = countingListener();
  await withServer(async (s) => {
    const port = new URL(s.url).port;
    const attackerTenant = await createTenant(s, "red");
    const bystander = await createTenant(s, "by");
    const put = await s.req(`/v1/tenants/${attackerTenant.id}/policy`, {
      method: "PUT",
      key: adminKey,
      json: {
        version: 1,
        rules: [
          { effect: "allow", calls: ["net.fetch"], hosts: ["127.0.0.0/8", "::1/128"] },
          { effect: "allow", calls: ["io.write", "time.now", "proc.*"] },
        ],
      },
    });
    assert.equal(put.status, 200, await put.text());
    const own = [
      `http://127.0.0.1:${port}/healthz`,
      `http://127.0.0.1:${port}/v1/tenants`,
      `http://127.0.0.2:${port}/healthz`,
      `http://[::ffff:127.0.0.1]:${port}/healthz`,
      `http://[::ffff:7f00:1]:${port}/healthz`,
      `http://2130706433:${port}/healthz`,
    ];
    const urls = [...own, `http://127.0.0.1:${control.port}/`];
    const b = { url: s.url, key: bystander.apiKey };
    const quiet = await httpAgentRoundTrips(b);
    const attack = fetch(`${s.url}/v1/agents`, {
      method: "POST",
      headers: { authorization: `Bearer ${attackerTenant.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ code: attacker(urls, 0, 2), capabilities: ["net.fetch", "proc.spawn"], wait: true }),
    });
    const during = await httpAgentRoundTrips(b);
    const res = await attack;
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.reason, "exit", body.message);
    const reports = body.result as Report[];
    console.log(reports.map((x) => `d${x.depth}:${x.code}`).join(" "));
    assert.equal(reports.length, urls.length * 3);
    for (const x of reports) {
      if (x.url === urls.at(-1)) {
        assert.deepEqual([x.code, x.status], ["OK", 200], `the admin-allowed port works: ${JSON.stringify(x)}`);
        continue;
      }
      // IPv6 literals may be refused earlier, at the dispatch-time check (EINVAL); never reached.
      assert.ok(["EPERM", "EINVAL"].includes(x.code), JSON.stringify(x));
      if (x.code === "EPERM") assert.match(x.message!, /agentos's own endpoint/, JSON.stringify(x));
    }
    assert.equal(control.accepted, 3, "one control request per depth");
    reportRatio("agents fetch the server's own API", quiet, during);
  });
  await control.close();
});

Deno.test("security egress: `deno task agent run` contains a child that widens its policy", async () => {
  const target = countingListener();
  const root = new URL("../../", import.meta.url).pathname;
  // Under the project's ./data: the data dir the CLI has always been allowed to write.
  await Deno.mkdir(`${root}data`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${root}data`, prefix: "egress-cli-" });
  try {
    const file = `${dir}/attack.js`;
    await Deno.writeTextFile(file, attacker([`http://127.0.0.1:${target.port}/`], 0, 2));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "--quiet",
        "agent",
        "run",
        file,
        "--allow",
        "net.fetch,proc.spawn",
        "--json",
        "--data-dir",
        `${dir}/data`,
      ],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const record = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.equal(record.reason, "exit", `${stdout}\n${new TextDecoder().decode(out.stderr)}`);
    const reports = record.result as Report[];
    assert.deepEqual(reports.map((x) => x.code), ["EPERM", "EPERM", "EPERM"], JSON.stringify(reports));
    assert.equal(target.accepted, 0, "the loopback listener was reached from the CLI");
  } finally {
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});
