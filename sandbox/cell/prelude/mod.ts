/**
 * Trusted code that runs first inside the agent's Worker, shipped as one
 * script built from the source of each part (`preludeScript`): it locks
 * down what `permissions: "none"` leaves reachable (DESIGN §1), neutralises
 * the host's identity, installs the `sys` SDK, the captured `console` and
 * the standard APIs over syscalls (global `fetch`, `Deno.readTextFile` and
 * the other file APIs), and then imports the agent's module from memory. No part closes over
 * anything outside itself.
 *
 * @module
 */

import {
  type PreludeChannel,
  preludeChannel,
  type PreludeConfig,
  preludeGuardPost,
  preludeRelayCredit,
  preludeSysError,
} from "./channel.ts";
import {
  preludeConsole,
  preludeConsoleCounters,
  preludeConsoleFormat,
  preludeConsoleTable,
  preludeConsoleWrite,
  preludeTableCell,
  preludeTableRender,
} from "./console.ts";
import { preludeDenied, preludeLockdown, preludeNeutralIdentity } from "./lockdown.ts";
import { type PreludeModule, preludeModuleLoader, preludeModules, preludeShims } from "./modules.ts";
import { preludeRepl } from "./repl.ts";
import { preludeNodeFsCallbacks, preludeNodeFsPromises, preludeNodeFsSources } from "./node_fs.ts";
import { preludeUnavailable } from "./unavailable.ts";
import { preludeDescribe, preludeListen, preludeMessageTurn, preludeRun, preludeTimers } from "./start.ts";
import {
  preludeDenoError,
  preludeDenoFs,
  preludeDenoFsApis,
  preludeDenoFsUnsupported,
  preludeDenoReadDir,
  preludeDenoWrite,
  preludeFileInfo,
  preludeReadAll,
  preludeWorkspacePath,
} from "./std_deno_fs.ts";
import { preludeFetch, preludeFetchDropped, preludeFetchReadBody, preludeFetchResponse } from "./std_fetch.ts";
import { preludeSys, preludeSysFs, preludeSysIpc, preludeSysNet, preludeSysProc } from "./sys.ts";

export type { PreludeChannel, PreludeConfig, PreludeModule };

/** Installs the sandbox inside the worker; called with its config only. */
export function agentPrelude(config: PreludeConfig): void {
  const identity = { pid: 0, ppid: 0 };
  preludeLockdown();
  preludeNeutralIdentity(identity);
  const ch = preludeChannel(config);
  preludeGuardPost(ch);
  const signals: ((sig: string) => void)[] = [];
  const sys = preludeSys(ch, signals);
  Object.defineProperty(globalThis, "sys", { value: sys, enumerable: false, configurable: false, writable: false });
  preludeConsole(ch, config.outputFrameCharsMax);
  preludeFetch(ch, config.frameBytesMax);
  preludeDenoFs(ch);
  preludeUnavailable();
  const linker = preludeModules(ch.call, { countMax: config.moduleCountMax, bytesMax: config.moduleGraphBytesMax });
  preludeListen(ch, linker, identity, signals);
  // Pay the first blob module import now, not on the agent's clock.
  const warm = URL.createObjectURL(new Blob(["export default 0"], { type: "text/javascript" }));
  import(warm).then(() => ch.post({ t: "ready" }), () => ch.post({ t: "ready" }));
}

/** Every part, in the order the script declares them. */
const parts: ((...args: never[]) => unknown)[] = [
  preludeDenied,
  preludeLockdown,
  preludeNeutralIdentity,
  preludeRelayCredit,
  preludeSysError,
  preludeChannel,
  preludeGuardPost,
  preludeSysFs,
  preludeSysProc,
  preludeSysIpc,
  preludeSysNet,
  preludeSys,
  preludeConsoleFormat,
  preludeTableRender,
  preludeTableCell,
  preludeConsoleTable,
  preludeConsoleWrite,
  preludeConsoleCounters,
  preludeConsole,
  preludeModuleLoader,
  preludeNodeFsPromises,
  preludeNodeFsCallbacks,
  preludeNodeFsSources,
  preludeShims,
  preludeModules,
  preludeFetchDropped,
  preludeFetchReadBody,
  preludeFetchResponse,
  preludeFetch,
  preludeDenoError,
  preludeWorkspacePath,
  preludeReadAll,
  preludeFileInfo,
  preludeDenoWrite,
  preludeDenoFsUnsupported,
  preludeDenoReadDir,
  preludeDenoFsApis,
  preludeDenoFs,
  preludeUnavailable,
  preludeDescribe,
  preludeTimers,
  preludeMessageTurn,
  preludeRun,
  preludeRepl,
  preludeListen,
  agentPrelude,
];

/**
 * The prelude as one module script: every part's source, then the call.
 *
 * @example
 * ```ts
 * const source = preludeScript({ frameBytesMax: 8 << 20, batchCallsMax: 4096 });
 * ```
 */
export function preludeScript(config: PreludeConfig): string {
  return `${parts.map((part) => part.toString()).join("\n")}\nagentPrelude(${JSON.stringify(config)});\n`;
}
