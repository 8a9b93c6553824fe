/**
 * The scheduler: syscall service order (`SyscallScheduler`) and spawn
 * admission (`AdmissionQueue`), fair across tenants and agents, with
 * policies switchable at run time. This is the folder's only public entry.
 *
 * @example
 * ```ts
 * import { AdmissionQueue, SyscallScheduler } from "./mod.ts";
 *
 * const sched = new SyscallScheduler({ policy: "fair", quantumCalls: 4 });
 * sched.submit({ pid: 7, tenant: "acme", priority: 20 }, () => dispatcher.dispatch(proc, frame));
 * const admission = new AdmissionQueue({ slots: 64, queueMax: 1024 });
 * const release = await admission.acquire("acme", 20);
 * ```
 *
 * @module
 */

export { AdmissionQueue } from "./admission.ts";
export type { AdmissionQueueOptions, AdmissionStats, AdmissionTenantStats, Release } from "./admission.ts";
export type { SchedJob } from "./job_queue.ts";
export { isSchedPolicy, schedPolicies, schedPolicyDefault } from "./policy.ts";
export type { SchedPolicy } from "./policy.ts";
export {
  agentInflightMaxDefault,
  inflightMaxDefault,
  quantumCallsDefault,
  queueCallsMaxDefault,
  SyscallScheduler,
} from "./scheduler.ts";
export type { SchedEntity, SchedStats, SchedTenantStats, SyscallSchedulerOptions } from "./scheduler.ts";
export { priorityDefault, priorityMax, priorityMin, weightNice0, weightOf } from "./weight.ts";

export { macrotask } from "./macrotask.ts";
