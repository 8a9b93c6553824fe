/**
 * Inter-agent communication: pipes, message queues (FIFO and priority),
 * pub/sub topics, shared memory segments and the wait queues they block on.
 * Everything is scoped to a tenant and every byte of agent data lives in the
 * kernel arena. This is the folder's only public entry.
 *
 * @example
 * ```ts
 * import { Ipc } from "./mod.ts";
 * import { Arena } from "../memory/mod.ts";
 *
 * const ipc = new Ipc({ arena: new Arena({ capacityBytes: 1 << 20 }) });
 * const rows = ipc.syscalls(); // ipc.pipe, ipc.read, ipc.mq.open, ...
 * ipc.releaseAll(7); // when pid 7 exits
 * ```
 *
 * @module
 */

export { Ipc } from "./ipc.ts";
export type { IpcOptions, IpcRelease } from "./ipc.ts";
export { WaitQueue, WaitRegistry } from "./wait_queue.ts";
export { decodeBase64, ipcPayloadBytesMax } from "./syscalls.ts";
export type { QueueKind } from "./message_queue.ts";
export {
  fdFirst,
  fdsPerPidMax,
  messageBytesMax,
  messagePriorityMax,
  nameCharsMax,
  objectsPerTenantMax,
  pipeBufferBytesMax,
  pipeRingBytesMin,
  queueMessagesMax,
  shmBytesMax,
  timeoutMsMax,
  topicBacklogMax,
} from "./limits.ts";
