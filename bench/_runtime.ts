/**
 * A started runtime over a throw-away data dir, for the benches that run
 * agents in-process.
 *
 * @module
 */

import { Runtime } from "../sandbox/mod.ts";

/**
 * Run `fn` against a started runtime with a warm pool of `poolSize`; closes it and removes its data dir after.
 *
 * @example
 * ```ts
 * await withRuntime(2, async (runtime) => await runtime.run({ code: "export default () => 1" }));
 * ```
 */
export async function withRuntime<T>(poolSize: number, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-bench-" });
  const runtime = new Runtime({ dataDir, poolSize });
  try {
    await runtime.start();
    return await fn(runtime);
  } finally {
    await runtime.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}
