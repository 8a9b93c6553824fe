/**
 * Shared test helpers: a real runtime over a throw-away data directory, and
 * guest fixtures read from `tests/fixtures/guests/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Runtime, type RuntimeOptions } from "../sandbox/runtime.ts";

/** Source of a guest fixture. */
export function guest(name: string): string {
  return Deno.readTextFileSync(new URL(`./fixtures/guests/${name}`, import.meta.url));
}

/** Run `fn` against a started runtime; closes it and removes the data dir after. */
export async function withRuntime(
  fn: (runtime: Runtime, dataDir: string) => Promise<void>,
  options: Partial<RuntimeOptions> = {},
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "agentos-test-" });
  const runtime = new Runtime({ dataDir, poolSize: 2, ...options });
  await runtime.start();
  try {
    await fn(runtime, dataDir);
  } finally {
    await runtime.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Assert the kernel holds nothing for `pid` and no workspace is left behind. */
export async function assertNothingHeld(runtime: Runtime, dataDir: string, pid: number): Promise<void> {
  assert.equal(runtime.orchestrator.held(pid), 0, `pid ${pid} still holds resources`);
  assert.equal(runtime.table.get(pid), undefined, `pid ${pid} still in the process table`);
  const left: string[] = [];
  for await (const entry of Deno.readDir(`${dataDir}/workspaces`)) {
    if (entry.name.startsWith(`${pid}-`)) left.push(entry.name);
  }
  assert.deepEqual(left, [], `workspace of pid ${pid} left on disk`);
  assert.equal(runtime.ipc.heldBy(pid), 0, `pid ${pid} still holds IPC objects`);
  assert.equal(runtime.arena.usageOfPid(pid), 0, `pid ${pid} still holds arena bytes`);
}
