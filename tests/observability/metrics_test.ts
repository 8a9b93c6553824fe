import assert from "node:assert/strict";
import {
  escapeLabelValue,
  exponentialBuckets,
  parsePrometheusText,
  PromParseError,
  Registry,
  sampleValue,
  seriesDroppedMetricName,
  seriesPerMetricMax,
} from "../../observability/mod.ts";

function sampleRegistry(): Registry {
  const registry = new Registry();
  const calls = registry.counter(
    "agentos_syscalls_total",
    "Syscalls served, by call and result.",
    ["tenant", "call", "result"],
  );
  calls.inc({ tenant: "t1", call: "fs.read", result: "ok" });
  calls.inc({ tenant: "t1", call: "fs.read", result: "ok" }, 4);
  calls.inc({ tenant: "t2", call: "net.fetch", result: "EACCES" });
  const agents = registry.gauge("agentos_agents_running", "Agents running.", [
    "tenant",
  ]);
  agents.set({ tenant: "t1" }, 3);
  agents.inc({ tenant: "t2" }, 2);
  agents.inc({ tenant: "t2" }, -1);
  const latency = registry.histogram(
    "agentos_syscall_latency_seconds",
    "Syscall latency in seconds.",
    ["tenant"],
    [0.001, 0.01, 0.1, 1],
  );
  for (const v of [0.0005, 0.001, 0.002, 0.05, 0.05, 3]) {
    latency.observe({ tenant: "t1" }, v);
  }
  registry.gauge("agentos_ring_slots", "Event ring slots.").set(65_536);
  return registry;
}

Deno.test("metrics: exposition parses strictly and carries HELP/TYPE", () => {
  const text = sampleRegistry().expose();
  const families = parsePrometheusText(text);
  assert.equal(families.get("agentos_syscalls_total")?.type, "counter");
  assert.equal(
    families.get("agentos_syscalls_total")?.help,
    "Syscalls served, by call and result.",
  );
  assert.equal(families.get("agentos_agents_running")?.type, "gauge");
  assert.equal(
    families.get("agentos_syscall_latency_seconds")?.type,
    "histogram",
  );
  assert.equal(families.get(seriesDroppedMetricName)?.type, "counter");
  assert.equal(
    sampleValue(families, "agentos_syscalls_total", {
      call: "fs.read",
      result: "ok",
    }),
    5,
  );
  assert.equal(
    sampleValue(families, "agentos_agents_running", { tenant: "t2" }),
    1,
  );
  assert.equal(sampleValue(families, "agentos_ring_slots"), 65_536);
  assert.ok(
    text.includes(
      'agentos_syscalls_total{tenant="t1",call="fs.read",result="ok"} 5\n',
    ),
  );
  assert.ok(text.endsWith("\n"));
});

Deno.test("metrics: histogram buckets are cumulative with +Inf == count", () => {
  const families = parsePrometheusText(sampleRegistry().expose());
  const bucket = (le: string) =>
    sampleValue(families, "agentos_syscall_latency_seconds_bucket", {
      tenant: "t1",
      le,
    });
  assert.equal(bucket("0.001"), 2); // le is inclusive
  assert.equal(bucket("0.01"), 3);
  assert.equal(bucket("0.1"), 5);
  assert.equal(bucket("1"), 5);
  assert.equal(bucket("+Inf"), 6);
  assert.equal(
    sampleValue(families, "agentos_syscall_latency_seconds_count"),
    6,
  );
  const sum = sampleValue(families, "agentos_syscall_latency_seconds_sum")!;
  assert.ok(Math.abs(sum - 3.1035) < 1e-12);
  assert.deepEqual(exponentialBuckets(1, 10, 3), [1, 10, 100]);
});

Deno.test("metrics: label cardinality is bounded and drops are counted", () => {
  const registry = new Registry();
  const c = registry.counter("x_total", "x.", ["id"]);
  for (let i = 0; i < seriesPerMetricMax + 250; i++) c.inc({ id: String(i) });
  c.inc({ id: "0" }); // existing series still update
  assert.equal(c.seriesCount, seriesPerMetricMax);
  assert.equal(registry.seriesDropped, 250);
  const bound = c.labels({ id: "new" });
  bound.inc();
  bound.inc(2);
  assert.equal(registry.seriesDropped, 252);
  const h = registry.histogram("h_seconds", "h.", ["id"], [1]);
  for (let i = 0; i < seriesPerMetricMax + 1; i++) {
    h.observe({ id: String(i) }, 0.5);
  }
  const families = parsePrometheusText(registry.expose());
  assert.equal(
    sampleValue(families, seriesDroppedMetricName, { metric: "x_total" }),
    252,
  );
  assert.equal(
    sampleValue(families, seriesDroppedMetricName, { metric: "h_seconds" }),
    1,
  );
  assert.equal(sampleValue(families, "x_total", { id: "0" }), 2);
});

Deno.test("metrics: label values are escaped and round-trip", () => {
  const registry = new Registry();
  const nasty = 'C:\\path "quoted"\nnext line';
  registry.counter("esc_total", "Help with \\ and\nnewline.", ["v"]).inc({
    v: nasty,
  }, 1);
  const text = registry.expose();
  assert.ok(
    text.includes('esc_total{v="C:\\\\path \\"quoted\\"\\nnext line"} 1'),
  );
  assert.ok(text.includes("# HELP esc_total Help with \\\\ and\\nnewline."));
  const families = parsePrometheusText(text);
  assert.equal(families.get("esc_total")?.samples[0].labels.v, nasty);
  assert.equal(families.get("esc_total")?.help, "Help with \\ and\nnewline.");
  assert.equal(escapeLabelValue('a"b'), 'a\\"b');
});

Deno.test("metrics: tenant filter exposes only that tenant's series", () => {
  const text = sampleRegistry().expose({ tenant: "t1" });
  const families = parsePrometheusText(text);
  assert.equal(text.includes('tenant="t2"'), false);
  assert.equal(families.has("agentos_ring_slots"), false); // no tenant label
  assert.equal(families.has(seriesDroppedMetricName), false);
  assert.equal(
    sampleValue(families, "agentos_agents_running", { tenant: "t1" }),
    3,
  );
  assert.equal(families.get("agentos_syscalls_total")!.samples.length, 1);
  assert.equal(
    parsePrometheusText(sampleRegistry().expose({ tenant: "nobody" }))
      .get("agentos_syscalls_total")!.samples.length,
    0,
  );
});

Deno.test("metrics: names, labels and buckets are validated at registration", () => {
  const registry = new Registry();
  assert.throws(() => registry.counter("requests", "no suffix"), /_total/);
  assert.throws(
    () => registry.counter("1bad_total", "x"),
    /invalid metric name/,
  );
  assert.throws(
    () => registry.counter("bad-name_total", "x"),
    /invalid metric name/,
  );
  assert.throws(() => registry.gauge("g_total", "x"), /_total/);
  assert.throws(() => registry.gauge("g", "x", ["bad-label"]), /invalid label/);
  assert.throws(() => registry.gauge("g", "x", ["__reserved"]), /reserved/);
  assert.throws(() => registry.gauge("g", "x", ["a", "a"]), /duplicate/);
  assert.throws(() => registry.histogram("h", "x", ["le"], [1]), /le/);
  assert.throws(() => registry.histogram("h", "x", [], [2, 1]), /increasing/);
  assert.throws(() => registry.histogram("h", "x", [], []), /no buckets/);
  assert.throws(
    () => registry.histogram("h", "x", [], [1, Infinity]),
    /bucket/,
  );
  registry.histogram("h", "x", [], [1]);
  assert.throws(() => registry.gauge("h_count", "x"), /already registered/);
  assert.throws(
    () => registry.histogram("h", "x", [], [1]),
    /already registered/,
  );
  const c = registry.counter("c_total", "x", ["a"]);
  assert.throws(() => c.inc({ a: "1" }, -1), /increment/);
  assert.throws(() => c.inc(), /labels required/);
  assert.throws(() => c.inc({ b: "1" }), /missing label/);
  assert.throws(() => c.inc({ a: "1", b: "2" }), /unexpected labels/);
  registry.gauge("ok:name_with_colon", "x").set(1);
  assert.ok(parsePrometheusText(registry.expose()).has("ok:name_with_colon"));
});

Deno.test("metrics: unlabelled metrics expose 0, bound handles update", () => {
  const registry = new Registry();
  const c = registry.counter("events_total", "Events.");
  const h = registry.histogram("size_bytes", "Sizes in bytes.", [], [10, 100]);
  const g = registry.gauge("temp", "Temperature.", ["room"]).labels({
    room: "a",
  });
  let families = parsePrometheusText(registry.expose());
  assert.equal(sampleValue(families, "events_total"), 0);
  assert.equal(sampleValue(families, "size_bytes_bucket", { le: "+Inf" }), 0);
  c.labels().inc(3);
  h.labels().observe(50);
  h.observe(500);
  g.set(21);
  g.inc(-0.5);
  let collected = 0;
  registry.onCollect(() => collected++);
  families = parsePrometheusText(registry.expose());
  assert.equal(collected, 1);
  assert.equal(c.value(), 3);
  assert.equal(sampleValue(families, "size_bytes_bucket", { le: "100" }), 1);
  assert.equal(sampleValue(families, "size_bytes_count"), 2);
  assert.equal(sampleValue(families, "temp", { room: "a" }), 20.5);
  assert.throws(() => h.observe(NaN), /NaN/);
});

Deno.test("metrics: special values are formatted for the text format", () => {
  const registry = new Registry();
  const g = registry.gauge("v", "values", ["k"]);
  g.set({ k: "inf" }, Infinity);
  g.set({ k: "ninf" }, -Infinity);
  g.set({ k: "nan" }, NaN);
  g.set({ k: "big" }, 1e21);
  const families = parsePrometheusText(registry.expose());
  assert.equal(sampleValue(families, "v", { k: "inf" }), Infinity);
  assert.equal(sampleValue(families, "v", { k: "ninf" }), -Infinity);
  assert.ok(Number.isNaN(sampleValue(families, "v", { k: "nan" })));
  assert.equal(sampleValue(families, "v", { k: "big" }), 1e21);
});

const rejects: [string, string, RegExp][] = [
  ["no final newline", "# TYPE a gauge\na 1", /newline/],
  ["sample before TYPE", "a 1\n", /before its TYPE/],
  [
    "TYPE after sample",
    "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n",
    /interleaved/,
  ],
  ["second TYPE", "# TYPE a gauge\n# TYPE a gauge\n", /second TYPE/],
  ["second HELP", "# HELP a x\n# HELP a y\n", /second HELP/],
  ["bad type", "# TYPE a thing\n", /bad TYPE/],
  ["counter without _total", "# TYPE a counter\na 1\n", /_total/],
  ["negative counter", "# TYPE a_total counter\na_total -1\n", /counter/],
  ["bad value", "# TYPE a gauge\na one\n", /bad value/],
  ["hex value", "# TYPE a gauge\na 0x10\n", /bad value/],
  ["missing value", "# TYPE a gauge\na\n", /malformed/],
  ["extra token", "# TYPE a gauge\na 1 2 3\n", /malformed/],
  ["float timestamp", "# TYPE a gauge\na 1 2.5\n", /timestamp/],
  ["bad escape", '# TYPE a gauge\na{l="\\t"} 1\n', /escape/],
  ["unterminated label", '# TYPE a gauge\na{l="x} 1\n', /unterminated/],
  ["unquoted label", "# TYPE a gauge\na{l=x} 1\n", /expected/],
  ["duplicate label", '# TYPE a gauge\na{l="1",l="2"} 1\n', /duplicate label/],
  [
    "duplicate series",
    '# TYPE a gauge\na{l="1"} 1\na{l="1"} 2\n',
    /duplicate series/,
  ],
  ["interleaved", "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n", /interleaved/],
  ["carriage return", "# TYPE a gauge\r\na 1\r\n", /carriage/],
  [
    "non-monotone buckets",
    '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="2"} 3\nh_bucket{le="+Inf"} 5\nh_sum 1\nh_count 5\n',
    /cumulative/,
  ],
  [
    "le not increasing",
    '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    /increasing/,
  ],
  [
    "+Inf != count",
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    /_count/,
  ],
  [
    "no +Inf",
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    /\+Inf/,
  ],
  ["no _sum", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n', /_sum/],
  [
    "bucket without le",
    "# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n",
    /without le/,
  ],
  ["bare histogram name", "# TYPE h histogram\nh 1\n", /before its TYPE/],
];

for (const [name, text, pattern] of rejects) {
  Deno.test(`prom_parse: rejects ${name}`, () => {
    assert.throws(() => parsePrometheusText(text), (e: unknown) => {
      assert.ok(e instanceof PromParseError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  });
}

Deno.test("prom_parse: accepts comments, timestamps, blank lines, trailing commas", () => {
  const families = parsePrometheusText(
    '# a comment\n\n# HELP a A gauge.\n# TYPE a gauge\na{x="1",} 1.5e3 1700000000000\n' +
      '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n',
  );
  assert.equal(sampleValue(families, "a", { x: "1" }), 1500);
  assert.equal(families.get("a")?.samples[0].timestampMs, 1_700_000_000_000);
  assert.equal(sampleValue(families, "s_count"), 3);
  assert.equal(parsePrometheusText("").size, 0);
});
