/**
 * Prelude part: lock down what `permissions: "none"` leaves reachable in
 * the Worker (DESIGN §1) and make the host's identity neutral. Shipped as
 * source: it must not close over anything in this module.
 *
 * @module
 */

/** Throw-on-use stand-in for a host API. */
export function preludeDenied(name: string): () => never {
  return () => {
    throw new TypeError(`${name} is not available inside the sandbox`);
  };
}

/** Remove or replace `Deno.kill`, signal listeners, raw stdio, internals, nested Workers, `caches`, … */
export function preludeLockdown(): void {
  const g = globalThis as unknown as Record<string, unknown> & {
    Deno: Record<PropertyKey, unknown>;
    process?: Record<string, unknown>;
    navigator?: Record<string, unknown>;
  };
  const lock = (target: object, key: PropertyKey, descriptor: PropertyDescriptor) => {
    try {
      Object.defineProperty(target, key, { ...descriptor, configurable: false });
    } catch { /* already locked */ }
  };
  for (const key of ["kill", "addSignalListener", "removeSignalListener", "stdin", "stdout", "stderr", "exit"]) {
    lock(g.Deno, key, { get: preludeDenied(`Deno.${key}`) });
  }
  for (const key of ["chdir", "umask"]) lock(g.Deno, key, { get: preludeDenied(`Deno.${key}`) });
  // Runtime internals (`Deno[Deno.internal].core` reaches raw ops such as
  // writes to the cell's stdio): gone before agent code runs.
  const internal = g.Deno.internal;
  if (typeof internal === "symbol") lock(g.Deno, internal, { get: preludeDenied("Deno internals") });
  // A nested Worker would start with a fresh, unlocked global.
  for (const key of ["caches", "BroadcastChannel", "SharedWorker", "Worker"]) {
    lock(globalThis, key, { get: preludeDenied(key) });
  }
  if (g.navigator) lock(g.navigator, "locks", { get: preludeDenied("navigator.locks") });
  if (g.process) {
    for (const key of ["kill", "exit", "abort", "reallyExit", "on", "once", "addListener", "prependListener"]) {
      lock(g.process, key, { value: preludeDenied(`process.${key}`) });
    }
    for (const key of ["stdin", "stdout", "stderr"]) lock(g.process, key, { get: preludeDenied(`process.${key}`) });
  }
}

/**
 * Paths and pids of the cell process are nobody's business: the agent sees
 * its kernel pid and parent (`identity`, set at start) and a neutral cwd.
 * `process.pid`, `ppid` and `execPath` are fixed getters of the runtime, so
 * the global `process` becomes a view that answers them neutrally.
 */
export function preludeNeutralIdentity(identity: { pid: number; ppid: number }): void {
  const g = globalThis as unknown as Record<string, unknown> & { Deno: object; process?: object };
  const neutral: [string, PropertyDescriptor][] = [
    ["cwd", { value: () => "/workspace" }],
    ["execPath", { value: preludeDenied("Deno.execPath") }],
    ["pid", { get: () => identity.pid }],
    ["ppid", { get: () => identity.ppid }],
  ];
  for (const [key, descriptor] of neutral) {
    try {
      Object.defineProperty(g.Deno, key, { ...descriptor, configurable: false });
    } catch { /* not configurable: left as the runtime made it */ }
  }
  if (!g.process) return;
  const shadow: Record<string, () => unknown> = {
    pid: () => identity.pid,
    ppid: () => identity.ppid,
    execPath: () => "deno",
    argv: () => ["deno"],
    argv0: () => "deno",
    execArgv: () => [],
    title: () => "agent",
    cwd: () => () => "/workspace",
  };
  const view = new Proxy(g.process, {
    get: (target, key) => Object.hasOwn(shadow, key) ? shadow[key as string]() : Reflect.get(target, key, target),
  });
  try {
    Object.defineProperty(globalThis, "process", { value: view, configurable: false, writable: false });
  } catch { /* already locked */ }
}
