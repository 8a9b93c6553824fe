/**
 * The agent lifecycle: states, the explicit transition table and exit reasons.
 *
 * ```
 * Creating → Initializing → Ready ⇄ Running → Exiting → Zombie → Reaped
 *     └──────────┴────────────┴───────────────┘ (any live state may start Exiting)
 * ```
 *
 * @module
 */

/** Every state a process passes through. */
export type ProcState =
  | "Creating"
  | "Initializing"
  | "Ready"
  | "Running"
  | "Exiting"
  | "Zombie"
  | "Reaped";

/** The closed set of reasons an agent stops, exactly one per exit. */
export type ExitReason =
  | "exit"
  | "error"
  | "killed"
  | "timeout"
  | "cpu"
  | "memory"
  | "output"
  | "crash";

/** All exit reasons, for validation and metrics. */
export const exitReasons: readonly ExitReason[] = [
  "exit",
  "error",
  "killed",
  "timeout",
  "cpu",
  "memory",
  "output",
  "crash",
];

/** All states, in lifecycle order. */
export const procStates: readonly ProcState[] = [
  "Creating",
  "Initializing",
  "Ready",
  "Running",
  "Exiting",
  "Zombie",
  "Reaped",
];

const transitions: Readonly<Record<ProcState, readonly ProcState[]>> = {
  Creating: ["Initializing", "Exiting"],
  Initializing: ["Ready", "Exiting"],
  Ready: ["Running", "Exiting"],
  Running: ["Ready", "Exiting"],
  Exiting: ["Zombie"],
  Zombie: ["Reaped"],
  Reaped: [],
};

/**
 * Whether `from → to` is a legal transition.
 *
 * @example
 * ```ts
 * canTransition("Running", "Exiting"); // true
 * canTransition("Zombie", "Running"); // false
 * ```
 */
export function canTransition(from: ProcState, to: ProcState): boolean {
  return transitions[from].includes(to);
}

/** Whether a process in `state` still holds a cell and may issue syscalls. */
export function isLive(state: ProcState): boolean {
  switch (state) {
    case "Creating":
    case "Initializing":
    case "Ready":
    case "Running":
      return true;
    case "Exiting":
    case "Zombie":
    case "Reaped":
      return false;
    default: {
      const never: never = state;
      throw new Error(`unknown state ${never}`);
    }
  }
}
