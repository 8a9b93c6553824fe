/**
 * OpenTelemetry end to end: a real server with Deno's built-in OTel exports
 * agentos spans over OTLP/HTTP to a tiny receiver on 127.0.0.1.
 */
import assert from "node:assert/strict";

const adminKey = "admin_otel_test_key_0123456789";

Deno.test("otel: spans for HTTP requests and an agent's life reach an OTLP receiver", async () => {
  const bodies: Uint8Array[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "POST" && url.pathname === "/v1/traces") bodies.push(new Uint8Array(await req.arrayBuffer()));
    else await req.body?.cancel();
    return new Response(null, { status: 200 });
  });
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-otel-" });
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname],
    env: {
      PORT: "0",
      AGENTOS_DATA_DIR: dataDir,
      AGENTOS_ADMIN_KEY: adminKey,
      AGENTOS_POOL_SIZE: "1",
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.addr.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_SERVICE_NAME: "agentos-test",
      OTEL_DENO_CONSOLE: "ignore",
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let url = "";
    while (!url) {
      const { value, done } = await reader.read();
      if (done) throw new Error("server exited");
      text += value;
      url = /listening on (http:\/\/\S+)/.exec(text)?.[1] ?? "";
    }
    const res = await fetch(`${url}/v1/agents`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        code: "export default async () => { for (let i = 0; i < 150; i++) await sys.time.now(); return 1; }",
        wait: true,
      }),
    });
    assert.equal((await res.json()).result, 1);
    server.kill("SIGTERM");
    assert.equal((await server.status).code, 0);
    await reader.cancel().catch(() => {});
    const deadline = Date.now() + 10_000;
    const seen = () => new TextDecoder().decode(concat(bodies));
    while (Date.now() < deadline && !(seen().includes("agentos.agent") && seen().includes("agentos.http"))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const all = seen();
    for (const name of ["agentos.http", "agentos.agent", "agentos.syscall", "agentos.exit_reason", "agentos-test"]) {
      assert.ok(all.includes(name), `${name} exported`);
    }
  } finally {
    try {
      server.kill("SIGKILL");
    } catch { /* exited */ }
    await server.status;
    await receiver.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  }
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
