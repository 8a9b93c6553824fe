/**
 * Spoofing, leaks and robustness: results cannot be nested so deep that
 * standard JSON clients fail on the API; the host's paths and pids do not
 * reach the agent; stored output is bounded and says what it dropped; a
 * tenant's agents get a default output ceiling; a directory moved into
 * itself is `EINVAL`.
 *
 * Findings 7 (output), 8 and 9 (rename) of the isolation issue.
 */

import assert from "node:assert/strict";
import { jsonDepthMax } from "../../kernel/limits.ts";
import { quotasDefault } from "../../api/service.ts";
import { traceCharsPerAgentMax } from "../../api/limits.ts";
import { ringOutputCharsMax } from "../../observability/hub.ts";
import { createTenant, withServer } from "../api/helpers.ts";
import { withRuntime } from "../helpers.ts";
import { storedOutputCharsMax } from "../../sandbox/limits.ts";

function depthOf(value: unknown): number {
  let depth = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    depth = Math.max(depth, d);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return depth;
}

Deno.test("security leaks: a result nested 500k deep ends the agent with an error; the API stays readable", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "deep");
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: {
        code: "export default () => { let a = []; for (let i = 0; i < 500000; i++) a = [a]; return a; }",
        wait: true,
      },
    });
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.equal(body.reason, "error");
    assert.match(body.message, new RegExp(`nested deeper than ${jsonDepthMax} levels`));
    const list = await s.req("/v1/agents", { key: t.apiKey });
    const text = await list.text();
    assert.ok(depthOf(JSON.parse(text)) < 2 * jsonDepthMax, "the agent list is nested too deep for clients");
    // Just inside the cap is still a result.
    const ok = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: {
        code: `export default () => { let a = []; for (let i = 1; i < ${jsonDepthMax}; i++) a = [a]; return a; }`,
        wait: true,
      },
    });
    assert.equal((await ok.json()).reason, "exit");
  });
});

Deno.test("security leaks: the agent sees no host path or pid (Deno.cwd, execPath, pid, ppid, process)", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const r = await runtime.run({
      capabilities: ["proc.spawn"],
      code: `export default async () => {
        const get = (f) => { try { return f(); } catch (e) { return e.name; } };
        const child = await sys.proc.spawn("export default () => [Deno.pid, Deno.ppid]");
        return {
          cwd: get(() => Deno.cwd()), execPath: get(() => Deno.execPath()), pid: Deno.pid, ppid: Deno.ppid,
          processPid: process.pid, processPpid: process.ppid, processCwd: process.cwd(), processExecPath: process.execPath,
          argv: process.argv, title: get(() => process.title), env: get(() => Object.keys(process.env).length),
          child: (await sys.proc.wait(child.pid)).result, info: (await sys.info()).pid,
        };
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const v = r.result as Record<string, unknown>;
    assert.deepEqual(
      [v.cwd, v.execPath, v.pid, v.ppid, v.processPid, v.processPpid, v.processCwd, v.processExecPath, v.argv],
      ["/workspace", "TypeError", r.pid, 0, r.pid, 0, "/workspace", "deno", ["deno"]],
    );
    assert.deepEqual(v.child, [(v.child as number[])[0], r.pid]);
    const text = JSON.stringify(v);
    for (const secret of [dataDir, Deno.execPath(), String(Deno.pid)]) {
      assert.ok(!text.includes(secret), `the agent saw ${secret}`);
    }
  });
});

Deno.test("security leaks: stored output is bounded (head and tail kept, the drop recorded); the DB grows by that much", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "loud");
    const dbBytes = async () =>
      (await Deno.stat(`${s.dataDir}/agentos.db`)).size +
      ((await Deno.stat(`${s.dataDir}/agentos.db-wal`).catch(() => ({ size: 0 }))).size);
    const before = await dbBytes();
    const outputBytes = 8 * 1024 * 1024;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await s.req("/v1/agents", {
        method: "POST",
        key: t.apiKey,
        json: {
          code: `export default () => {
            console.log("FIRST");
            const line = "x".repeat(1023);
            for (let i = 0; i < ${outputBytes / 1024 - 8}; i++) console.log(line);
            console.log("LAST");
          }`,
          limits: { outputBytes },
          wait: true,
        },
      });
      const body = await res.json();
      assert.equal(body.reason, "exit", body.message);
      ids.push(body.id);
    }
    for (const id of ids) {
      const out = await (await s.req(`/v1/agents/${id}/output`, { key: t.apiKey })).json();
      assert.ok(out.stdout.startsWith("FIRST\n"));
      assert.ok(out.stdout.endsWith("LAST\n"));
      assert.match(out.stdout, /\[agentos: \d+ characters of output not kept\]/);
      assert.ok(out.stdout.length < storedOutputCharsMax + 200, `stored ${out.stdout.length} characters`);
      const row = await (await s.req(`/v1/agents/${id}`, { key: t.apiKey })).json();
      assert.ok(row.usage.outputBytes >= outputBytes - 16 * 1024);
    }
    const grown = (await dbBytes()) - before;
    console.log(`3 agents × ${outputBytes} bytes of output grew the database by ${grown} bytes`);
    // Each agent adds its record (head and tail of its output) and its trace (bounded by traceCharsPerAgentMax;
    // its output events past that are counted in one truncated marker), each written to the WAL and the file.
    const perAgent = 2 * (2 * storedOutputCharsMax + traceCharsPerAgentMax);
    assert.ok(grown < 3 * perAgent + 1024 * 1024, `database grew by ${grown} bytes`);
  });
});

Deno.test("security leaks: a tenant's agents get a default output ceiling", async () => {
  await withServer(async (s) => {
    const t = await createTenant(s, "plain");
    const res = await s.req("/v1/agents", {
      method: "POST",
      key: t.apiKey,
      json: { code: "export default () => 1", limits: { outputBytes: quotasDefault.outputBytes + 1 } },
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "limit_above_ceiling");
  });
});

Deno.test("security leaks: moving a directory into itself is EINVAL, not EIO", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      capabilities: ["fs.write"],
      code: `export default async () => {
        await sys.fs.mkdir("p");
        try { await sys.fs.rename("p", "p/q"); } catch (e) { return e.code; }
      }`,
    });
    assert.equal(r.result, "EINVAL");
  });
});

Deno.test("security leaks: the event ring holds a bounded amount of output, whatever agents write", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      limits: { outputBytes: 48 * 1024 * 1024, wallMs: 60_000 },
      code: `export default () => {
        const chunk = "y".repeat(1024 * 1024 - 1);
        for (let i = 0; i < 40; i++) console.log(chunk);
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    assert.equal(r.usage.outputBytes, 40 * 1024 * 1024);
    assert.ok(runtime.obs.ring.detailChars <= ringOutputCharsMax, `ring holds ${runtime.obs.ring.detailChars} chars`);
    assert.ok(runtime.obs.outputTruncated >= 40 - ringOutputCharsMax / (1024 * 1024));
  });
});
