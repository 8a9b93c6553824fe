/**
 * Systems of agents through real cells: children with inherited pipes,
 * queues between agents, capability and limit inheritance, spawn bombs,
 * parent exit, TERM/KILL, and zero resources after every exit.
 */
import assert from "node:assert/strict";
import { assertNothingHeld, withRuntime } from "../helpers.ts";
import type { Runtime } from "../../sandbox/runtime.ts";

function assertNoIpc(runtime: Runtime, pid: number): void {
  assert.equal(runtime.ipc.heldBy(pid), 0, `pid ${pid} holds IPC objects`);
  assert.equal(runtime.arena.usageOfPid(pid), 0, `pid ${pid} holds arena bytes`);
}

Deno.test("agents: a child writes into an inherited pipe; the parent reads to eof and waits", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const childCode = `export default async () => {
      await sys.ipc.write(FD, "hello from child");
      await sys.ipc.close(FD);
      return "child done";
    }`;
    const r = await runtime.run({
      code: `export default async () => {
        const { readFd, writeFd } = await sys.ipc.pipe();
        const code = ${JSON.stringify(childCode)}.replaceAll("FD", String(writeFd));
        const { pid } = await sys.proc.spawn({ code, capabilities: ["ipc"], fds: [writeFd] });
        await sys.ipc.close(writeFd);
        let text = "";
        for (;;) {
          const chunk = await sys.ipc.readText(readFd, 1024, { timeoutMs: 5000 });
          text += chunk.text;
          if (chunk.eof) break;
        }
        const exit = await sys.proc.wait(pid);
        return { text, exit, fds: { readFd, writeFd } };
      }`,
      capabilities: ["ipc", "proc.spawn"],
    });
    assert.equal(r.reason, "exit", r.message);
    const v = r.result as { text: string; exit: { reason: string; exitCode: number; result: string } };
    assert.equal(v.text, "hello from child");
    assert.deepEqual([v.exit.reason, v.exit.exitCode, v.exit.result], ["exit", 0, "child done"]);
    await assertNothingHeld(runtime, dataDir, r.pid);
    assertNoIpc(runtime, r.pid);
    assert.equal(runtime.arena.stats().usedBytes, 0);
  });
});

Deno.test("agents: a message queue between parent and child, priority order", async () => {
  await withRuntime(async (runtime) => {
    const child = `export default async () => {
      const { id } = await sys.ipc.mq.open("jobs", "priority");
      for (const [d, p] of [["low", 1], ["high", 9], ["mid", 5]]) await sys.ipc.mq.send(id, d, p);
    }`;
    const r = await runtime.run({
      code: `export default async () => {
        const { id } = await sys.ipc.mq.open("jobs", "priority");
        const { pid } = await sys.proc.spawn({ code: ${JSON.stringify(child)}, capabilities: ["ipc"] });
        await sys.proc.wait(pid);
        const got = [];
        for (let i = 0; i < 3; i++) got.push((await sys.ipc.mq.recv(id, 2000)).data);
        let empty;
        try { await sys.ipc.mq.recv(id, 50); } catch (e) { empty = e.code; }
        return { got, empty };
      }`,
      capabilities: ["ipc", "proc.spawn"],
    });
    assert.deepEqual(r.result, { got: ["high", "mid", "low"], empty: "ETIMEDOUT" }, r.message);
  });
});

Deno.test("agents: children get a subset of capabilities and limits within the parent's", async () => {
  await withRuntime(async (runtime) => {
    const r = await runtime.run({
      code: `export default async () => {
        const out = {};
        const tryIt = async (name, spec) => {
          try { await sys.proc.spawn(spec); out[name] = "ok"; } catch (e) { out[name] = e.code; }
        };
        await tryIt("moreCaps", { code: "1", capabilities: ["net.fetch"] });
        await tryIt("moreWall", { code: "1", limits: { wallMs: 60000 } });
        await tryIt("sameCaps", { code: "1", capabilities: ["proc.spawn"] });
        try { await sys.proc.wait(99999); } catch (e) { out.waitStranger = e.code; }
        try { await sys.proc.kill(1); } catch (e) { out.killStranger = e.code; }
        return out;
      }`,
      capabilities: ["proc.spawn"],
      limits: { wallMs: 20_000 },
    });
    assert.deepEqual(r.result, {
      moreCaps: "EACCES",
      moreWall: "EINVAL",
      sameCaps: "ok",
      waitStranger: "ESRCH",
      killStranger: "ESRCH",
    });
  });
});

Deno.test("agents: a spawn bomb stops at the tenant's live cap with EAGAIN", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const r = await runtime.run({
      code: `export default async () => {
        let made = 0, code = "";
        for (let i = 0; i < 50; i++) {
          try { await sys.proc.spawn("await new Promise(() => {})"); made++; } catch (e) { code = e.code; break; }
        }
        return { made, code };
      }`,
      capabilities: ["proc.spawn"],
      tenant: "bomber",
    });
    assert.deepEqual(r.result, { made: 3, code: "EAGAIN" });
    // The parent's exit killed every child; nothing is left.
    assert.equal(runtime.agents().length, 0);
    await assertNothingHeld(runtime, dataDir, r.pid);
  }, { tenantQuotas: { bomber: { agentsConcurrentMax: 4 } } });
});

Deno.test("agents: a parent's exit kills its children (reason killed, cause recorded)", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const exits: { pid: number; reason: string; message?: string }[] = [];
    runtime.subscribe((e) => {
      if (e.type === "exit") exits.push({ pid: e.pid, reason: e.reason, message: e.message });
    });
    const causality: number[] = [];
    runtime.subscribe((e) => {
      if (e.type === "lifecycle" && e.to === "Running") causality.push(runtime.table.get(e.pid)!.causality);
    });
    const r = await runtime.run({
      code: `export default async () => {
        const { pid } = await sys.proc.spawn("await new Promise(() => {})");
        return pid;
      }`,
      capabilities: ["proc.spawn"],
    });
    const childPid = r.result as number;
    const child = exits.find((e) => e.pid === childPid)!;
    assert.equal(child.reason, "killed");
    assert.match(child.message ?? "", new RegExp(`parent ${r.pid} exited`));
    assert.deepEqual(causality, [r.pid, r.pid], "the child carries its parent's causality id");
    await assertNothingHeld(runtime, dataDir, r.pid);
    await assertNothingHeld(runtime, dataDir, childPid);
    assertNoIpc(runtime, childPid);
  });
});

Deno.test("signals: TERM reaches sys.onSignal; no handler exits; ignoring it ends in KILL", async () => {
  await withRuntime(async (runtime) => {
    const handled = await runtime.spawn({
      code:
        `sys.onSignal(async (sig) => { console.log("got", sig); await sys.exit(3); }); await new Promise(() => {});`,
    });
    const plain = await runtime.spawn({ code: "await new Promise(() => {})" });
    const stubborn = await runtime.spawn({ code: "sys.onSignal(() => {}); await new Promise(() => {});" });
    await new Promise((r) => setTimeout(r, 200));
    for (const a of [handled, plain, stubborn]) assert.ok(runtime.signal(a.pid, "TERM"));
    const [h, p, s] = await Promise.all([handled.done, plain.done, stubborn.done]);
    assert.deepEqual([h.reason, h.exitCode, h.stdout], ["exit", 3, "got TERM\n"]);
    assert.equal(p.reason, "killed");
    assert.equal(s.reason, "killed");
    assert.match(s.message ?? "", /did not exit after TERM/);
    const k = await runtime.spawn({ code: "sys.onSignal(() => {}); await new Promise(() => {});" });
    assert.ok(runtime.signal(k.pid, "KILL"));
    assert.equal((await k.done).reason, "killed");
  });
});

const holder = (then: string) =>
  `const { readFd, writeFd } = await sys.ipc.pipe();
  await sys.ipc.write(writeFd, "x".repeat(1000));
  const { id } = await sys.ipc.mq.open("held", "fifo");
  await sys.ipc.mq.send(id, "m".repeat(1000));
  const seg = await sys.ipc.shm.create(4096);
  await sys.ipc.topic.subscribe("news");
  await sys.proc.spawn("await new Promise(() => {})");
  console.log("holding");
  ${then}`;

for (
  const [reason, then, limits] of [
    ["cpu", "while (true) {}", { cpuMs: 400 }],
    ["memory", "const a = []; while (true) a.push(new Array(1e6).fill(1));", { memoryMb: 64 }],
    ["timeout", "await new Promise(() => {});", { wallMs: 1500 }],
    ["error", 'throw new Error("bye");', {}],
    ["killed", "await new Promise(() => {});", {}],
    ["crash", "await new Promise(() => {});", {}],
  ] as const
) {
  Deno.test(`agents: an agent holding IPC objects and a child ends by ${reason} and holds nothing after`, async () => {
    await withRuntime(async (runtime, dataDir) => {
      const agent = await runtime.spawn({ code: holder(then), capabilities: ["ipc", "proc.spawn"], limits });
      if (reason === "killed" || reason === "crash") {
        while (!agent.stdout.text().includes("holding")) await new Promise((r) => setTimeout(r, 20));
        if (reason === "killed") runtime.kill(agent.pid);
        else agent.cell!.kill("SIGKILL");
      }
      const r = await agent.done;
      assert.equal(r.reason, reason, r.message);
      assert.equal(r.cleanup.errors, 0);
      await assertNothingHeld(runtime, dataDir, r.pid);
      assert.equal(runtime.agents().length, 0, "the child died with its parent");
      assert.equal(runtime.arena.stats().usedBytes, 0);
    });
  });
}

Deno.test("scheduler: thousands of blocked calls of one tenant do not stall another tenant", async () => {
  await withRuntime(async (runtime) => {
    const blocker = await runtime.spawn({
      code: `const { id } = await sys.ipc.mq.open("never", "fifo");
        for (let i = 0; i < 2000; i++) sys.ipc.mq.recv(id, 30000).catch(() => {});
        console.log("blocked");
        await new Promise(() => {});`,
      capabilities: ["ipc"],
      tenant: "blocker",
    });
    while (!blocker.stdout.text().includes("blocked")) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const calm = await runtime.run({
      code:
        `export default async () => { let n = 0; for (let i = 0; i < 200; i++) { await sys.time.now(); n++; } return n; }`,
      tenant: "calm",
      limits: { wallMs: 8_000 },
    });
    assert.equal(calm.reason, "exit", calm.message);
    assert.equal(calm.result, 200);
    runtime.kill(blocker.pid);
    assert.equal((await blocker.done).reason, "killed");
  });
});
