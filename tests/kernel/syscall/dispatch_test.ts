import assert from "node:assert/strict";
import { z } from "zod";
import { KernelError } from "../../../kernel/errno.ts";
import { agentLimitsDefault } from "../../../kernel/limits.ts";
import { type Capability, ProcessTable } from "../../../kernel/process/table.ts";
import { Dispatcher } from "../../../kernel/syscall/dispatch.ts";
import { type CheckedPath, defineSyscall, SyscallTable } from "../../../kernel/syscall/table.ts";

function setup(caps: Capability[] = [], syscallsPerSec: number = agentLimitsDefault.syscallsPerSec) {
  let now = 0;
  const events: string[] = [];
  const table = new SyscallTable([
    defineSyscall({
      name: "t.echo",
      args: z.strictObject({ v: z.number() }),
      capability: null,
      handler: ({ args }) => args.v,
    }),
    defineSyscall({ name: "t.cap", args: z.strictObject({}), capability: "fs.read", handler: () => "yes" }),
    defineSyscall({
      name: "t.boom",
      args: z.strictObject({}),
      capability: null,
      handler: () => {
        throw new Error("host secret /etc/shadow");
      },
    }),
    defineSyscall({
      name: "t.path",
      args: z.strictObject({ path: z.string() }),
      capability: null,
      paths: (a) => [{ path: a.path, access: "read" }],
      handler: ({ paths }) => paths[0].real,
    }),
  ]);
  const dispatcher = new Dispatcher({
    table,
    nowMs: () => now,
    confinement: {
      checkPath: (_p, raw) => {
        if (raw.includes("..")) throw new KernelError("EACCES", "escape");
        return { root: "/root", real: `/root/${raw}`, relative: raw, seen: null } as CheckedPath;
      },
    },
    observer: {
      syscall: (_p, call, _a, errno) => events.push(`${call}:${errno ?? "ok"}`),
      denial: (_p, call, layer) => events.push(`deny:${call}:${layer}`),
    },
  });
  const proc = new ProcessTable().create({
    tenant: "t",
    capabilities: caps,
    limits: { ...agentLimitsDefault, syscallsPerSec },
    nowMs: 0,
  });
  proc.state = "Running";
  return { dispatcher, proc, events, tick: (ms: number) => now += ms };
}

Deno.test("dispatch: ok, ENOSYS, EINVAL for bad args and unknown keys", async () => {
  const { dispatcher, proc } = setup();
  assert.deepEqual(await dispatcher.dispatch(proc, { id: 1, call: "t.echo", args: { v: 5 } }), {
    id: 1,
    ok: true,
    value: 5,
  });
  const unknown = await dispatcher.dispatch(proc, { id: 2, call: "nope", args: {} });
  assert.equal(!unknown.ok && unknown.error.code, "ENOSYS");
  const bad = await dispatcher.dispatch(proc, { id: 3, call: "t.echo", args: { v: "x" } });
  assert.equal(!bad.ok && bad.error.code, "EINVAL");
  const extra = await dispatcher.dispatch(proc, { id: 4, call: "t.echo", args: { v: 1, w: 2 } });
  assert.equal(!extra.ok && extra.error.code, "EINVAL");
  assert.equal(proc.usage.syscalls, 4);
});

Deno.test("dispatch: capability denial is EACCES and counted", async () => {
  const { dispatcher, proc, events } = setup();
  const denied = await dispatcher.dispatch(proc, { id: 1, call: "t.cap", args: {} });
  assert.equal(!denied.ok && denied.error.code, "EACCES");
  assert.equal(proc.usage.denials, 1);
  assert.ok(events.includes("deny:t.cap:capability"));
  const allowed = setup(["fs.read"]);
  assert.equal((await allowed.dispatcher.dispatch(allowed.proc, { id: 1, call: "t.cap", args: {} })).ok, true);
});

Deno.test("dispatch: a handler's exception is EIO for that call only, with no host detail", async () => {
  const { dispatcher, proc } = setup();
  const boom = await dispatcher.dispatch(proc, { id: 1, call: "t.boom", args: {} });
  assert.equal(!boom.ok && boom.error.code, "EIO");
  assert.ok(!boom.ok && !boom.error.message.includes("shadow"));
  assert.equal((await dispatcher.dispatch(proc, { id: 2, call: "t.echo", args: { v: 1 } })).ok, true);
});

Deno.test("dispatch: paths are confined before the handler sees them", async () => {
  const { dispatcher, proc, events } = setup();
  const ok = await dispatcher.dispatch(proc, { id: 1, call: "t.path", args: { path: "a" } });
  assert.deepEqual(ok.ok && ok.value, "/root/a");
  const escape = await dispatcher.dispatch(proc, { id: 2, call: "t.path", args: { path: "../x" } });
  assert.equal(!escape.ok && escape.error.code, "EACCES");
  assert.ok(events.includes("deny:t.path:path"));
});

Deno.test("dispatch: per-agent rate limit answers EAGAIN and refills with time", async () => {
  const { dispatcher, proc, tick } = setup([], 10);
  const codes: string[] = [];
  for (let i = 0; i < 12; i++) {
    const c = await dispatcher.dispatch(proc, { id: i, call: "t.echo", args: { v: i } });
    codes.push(c.ok ? "ok" : c.error.code);
  }
  assert.equal(codes.filter((c) => c === "ok").length, 10);
  assert.equal(codes.filter((c) => c === "EAGAIN").length, 2);
  tick(1000);
  assert.equal((await dispatcher.dispatch(proc, { id: 99, call: "t.echo", args: { v: 1 } })).ok, true);
});

Deno.test("dispatch: an exiting agent's calls are ECANCELED", async () => {
  const { dispatcher, proc } = setup();
  proc.state = "Exiting";
  const c = await dispatcher.dispatch(proc, { id: 1, call: "t.echo", args: { v: 1 } });
  assert.equal(!c.ok && c.error.code, "ECANCELED");
});
