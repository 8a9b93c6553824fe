/**
 * Every limit of the IPC subsystem, named with its unit last.
 *
 * @module
 */

/** Most bytes buffered in one pipe (also the largest single `ipc.write`), bytes. */
export const pipeBufferBytesMax = 64 * 1024;
/** Smallest ring a pipe allocates when it first holds data, bytes (grows by doubling). */
export const pipeRingBytesMin = 1024;
/** Most messages one queue holds (the default and ceiling of `maxMessages`). */
export const queueMessagesMax = 1024;
/** Largest queue or topic message, bytes of UTF-8. */
export const messageBytesMax = 64 * 1024;
/** Most undelivered messages one topic subscriber keeps; older ones are dropped and counted. */
export const topicBacklogMax = 256;
/** Largest shared memory segment, bytes. */
export const shmBytesMax = 1024 * 1024;
/** Most IPC objects (pipes, queues, subscriptions, segments) one tenant may have at once. */
export const objectsPerTenantMax = 1024;
/** Most pipe descriptors one pid may hold at once. */
export const fdsPerPidMax = 256;
/** First descriptor number handed out (0, 1 and 2 are the agent's stdio). */
export const fdFirst = 3;
/** Longest queue or topic name, UTF-16 code units (longer answers `E2BIG`). */
export const nameCharsMax = 256;
/** Longest blocking wait a call may ask for, ms (the largest `setTimeout` delay). */
export const timeoutMsMax = 2 ** 31 - 1;
/** Highest message priority (priorities are integers in [0, messagePriorityMax]). */
export const messagePriorityMax = 2 ** 31 - 1;
