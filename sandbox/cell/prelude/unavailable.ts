/**
 * Prelude part: host APIs no syscall serves (programs, environment,
 * sockets, servers, DNS, FFI, KV, WebSocket) answer with
 * `Deno.errors.NotCapable` saying what the sandbox offers instead, never
 * Deno's "run again with the --allow-… flag" (a flag no agent can pass).
 * Shipped as source: it must not close over anything in this module.
 *
 * @module
 */

/** Replace each unavailable host API with one that throws what to use instead. */
export function preludeUnavailable(): void {
  const g = globalThis as unknown as Record<string, unknown> & {
    Deno: Record<string, unknown> & { errors: { NotCapable: new (message: string) => Error } };
  };
  const NotCapable = g.Deno.errors.NotCapable;
  const refuse = (name: string, instead: string) =>
    function unavailable(): never {
      throw new NotCapable(`${name} is not available in the sandbox: ${instead}`);
    };
  const network = 'the network is fetch (net.fetch): spawn with capabilities ["net.fetch"]';
  const apis: [string, string][] = [
    ["Command", "agents run no programs; sys.proc.spawn starts a child agent"],
    ["run", "agents run no programs; sys.proc.spawn starts a child agent"],
    ["connect", network],
    ["connectTls", network],
    ["startTls", network],
    ["listen", "agents accept no connections; use sys.ipc (pipes, queues) between agents"],
    ["listenTls", "agents accept no connections; use sys.ipc (pipes, queues) between agents"],
    ["listenDatagram", "agents accept no connections; use sys.ipc (pipes, queues) between agents"],
    ["serve", "agents accept no connections; use sys.ipc (pipes, queues) between agents"],
    ["resolveDns", "fetch resolves names itself (the kernel checks every address)"],
    ["dlopen", "no native code runs in the sandbox"],
    ["openKv", "keep data in files of the workspace or a volume (Deno.writeTextFile)"],
  ];
  const lock = (target: object, key: string, value: unknown) => {
    try {
      Object.defineProperty(target, key, { value, writable: false, configurable: false });
    } catch { /* already locked */ }
  };
  for (const [key, instead] of apis) lock(g.Deno, key, refuse(`Deno.${key}`, instead));
  const noEnv = refuse("Deno.env", "agents see no environment; pass settings in the code or in files");
  lock(g.Deno, "env", Object.freeze({ get: noEnv, set: noEnv, has: noEnv, delete: noEnv, toObject: noEnv }));
  for (const key of ["WebSocket", "WebSocketStream", "EventSource"]) {
    lock(globalThis, key, refuse(key, "use fetch (net.fetch) for HTTP requests"));
  }
}
