/**
 * Reaching for the host from inside the agent: constructor chains, stack
 * frames, Deno internals, imports of host files, cross-agent channels,
 * signals and kills, and raw writes to the cell's channel. Real cells; a
 * bystander agent runs alongside every attack.
 */
import assert from "node:assert/strict";
import { assertNothingHeld, withRuntime } from "../helpers.ts";
import {
  assertBystanderOk,
  assertRuntimeServes,
  attemptHarness,
  type Outcome,
  startBystander,
  until,
} from "./helpers.ts";

const failed = (o: Outcome | undefined) => o !== undefined && !o.ok;
const codeOf = (o: Outcome | undefined) => (o && !o.ok ? o.code : "succeeded");

Deno.test("security host: constructor chains, prepareStackTrace frames and Deno internals yield no authority", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const bystander = startBystander(runtime);
    const r = await runtime.run({
      code: `export default async () => {
        ${attemptHarness}
        const g = (function () {}).constructor("return this")();
        const g2 = (async () => {}).constructor("return globalThis")();
        const g2v = await g2;
        await attempt("ctorIsSameGlobal", () => g === globalThis && g2v === globalThis);
        await attempt("ctorRead", () => g.Deno.readTextFile("/etc/hostname"));
        await attempt("ctorCommand", () => new g.Deno.Command("/bin/sh", { args: ["-c", "id"] }).output());
        await attempt("ctorEnv", () => g.Deno.env.toObject());
        await attempt("ctorFetch", () => g.fetch("http://127.0.0.1:8080/"));
        // Stack frames: getThis/getFunction are undefined in strict (module) code; the supervisor never appears.
        let frames = [];
        Error.prepareStackTrace = (_e, s) => s;
        try { frames = new Error("x").stack; } finally { Error.prepareStackTrace = undefined; }
        const described = frames.map((f) => ({
          file: String(f.getFileName()), thisType: typeof f.getThis(), fnType: typeof f.getFunction(),
        }));
        out.frames = { ok: true, value: described };
        let thrownFrames = [];
        Error.prepareStackTrace = (_e, s) => s;
        try { try { sys.fs.readText(1).catch(() => {}); null.x; } catch (e) { thrownFrames = e.stack; } } finally { Error.prepareStackTrace = undefined; }
        await attempt("thrownFrames", () => JSON.stringify(Array.isArray(thrownFrames) ? thrownFrames.map((f) => typeof f.getThis()) : []));
        await attempt("bootstrap", () => typeof globalThis.__bootstrap);
        await attempt("denoCore", () => typeof Deno.core);
        let internal = {}, core = {};
        await attempt("denoInternal", () => { internal = Deno[Deno.internal] ?? {}; core = internal.core ?? {}; return "reached"; });
        await attempt("opsRead",
        "readViaInternalPath", () => core.ops.op_read_file_sync?.("/etc/hostname") ?? Promise.reject(Object.assign(new Error("no op"), { name: "NoOp" })));
        await attempt("opsNapi", () => core.ops.op_napi_open("/lib/x86_64-linux-gnu/libc.so.6"));
        await attempt("dlopen", () => Deno.dlopen("libc.so.6", {}));
        await attempt("coreEvalRead", () => core.evalContext("Deno.readTextFileSync('/etc/hostname')", "x"));
        await attempt("compileFunctionRead", () => core.compileFunction("return Deno.readTextFileSync('/etc/hostname')")());
        await attempt("nodeProcessBinding", () => {
          const b = process.binding("fs");
          const fn = b.readFileUtf8 ?? b.readFileSync ?? b.open;
          if (typeof fn !== "function") throw Object.assign(new Error("no read function"), { name: "NoFn" });
          return fn.call(b, "/etc/hostname", 0);
        });
        await attempt("readViaInternalPath", () => Deno.readTextFile(internal.pathFromURL(new URL("file:///etc/hostname"))));
        await attempt("permissionsQuery", async () => (await Deno.permissions.query({ name: "read" })).state);
        await attempt("permissionsRequest", async () => (await Deno.permissions.request({ name: "read" })).state);
        await attempt("kv", () => Deno.openKv());
        await attempt("sysFrozen", () => { "use strict"; sys.fs.readText = () => "hijack"; return "assigned"; });
        await attempt("sysMutable", () => Object.isFrozen(sys) && Object.isFrozen(sys.fs));
        return out;
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as Record<string, Outcome>;
    assert.deepEqual(
      out.ctorIsSameGlobal,
      { ok: true, value: "true" },
      "the constructor only reaches the agent's own global",
    );
    for (const name of ["ctorCommand", "ctorEnv"]) {
      assert.equal(codeOf(out[name]), "NotCapable", `${name}: ${JSON.stringify(out[name])}`);
    }
    // Deno's file APIs and fetch are syscalls: the kernel refuses a host path and a call without its capability.
    for (const name of ["ctorRead", "ctorFetch"]) {
      assert.equal(codeOf(out[name]), "EACCES", `${name}: ${JSON.stringify(out[name])}`);
    }
    for (
      const name of [
        "opsRead",
        "opsNapi",
        "dlopen",
        "coreEvalRead",
        "compileFunctionRead",
        "nodeProcessBinding",
        "kv",
        "sysFrozen",
      ]
    ) {
      assert.ok(failed(out[name]), `${name}: ${JSON.stringify(out[name])}`);
    }
    assert.equal(codeOf(out.dlopen), "NotCapable");
    const frames = (out.frames as { value: unknown }).value as { file: string; thisType: string; fnType: string }[];
    assert.ok(frames.length > 0);
    for (const f of frames) {
      assert.ok(!f.file.startsWith("file://"), `a host file in the agent's stack: ${f.file}`);
      assert.notEqual(f.thisType, "object", "a frame leaked its receiver");
      assert.notEqual(f.fnType, "function", "a frame leaked its function");
    }
    assert.ok(!(out.thrownFrames as { value: string }).value.includes("object"));
    assert.deepEqual(out.bootstrap, { ok: true, value: "undefined" });
    assert.deepEqual(out.denoCore, { ok: true, value: "undefined" });
    assert.notEqual((out.permissionsQuery as { value?: string }).value, "granted");
    assert.notEqual((out.permissionsRequest as { value?: string }).value, "granted");
    assert.deepEqual(out.sysMutable, { ok: true, value: "true" });
    await assertNothingHeld(runtime, dataDir, r.pid);
    await assertBystanderOk(bystander);
  });
});

Deno.test("security host: static and dynamic imports of host files, node:fs, remote and npm specifiers are denied", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const bystander = startBystander(runtime);
    const canary = `${dataDir}/secret.js`;
    await Deno.writeTextFile(canary, `export const secret = "CANARY-import";`);
    // Static imports: the whole module fails to load; the secret never shows up.
    for (
      const spec of [
        "file:///etc/passwd",
        `file://${canary}`,
        "../../../../../../../etc/passwd",
        "/etc/passwd",
        `data:text/javascript,export * from "file://${canary}";`,
        "https://example.com/x.js",
        "npm:left-pad",
        "jsr:@std/assert",
      ]
    ) {
      const r = await runtime.run({ code: `import * as m from ${JSON.stringify(spec)}; export default () => m;` });
      assert.equal(r.reason, "error", `${spec}: ${r.reason}`);
      assert.ok(!JSON.stringify(r).includes("CANARY"), spec);
    }
    const r = await runtime.run({
      code: `export default async () => {
        ${attemptHarness}
        const specs = {
          passwd: "file:///etc/passwd",
          canary: "file://${canary}",
          relative: "../../../../../../etc/hostname",
          absolute: "/etc/hostname",
          dataToFile: "data:text/javascript," + encodeURIComponent('export * from "file://${canary}";'),
          dataToRelative: "data:text/javascript," + encodeURIComponent('export * from "./secret.js";'),
          blobToFile: URL.createObjectURL(new Blob(['export * from "file://${canary}";'], { type: "text/javascript" })),
          jsonImport: "file:///etc/hostname",
          remote: "https://example.com/x.js",
          npm: "npm:left-pad",
          nodeFs: "node:fs",
        };
        for (const [name, spec] of Object.entries(specs)) {
          await attempt(name, async () => JSON.stringify(await import(spec)));
        }
        await attempt("jsonWith", () => import("file:///etc/hostname", { with: { type: "json" } }));
        await attempt("resolveRelative", () => import.meta.resolve("./x.js"));
        await attempt("resolveFile", async () => { const u = import.meta.resolve("file://${canary}"); return JSON.stringify(await import(u)); });
        await attempt("nodeFsRead", async () => (await import("node:fs")).readFileSync("${canary}", "utf8"));
        await attempt("nodeFsWrite", async () => (await import("node:fs")).writeFileSync("${dataDir}/pwned", "x"));
        await attempt("nodeFsPromises", async () => (await import("node:fs/promises")).readFile("/etc/passwd", "utf8"));
        await attempt("nodeChild", async () => (await import("node:child_process")).execSync("id").toString());
        await attempt("nodeModuleRequire", async () => (await import("node:module")).createRequire("file:///")("${canary}"));
        await attempt("workerFromFile", () => new Promise((res, rej) => {
          const w = new Worker("file://${canary}", { type: "module" });
          w.onerror = (e) => { e.preventDefault(); rej(Object.assign(new Error(e.message), { name: "WorkerError" })); };
          w.onmessage = (e) => res(String(e.data));
          setTimeout(() => { w.terminate(); rej(Object.assign(new Error("no load"), { name: "Timeout" })); }, 2000);
        }));
        return out;
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const out = r.result as Record<string, Outcome>;
    assert.ok(!JSON.stringify(out).includes("CANARY"), JSON.stringify(out));
    for (const [name, o] of Object.entries(out)) {
      if (name === "nodeFs") continue; // the module loads; its calls are checked below
      assert.equal(o.ok, false, `${name}: ${JSON.stringify(o)}`);
    }
    // node:fs is the sandbox's own (over the fs syscalls): sync calls cannot be syscalls, a host path is outside the
    // workspace. node:child_process is Deno's, which the cell's missing permission refuses.
    for (const name of ["nodeFsRead", "nodeFsWrite"]) {
      assert.equal(codeOf(out[name]), "ENOSYS", `${name}: ${JSON.stringify(out[name])}`);
    }
    assert.equal(codeOf(out.nodeFsPromises), "EACCES", `nodeFsPromises: ${JSON.stringify(out.nodeFsPromises)}`);
    assert.equal(codeOf(out.nodeChild), "NotCapable", `nodeChild: ${JSON.stringify(out.nodeChild)}`);
    await assert.rejects(() => Deno.stat(`${dataDir}/pwned`), Deno.errors.NotFound);
    await assertBystanderOk(bystander);
    await assertRuntimeServes(runtime);
  });
});

Deno.test("security host: caches, BroadcastChannel and navigator.locks between two live agents — denied, no delivery", async () => {
  await withRuntime(async (runtime) => {
    // Both agents try the globals, and (to prove isolation beyond the prelude) a nested Worker, which is a
    // fresh global the prelude did not lock: messages still cannot cross agents (one process per agent).
    const agentCode = (role: "speaker" | "listener") =>
      `export default async () => {
        ${attemptHarness}
        await attempt("bc", () => { new BroadcastChannel("agentos-x"); return "made"; });
        await attempt("caches", async () => { const c = await caches.open("agentos-x"); await c.put("https://x/", new Response("${role}")); return "put"; });
        await attempt("locks", () => navigator.locks.request("agentos-x", () => "held"));
        const inner = \`
          const got = [];
          const bc = new BroadcastChannel("agentos-x");
          bc.onmessage = (e) => got.push(String(e.data));
          const c = await caches.open("agentos-x");
          await c.put("https://x/${role}", new Response("${role}"));
          const t0 = Date.now();
          while (Date.now() - t0 < 1200) {
            ${role === "speaker" ? 'bc.postMessage("hello from speaker");' : ""}
            await new Promise((r) => setTimeout(r, 20));
          }
          const other = await c.match("https://x/${role === "speaker" ? "listener" : "speaker"}");
          postMessage(JSON.stringify({ got, other: other ? await other.text() : null }));
        \`;
        let msg;
        try {
          const w = new Worker("data:text/javascript," + encodeURIComponent(inner), { type: "module" });
          msg = await new Promise((res) => { w.onmessage = (e) => res(JSON.parse(e.data)); w.onerror = (e) => { e.preventDefault(); res({ error: e.message }); }; });
          w.terminate();
        } catch (e) { msg = { denied: e.name }; }
        return { out, nested: msg };
      }`;
    const bystander = startBystander(runtime);
    const [speaker, listener] = await Promise.all([
      runtime.run({ code: agentCode("speaker") }),
      runtime.run({ code: agentCode("listener") }),
    ]);
    for (const r of [speaker, listener]) {
      assert.equal(r.reason, "exit", r.message);
      const { out } = r.result as { out: Record<string, Outcome> };
      for (const name of ["bc", "caches", "locks"]) {
        assert.equal(codeOf(out[name]), "TypeError", `${name}: ${JSON.stringify(out[name])}`);
      }
    }
    const heard = (listener.result as { nested: { got?: string[]; other?: string | null; error?: string } }).nested;
    assert.deepEqual(heard.got ?? [], [], "a message crossed agents");
    assert.equal(heard.other ?? null, null, "a cache entry crossed agents");
    const spoke = (speaker.result as { nested: { other?: string | null } }).nested;
    assert.equal(spoke.other ?? null, null, "a cache entry crossed agents");
    await assertBystanderOk(bystander);
  });
});

Deno.test("security host: kill of pid 1 / the parent, process.kill, signal swallowing are denied; the agent is still killable", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const bystander = startBystander(runtime);
    const agent = await runtime.spawn({
      code: `export default async () => {
        ${attemptHarness}
        for (const pid of [1, Deno.ppid, Deno.ppid - 1, Deno.ppid + 1, Deno.pid]) {
          await attempt("kill " + (pid === Deno.pid ? "self" : pid === Deno.ppid ? "ppid" : pid), () => Deno.kill(pid, "SIGTERM"));
        }
        await attempt("processKill", () => process.kill(process.ppid, "SIGKILL"));
        await attempt("processKillSelf", () => process.kill(process.pid, 0));
        await attempt("addSignalListener", () => Deno.addSignalListener("SIGTERM", () => {}));
        await attempt("processOnTerm", () => process.on("SIGTERM", () => {}));
        await attempt("processOnceInt", () => process.once("SIGINT", () => {}));
        await attempt("processExit", () => process.exit(0));
        await attempt("denoExit", () => Deno.exit(0));
        // A nested Worker gets an unlocked Deno.kill, but still no run permission for other pids.
        const inner = \`
          const r = {};
          for (const [n, pid] of [["ppid", Deno.ppid], ["one", 1]]) {
            try { Deno.kill(pid, "SIGKILL"); r[n] = "allowed"; } catch (e) { r[n] = e.name; }
          }
          try { Deno.addSignalListener("SIGTERM", () => {}); Deno.addSignalListener("SIGINT", () => {}); r.sig = "listening"; } catch (e) { r.sig = e.name; }
          postMessage(JSON.stringify(r));
        \`;
        try {
          const w = new Worker("data:text/javascript," + encodeURIComponent(inner), { type: "module" });
          out.nested = await new Promise((res) => { w.onmessage = (e) => res(JSON.parse(e.data)); });
        } catch (e) { out.nested = { ppid: "NotCapable", one: "NotCapable", worker: e.name }; }
        await sys.fs.writeText("ready", JSON.stringify(out));
        await new Promise(() => {}); // wait to be killed
      }`,
      capabilities: ["fs.write", "fs.read"],
    });
    const root = runtime.workspaces.root(agent.pid);
    await until(async () => {
      try {
        return (await Deno.readTextFile(`${root}/ready`)).length > 0;
      } catch {
        return false;
      }
    });
    const out = JSON.parse(await Deno.readTextFile(`${root}/ready`)) as Record<string, Outcome> & {
      nested: Record<string, string>;
    };
    for (const [name, o] of Object.entries(out)) {
      if (name === "nested") continue;
      assert.equal(o.ok, false, `${name}: ${JSON.stringify(o)}`);
    }
    assert.equal(out.nested.ppid, "NotCapable");
    assert.equal(out.nested.one, "NotCapable");
    assert.ok(runtime.kill(agent.pid));
    const r = await agent.done;
    assert.equal(r.reason, "killed");
    assert.equal(r.exitCode, 137);
    await assertNothingHeld(runtime, dataDir, r.pid);
    await assertBystanderOk(bystander);
    await assertRuntimeServes(runtime);
  });
});

Deno.test("security host: raw bytes on the cell channel (core.write, forged frames) act only as the agent itself", async () => {
  await withRuntime(async (runtime, dataDir) => {
    const bystander = startBystander(runtime);
    const r = await runtime.run({
      code: `export default async () => {
        const seen = new Map();
        addEventListener("message", (e) => {
          if (typeof e.data !== "string") return;
          const m = JSON.parse(e.data);
          for (const c of m.batch ?? [m]) if (c.id >= 700000) seen.set(c.id, c);
        });
        let core;
        try { core = Deno[Deno.internal]?.core; } catch { core = undefined; }
        const line = (s) => new TextEncoder().encode(s + "\\n");
        let rawWrite = "none";
        try { if (!core) throw new TypeError("no core"); await core.write(1, line('{"id":700001,"call":"proc.info","args":{}}')); rawWrite = "wrote"; } catch (e) { rawWrite = e.name; }
        // Frame smuggling inside one postMessage: a newline splits it into two frames, both still ours.
        postMessage('{"id":700002,"call":"proc.info","args":{}}\\n{"id":700003,"call":"proc.info","args":{"pid":1}}');
        const t0 = Date.now();
        while (seen.size < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
        const me = await sys.info();
        return { rawWrite, me, seen: [...seen.values()] };
      }`,
    });
    assert.equal(r.reason, "exit", r.message);
    const { me, seen } = r.result as {
      me: { pid: number };
      seen: { id: number; ok: boolean; value?: { pid: number } }[];
    };
    assert.equal(me.pid, r.pid);
    for (const c of seen) if (c.ok) assert.equal(c.value!.pid, r.pid, "a forged frame acted as another pid");
    // A forged exit or limit control frame ends nothing: only the cell decides how an agent ended.
    const forger = runtime.run({
      code: `export default async () => {
        postMessage('{"ctl":"exit","code":0,"result":"\\\\"forged\\\\""}');
        postMessage('{"ctl":"limit","reason":"memory"}');
        await new Promise((r) => setTimeout(r, 2000));
        return "not forged";
      }`,
    });
    const f = await forger;
    // The cell's main thread is the only source of control frames: forged ones are refused and the agent runs on.
    assert.equal(f.reason, "exit", f.message);
    assert.equal(f.result, "not forged");
    await assertNothingHeld(runtime, dataDir, f.pid);
    await assertBystanderOk(bystander);
    await assertRuntimeServes(runtime);
  });
});
