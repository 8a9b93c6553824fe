import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { type Errno, KernelError } from "../../../kernel/errno.ts";
import { agentLimitsDefault } from "../../../kernel/limits.ts";
import { type Capability, ProcessTable } from "../../../kernel/process/table.ts";
import { Dispatcher } from "../../../kernel/syscall/dispatch.ts";
import { SyscallTable } from "../../../kernel/syscall/table.ts";
import { type Cidr, parseCidr } from "../../../sandbox/egress/mod.ts";
import { type EgressRequest, type FetchResult, type NetDeps, netSyscalls } from "../../../sandbox/net/mod.ts";

// --- harness ------------------------------------------------------------------

interface Setup {
  cidrs?: string[];
  caps?: Capability[];
  decide?: (req: EgressRequest) => Errno | null;
  resolve?: (name: string) => Promise<Uint8Array[]>;
  deps?: Partial<NetDeps>;
}

function setup(opts: Setup = {}) {
  const decided: EgressRequest[] = [];
  const cidrs: Cidr[] = (opts.cidrs ?? []).map((c) => parseCidr(c)!);
  const deps: NetDeps = {
    decide: (_p, req) => {
      decided.push({ ...req, addr: req.addr.slice() });
      return opts.decide?.(req) ?? null;
    },
    allowCidrs: () => cidrs,
    // Tests never reach real DNS.
    resolve: opts.resolve ?? (() => Promise.reject(new Error("no DNS in tests"))),
    ...opts.deps,
  };
  const dispatcher = new Dispatcher({
    table: new SyscallTable([...netSyscalls(deps)]),
    confinement: {
      checkPath: () => {
        throw new KernelError("EACCES", "no paths here");
      },
    },
  });
  const proc = new ProcessTable().create({
    tenant: "t",
    capabilities: opts.caps ?? ["net.fetch"],
    limits: agentLimitsDefault,
    nowMs: 0,
  });
  proc.state = "Running";
  let id = 0;
  const call = (args: unknown) => dispatcher.dispatch(proc, { id: ++id, call: "net.fetch", args });
  const ok = async (args: unknown): Promise<FetchResult> => {
    const done = await call(args);
    assert.ok(done.ok, `expected ok, got ${JSON.stringify(done)}`);
    return done.value as FetchResult;
  };
  const fails = async (args: unknown, code: Errno): Promise<string> => {
    const done = await call(args);
    assert.ok(!done.ok, `expected ${code}, got ok ${JSON.stringify(done).slice(0, 300)}`);
    assert.equal(done.error.code, code, done.error.message);
    return done.error.message;
  };
  return { call, ok, fails, decided };
}

const text = (r: FetchResult) => new TextDecoder().decode(Uint8Array.fromBase64(r.bodyBase64));
const json = (r: FetchResult) => JSON.parse(text(r));

/** A Deno.serve test server on 127.0.0.1 with a request counter. */
async function withServer(
  fn: (base: string, hits: () => number, port: number) => Promise<void>,
  handler: (req: Request) => Response | Promise<Response> = routes,
): Promise<void> {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    hits++;
    return handler(req);
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, () => hits, server.addr.port);
  } finally {
    await server.shutdown();
  }
}

async function routes(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const q = url.searchParams;
  switch (url.pathname) {
    case "/echo": {
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => headers[k] = v);
      const body = await req.text();
      const status = Number(q.get("status") ?? 200);
      const init = { status, headers: { "x-multi": "a", "content-type": "application/json" } };
      if (status === 204 || status === 304) return new Response(null, { status });
      return new Response(JSON.stringify({ method: req.method, path: url.pathname + url.search, headers, body }), init);
    }
    case "/chunked": {
      const parts = ["he", "llo ", "chu", "nked"];
      const stream = new ReadableStream<Uint8Array>({
        pull(ctl) {
          const p = parts.shift();
          if (p === undefined) ctl.close();
          else ctl.enqueue(new TextEncoder().encode(p));
        },
      });
      return new Response(stream);
    }
    case "/big":
      return new Response(new Uint8Array(Number(q.get("n") ?? 100_000)).fill(97));
    case "/bigchunked": {
      let left = 20;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(ctl) {
            if (left-- === 0) ctl.close();
            else ctl.enqueue(new Uint8Array(5000).fill(98));
          },
        }),
      );
    }
    case "/redirect":
      return new Response(null, { status: Number(q.get("code") ?? 302), headers: { location: q.get("to") ?? "/" } });
    case "/loop":
      return new Response(null, { status: 302, headers: { location: "/loop" } });
    default:
      return new Response("not found", { status: 404 });
  }
}

/** A raw TCP server on 127.0.0.1: `onConn` writes whatever bytes a test needs. */
async function withRawServer(
  onConn: (conn: Deno.Conn) => Promise<void>,
  fn: (base: string, accepted: () => number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const tasks: Promise<void>[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      tasks.push(onConn(conn).catch(() => {}));
    }
  })().catch(() => {});
  try {
    await fn(`http://127.0.0.1:${listener.addr.port}`, () => conns.length);
  } finally {
    listener.close();
    await loop;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.all(tasks);
  }
}

/** Read a request head (up to the blank line) from a raw connection. */
async function readRequestHead(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16_384);
  let seen = "";
  while (!seen.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) return;
    seen += new TextDecoder().decode(buf.subarray(0, n));
  }
}

function replyRaw(bytes: string, closeAfter = true): (conn: Deno.Conn) => Promise<void> {
  return async (conn) => {
    await readRequestHead(conn);
    await conn.write(new TextEncoder().encode(bytes));
    if (closeAfter) conn.close();
  };
}

const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.of(a, b, c, d);

// --- allowed traffic ----------------------------------------------------------

Deno.test("net.fetch: GET, POST with body, headers and status codes when 127.0.0.1/32 is allowed", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (base, hits, port) => {
    const get = await t.ok({ url: `${base}/echo?x=1` });
    assert.equal(get.status, 200);
    assert.equal(get.redirects, 0);
    assert.equal(get.url, `${base}/echo?x=1`);
    assert.equal(get.headers["x-multi"], "a");
    assert.equal(get.headers["content-type"], "application/json");
    const seen = json(get);
    assert.equal(seen.method, "GET");
    assert.equal(seen.path, "/echo?x=1");
    assert.equal(seen.headers.host, `127.0.0.1:${port}`);
    assert.equal(seen.headers.connection, "close");

    const post = await t.ok({
      url: `${base}/echo`,
      method: "POST",
      body: "héllo",
      headers: { "Content-Type": "text/plain", "X-Token": "abc" },
    });
    const p = json(post);
    assert.equal(p.method, "POST");
    assert.equal(p.body, "héllo");
    assert.equal(p.headers["content-type"], "text/plain");
    assert.equal(p.headers["x-token"], "abc");
    assert.equal(p.headers["content-length"], "6");

    const put = json(await t.ok({ url: `${base}/echo`, method: "PUT", bodyBase64: btoa("\x00\x01") }));
    assert.equal(put.body, "\x00\x01");

    assert.equal((await t.ok({ url: `${base}/echo?status=418` })).status, 418);
    const empty = await t.ok({ url: `${base}/echo?status=204`, method: "DELETE" });
    assert.equal(empty.status, 204);
    assert.equal(empty.bodyBase64, "");
    const head = await t.ok({ url: `${base}/big?n=5000`, method: "HEAD" });
    assert.equal(head.headers["content-length"], "5000");
    assert.equal(head.bodyBase64, "");
    assert.equal((await t.ok({ url: `${base}/nope` })).status, 404);
    assert.equal(hits(), 7);
    assert.deepEqual(t.decided[0], { host: "127.0.0.1", addr: v4(127, 0, 0, 1), port, method: "GET" });
    assert.equal(t.decided[1].method, "POST");
  });
});

Deno.test("net.fetch: chunked and exact-limit responses are read whole", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (base) => {
    const r = await t.ok({ url: `${base}/chunked` });
    assert.equal(r.headers["transfer-encoding"], "chunked");
    assert.equal(text(r), "hello chunked");
    const big = await t.ok({ url: `${base}/bigchunked`, maxResponseBytes: 100_000 });
    assert.equal(Uint8Array.fromBase64(big.bodyBase64).length, 100_000);
    const exact = await t.ok({ url: `${base}/big?n=1000`, maxResponseBytes: 1000 });
    assert.equal(text(exact), "a".repeat(1000));
  });
});

Deno.test("net.fetch: read-to-close body, interim 100 response, repeated headers joined", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  const reply = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nX-A: 1\r\nx-a: 2\r\n\r\nuntil close";
  await withRawServer(replyRaw(reply), async (base) => {
    const r = await t.ok({ url: `${base}/` });
    assert.equal(r.status, 200);
    assert.equal(r.statusText, "OK");
    assert.equal(r.headers["x-a"], "1, 2");
    assert.equal(text(r), "until close");
  });
});

Deno.test("net.fetch: an IPv4-mapped literal inside an allowed block reaches the IPv4 host", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (_base, hits, port) => {
    const r = await t.ok({ url: `http://[::ffff:127.0.0.1]:${port}/echo` });
    assert.equal(json(r).headers.host, `[::ffff:7f00:1]:${port}`);
    assert.equal(hits(), 1);
  });
});

// --- refused addresses --------------------------------------------------------

Deno.test("net.fetch: loopback refused (EPERM) without an allowing CIDR; nothing connects", async () => {
  const t = setup();
  await withServer(async (base, hits) => {
    const msg = await t.fails({ url: `${base}/echo` }, "EPERM");
    assert.match(msg, /loopback/);
    assert.equal(hits(), 0);
    assert.equal(t.decided.length, 0);
  });
});

Deno.test("net.fetch: every numeric spelling of a non-public address is refused", async () => {
  const none = setup();
  const only127 = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (_base, hits, port) => {
    const forms = [
      "2130706433",
      "0x7f000001",
      "0177.0.0.1",
      "127.1",
      "[::1]",
      "[::ffff:127.0.0.1]",
      "[64:ff9b::7f00:1]",
      "0.0.0.0",
      "169.254.169.254",
      "[::ffff:169.254.169.254]",
      "10.0.0.1",
      "[fd00:ec2::254]",
      "0",
    ];
    for (const host of forms) await none.fails({ url: `http://${host}:${port}/` }, "EPERM");
    // Allowing 127.0.0.1 alone opens none of the other loopback or embedded forms.
    for (const host of ["[::1]", "[64:ff9b::7f00:1]", "0.0.0.0", "127.0.0.2", "169.254.169.254", "[::]"]) {
      await only127.fails({ url: `http://${host}:${port}/` }, "EPERM");
    }
    assert.equal(hits(), 0);
    assert.equal(none.decided.length + only127.decided.length, 0);
  });
});

Deno.test("net.fetch: names resolving to private or mixed addresses are refused before any connection", async () => {
  await withServer(async (_base, hits, port) => {
    for (
      const answer of [
        [v4(10, 0, 0, 1)],
        [v4(127, 0, 0, 1)],
        [v4(93, 184, 216, 34), v4(10, 0, 0, 1)],
        [v4(93, 184, 216, 34), Uint8Array.of(0xfe, 0x80, ...new Uint8Array(13), 1)],
      ]
    ) {
      let calls = 0;
      const t = setup({ resolve: () => (calls++, Promise.resolve(answer)) });
      await t.fails({ url: `http://svc.internal.test:${port}/` }, "EPERM");
      assert.equal(calls, 1);
      assert.equal(t.decided.length, 0);
    }
    assert.equal(hits(), 0);
  });
});

Deno.test("net.fetch: DNS failure is ENOENT, an empty answer too", async () => {
  const t = setup();
  await t.fails({ url: "http://nx.test/" }, "ENOENT");
  const empty = setup({ resolve: () => Promise.resolve([]) });
  await empty.fails({ url: "http://nx.test/" }, "ENOENT");
});

Deno.test("net.fetch: DNS rebinding cannot move the connection (one lookup per hop, pinned address)", async () => {
  const names: string[] = [];
  const t = setup({
    cidrs: ["127.0.0.1/32"],
    resolve: (name) => {
      names.push(name);
      // First answer passes; any later lookup would point elsewhere.
      return Promise.resolve([names.length === 1 ? v4(127, 0, 0, 1) : v4(127, 0, 0, 2)]);
    },
  });
  await withServer(async (_base, hits, port) => {
    const r = await t.ok({ url: `http://rebind.test:${port}/echo` });
    assert.equal(json(r).headers.host, `rebind.test:${port}`);
    assert.deepEqual(names, ["rebind.test"]);
    assert.equal(t.decided[0].host, "rebind.test");
    assert.deepEqual(t.decided[0].addr, v4(127, 0, 0, 1));
    assert.equal(hits(), 1);
    // A redirect to another name is a new hop: one more lookup, whose (rebound) answer is refused.
    const to = encodeURIComponent(`http://again.test:${port}/echo`);
    await t.fails({ url: `http://127.0.0.1:${port}/redirect?to=${to}` }, "EPERM");
    assert.deepEqual(names, ["rebind.test", "again.test"]);
    assert.equal(hits(), 2);
  });
});

Deno.test("net.fetch: a policy that mutates the address it is shown cannot redirect the connection", async () => {
  const t = setup({
    cidrs: ["127.0.0.1/32"],
    decide: (req) => {
      req.addr[3] = 2;
      return null;
    },
  });
  await withServer(async (base, hits) => {
    assert.equal((await t.ok({ url: `${base}/echo` })).status, 200);
    assert.equal(hits(), 1);
  });
});

// --- redirects ----------------------------------------------------------------

Deno.test("net.fetch: redirects are followed, counted, and 303 turns POST into a bodiless GET", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (base) => {
    const r = await t.ok({ url: `${base}/redirect?to=${encodeURIComponent("/redirect?code=301&to=/echo")}` });
    assert.equal(r.redirects, 2);
    assert.equal(r.url, `${base}/echo`);
    const see = json(await t.ok({ url: `${base}/redirect?code=303&to=/echo`, method: "POST", body: "x" }));
    assert.equal(see.method, "GET");
    assert.equal(see.body, "");
    const keep = json(await t.ok({ url: `${base}/redirect?code=307&to=/echo`, method: "POST", body: "kept" }));
    assert.equal(keep.method, "POST");
    assert.equal(keep.body, "kept");
    const manual = await t.ok({ url: `${base}/redirect?to=/echo`, redirect: "manual" });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.location, "/echo");
    assert.equal(manual.redirects, 0);
    assert.equal(t.decided.length, 2 + 1 + 1 + 1 + 1 + 1 + 1);
  });
});

Deno.test("net.fetch: a redirect to a loopback service that is not allowed is refused", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (base, hits, port) => {
    for (
      const to of [
        `http://[::1]:${port}/echo`,
        `http://127.0.0.2:${port}/echo`,
        `http://0x7f000002:${port}/echo`,
        `http://169.254.169.254/latest/meta-data/`,
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1/",
      ]
    ) {
      await t.fails({ url: `${base}/redirect?to=${encodeURIComponent(to)}` }, "EPERM");
    }
    assert.equal(hits(), 6);
  });
});

Deno.test("net.fetch: more than redirectsMax redirects is EPERM", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"], deps: { redirectsMax: 3 } });
  await withServer(async (base, hits) => {
    assert.match(await t.fails({ url: `${base}/loop` }, "EPERM"), /more than 3 redirects/);
    assert.equal(hits(), 4);
  });
});

Deno.test("net.fetch: a cross-origin redirect drops the agent's credentials", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (other) => {
    await withServer(async (base) => {
      const headers = { authorization: "Bearer s3cret", "x-keep": "1" };
      const same = json(await t.ok({ url: `${base}/redirect?to=/echo`, headers }));
      assert.equal(same.headers.authorization, "Bearer s3cret");
      const cross = json(await t.ok({ url: `${base}/redirect?to=${encodeURIComponent(`${other}/echo`)}`, headers }));
      assert.equal(cross.headers.authorization, undefined);
      assert.equal(cross.headers["x-keep"], "1");
    });
  });
});

// --- bounds and failures ------------------------------------------------------

Deno.test("net.fetch: responses over maxResponseBytes are E2BIG (length, chunked, read-to-close)", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"], deps: { responseBytesMax: 50_000 } });
  await withServer(async (base) => {
    await t.fails({ url: `${base}/big`, maxResponseBytes: 1000 }, "E2BIG");
    await t.fails({ url: `${base}/bigchunked`, maxResponseBytes: 1000 }, "E2BIG");
    // The host ceiling wins over a larger ask.
    await t.fails({ url: `${base}/big?n=60000`, maxResponseBytes: 1_000_000 }, "E2BIG");
  });
  const body = "x".repeat(3000);
  await withRawServer(replyRaw(`HTTP/1.1 200 OK\r\n\r\n${body}`), async (base) => {
    await t.fails({ url: `${base}/`, maxResponseBytes: 2000 }, "E2BIG");
  });
});

Deno.test("net.fetch: a server that never answers is ETIMEDOUT, and so is a hung resolver", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withRawServer(async (conn) => await readRequestHead(conn), async (base, accepted) => {
    await t.fails({ url: `${base}/`, timeoutMs: 300 }, "ETIMEDOUT");
    assert.equal(accepted(), 1);
  });
  const hung = setup({ resolve: () => new Promise(() => {}) });
  await hung.fails({ url: "http://hang.test/", timeoutMs: 200 }, "ETIMEDOUT");
});

Deno.test("net.fetch: malformed responses are EIO, a closed port is EIO, TLS to plain HTTP is EIO", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  const bad = [
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
    "HTTP/1.1 200 OK\nX-A: 1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "HTTP/2 200\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  ];
  for (const reply of bad) {
    await withRawServer(replyRaw(reply), async (base) => {
      const msg = await t.fails({ url: `${base}/` }, "EIO");
      assert.match(msg, /bad HTTP response/);
    });
  }
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = probe.addr.port;
  probe.close();
  assert.match(await t.fails({ url: `http://127.0.0.1:${closedPort}/` }, "EIO"), /connection refused/);
  await withServer(async (_base, _hits, port) => {
    await t.fails({ url: `https://127.0.0.1:${port}/echo`, timeoutMs: 3000 }, "EIO");
  });
});

Deno.test("net.fetch: missing capability is EACCES and nothing connects", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"], caps: [] });
  await withServer(async (base, hits) => {
    await t.fails({ url: `${base}/echo` }, "EACCES");
    assert.equal(hits(), 0);
  });
});

Deno.test("net.fetch: bad URLs and bad arguments are EINVAL", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"] });
  await withServer(async (base, hits) => {
    for (
      const url of [
        "file:///etc/passwd",
        "ftp://x",
        "http://user:pw@127.0.0.1/",
        "http://user@127.0.0.1/",
        "not a url",
        "http://127.0.0.1:0/",
        "javascript:alert(1)",
        "http://[fe80::1%25eth0]/",
        "http://a..b/",
        `http://${"a".repeat(9000)}/`,
      ]
    ) {
      await t.fails({ url }, "EINVAL");
    }
    for (
      const headers of [
        { Host: "evil.test" },
        { "Transfer-Encoding": "chunked" },
        { "content-length": "0" },
        { Connection: "keep-alive" },
        { Upgrade: "websocket" },
        { "X-A": "a\r\nX-Injected: 1" },
        { "bad name": "x" },
        { "X-A": "1", "x-a": "2" },
      ]
    ) {
      await t.fails({ url: `${base}/echo`, headers }, "EINVAL");
    }
    await t.fails({ url: `${base}/echo`, body: "x" }, "EINVAL");
    await t.fails({ url: `${base}/echo`, method: "POST", body: "x", bodyBase64: "eA==" }, "EINVAL");
    await t.fails({ url: `${base}/echo`, method: "POST", bodyBase64: "%%%" }, "EINVAL");
    await t.fails({ url: `${base}/echo`, method: "TRACE" }, "EINVAL");
    await t.fails({ url: `${base}/echo`, extra: 1 }, "EINVAL");
    assert.equal(hits(), 0);
  });
  const small = setup({ cidrs: ["127.0.0.1/32"], deps: { requestBytesMax: 10 } });
  await small.fails({ url: "http://127.0.0.1:1/", method: "POST", body: "x".repeat(11) }, "E2BIG");
});

Deno.test("net.fetch: decide's EPERM and EAGAIN are honoured before connecting", async () => {
  await withServer(async (base, hits, port) => {
    const deny = setup({ cidrs: ["127.0.0.1/32"], decide: (r) => r.method === "DELETE" ? "EPERM" : null });
    await deny.fails({ url: `${base}/echo`, method: "DELETE" }, "EPERM");
    assert.equal((await deny.ok({ url: `${base}/echo` })).status, 200);
    const rate = setup({ cidrs: ["127.0.0.1/32"], decide: () => "EAGAIN" });
    await rate.fails({ url: `${base}/echo` }, "EAGAIN");
    assert.deepEqual(rate.decided, [{ host: "127.0.0.1", addr: v4(127, 0, 0, 1), port, method: "GET" }]);
    assert.equal(hits(), 1);
  });
  await delay(0);
});

Deno.test("net.fetch: calls in flight are bounded per agent (EAGAIN) and released after", async () => {
  const t = setup({ cidrs: ["127.0.0.1/32"], deps: { fetchesPerAgentMax: 2 } });
  await withRawServer(async (conn) => await readRequestHead(conn), async (base, accepted) => {
    const hung = [t.call({ url: `${base}/`, timeoutMs: 300 }), t.call({ url: `${base}/`, timeoutMs: 300 })];
    await t.fails({ url: `${base}/` }, "EAGAIN");
    for (const done of await Promise.all(hung)) assert.equal(done.ok ? "ok" : done.error.code, "ETIMEDOUT");
    assert.equal(accepted(), 2);
  });
  await withServer(async (base) => assert.equal((await t.ok({ url: `${base}/echo` })).status, 200));
});

Deno.test("net.fetch: an address the Deno layer does not allow is EPERM without host details", async () => {
  const t = setup({ cidrs: ["127.0.0.0/8"] });
  const state = Deno.permissions.querySync({ name: "net", host: "127.0.0.2:9" }).state;
  if (state === "granted") return; // run with a wider --allow-net: nothing to observe here
  const msg = await t.fails({ url: "http://127.0.0.2:9/" }, "EPERM");
  assert.equal(
    msg,
    "net.fetch: egress to this address is not enabled on this server: " +
      "the server must be started with AGENTOS_EGRESS_HOSTS listing the destination (its network allowlist)",
  );
});

Deno.test("net.fetch: https connects to the checked IP but verifies the certificate against the name", async () => {
  const dir = new URL("./fixtures/", import.meta.url);
  const read = (f: string) => Deno.readTextFileSync(new URL(f, dir));
  const ca = read("test_ca.pem");
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: read("test_leaf.pem"), key: read("test_leaf.key"), onListen: () => {} },
    (req) => new Response(`tls ok ${new URL(req.url).host}`),
  );
  const port = server.addr.port;
  try {
    const resolve = () => Promise.resolve([v4(127, 0, 0, 1)]);
    const t = setup({ cidrs: ["127.0.0.1/32"], resolve, deps: { caCerts: [ca] } });
    const r = await t.ok({ url: `https://tls.test:${port}/` });
    assert.equal(text(r), `tls ok tls.test:${port}`);
    assert.equal(text(await t.ok({ url: `https://127.0.0.1:${port}/` })), `tls ok 127.0.0.1:${port}`);
    // Same address, a name the certificate does not cover: refused by verification.
    assert.match(await t.fails({ url: `https://other.test:${port}/` }, "EIO"), /TLS/);
    // Without the private CA the chain does not verify.
    const noCa = setup({ cidrs: ["127.0.0.1/32"], resolve });
    assert.match(await noCa.fails({ url: `https://tls.test:${port}/` }, "EIO"), /TLS/);
  } finally {
    await server.shutdown();
  }
});
