/**
 * Benchmark runner behind `deno task bench`: discovers every `bench/*.ts`
 * except itself, runs each as `deno run -A <file> [--quick]` one after the
 * other with stdout and stderr streamed through, then prints a summary and
 * exits non-zero if any benchmark failed.
 *
 *     deno task bench [--quick] [name ...]
 *
 * A bare `name` keeps only the benchmarks whose file name contains it
 * (`deno task bench --quick foundation`). The longest is `soak` (5,000
 * agents through a server process; tens of minutes on 2 cores, `--quick`:
 * 600), so `deno task bench soak` runs it alone.
 *
 * @module
 */

const benchDir = new URL(".", import.meta.url);
const repoRoot = new URL("..", import.meta.url);
const self = new URL(import.meta.url).pathname.split("/").pop()!;

/** The benchmark files to run, sorted by name. */
async function discover(filters: string[]): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(benchDir)) {
    if (!entry.isFile || !entry.name.endsWith(".ts") || entry.name === self || entry.name.startsWith("_")) continue;
    if (filters.length > 0 && !filters.some((f) => entry.name.includes(f))) continue;
    names.push(entry.name);
  }
  return names.sort();
}

interface Outcome {
  name: string;
  code: number;
  seconds: number;
}

/** Run one benchmark with inherited stdio; resolves to its exit status. */
async function runOne(name: string, quick: boolean): Promise<Outcome> {
  const file = new URL(name, benchDir).pathname;
  const t0 = performance.now();
  let code: number;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", file, ...(quick ? ["--quick"] : [])],
      cwd: repoRoot.pathname,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    code = (await child.status).code;
  } catch (err) {
    console.error(`bench/${name}: could not start: ${err}`);
    code = 127;
  }
  return { name, code, seconds: (performance.now() - t0) / 1000 };
}

async function main(): Promise<number> {
  const quick = Deno.args.includes("--quick");
  const filters = Deno.args.filter((a) => !a.startsWith("--"));
  const names = await discover(filters);
  if (names.length === 0) {
    console.error(`no benchmarks found in ${benchDir.pathname}${filters.length ? ` matching ${filters}` : ""}`);
    return 1;
  }
  const outcomes: Outcome[] = [];
  for (const name of names) {
    console.log(`\n<!-- bench/${name}${quick ? " --quick" : ""} -->`);
    outcomes.push(await runOne(name, quick));
  }
  console.log("\n### Benchmark runs\n");
  console.log("| benchmark | status | seconds |");
  console.log("| --- | --- | ---: |");
  for (const o of outcomes) {
    console.log(`| bench/${o.name} | ${o.code === 0 ? "ok" : `FAILED (exit ${o.code})`} | ${o.seconds.toFixed(1)} |`);
  }
  const failed = outcomes.filter((o) => o.code !== 0);
  if (failed.length > 0) {
    console.error(
      `\n${failed.length} of ${outcomes.length} benchmarks failed: ${failed.map((o) => o.name).join(", ")}`,
    );
    return 1;
  }
  return 0;
}

Deno.exit(await main());
