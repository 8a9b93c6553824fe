/**
 * The `ipc.*` syscall rows. Schemas are strict (unknown keys, negative sizes
 * and offsets answer `EINVAL`); names and payloads carry no zod length cap so
 * that an oversized one answers `E2BIG` from the handler, which checks the
 * length before touching the content.
 *
 * @module
 */

import { z } from "zod";
import { KernelError } from "../errno.ts";
import { defineSyscall, type SyscallDef } from "../syscall/mod.ts";
import type { Ipc } from "./ipc.ts";
import { messageBytesMax, messagePriorityMax, pipeBufferBytesMax, shmBytesMax, timeoutMsMax } from "./limits.ts";
import { encodeMessage } from "./message_queue.ts";

const fd = z.int().min(0);
const size = z.int().min(0);
const timeoutMs = z.number().min(0).max(timeoutMsMax).optional();
const nonblock = z.boolean().optional();

/**
 * Decode base64 `data` of at most `bytesMax` bytes.
 *
 * @throws {KernelError} `E2BIG` past `bytesMax` (checked on the string length first), `EINVAL` for bad base64
 */
export function decodeBase64(data: string, bytesMax: number, what: string): Uint8Array {
  const tooBig = () => new KernelError("E2BIG", `${what}: data exceeds ${bytesMax} bytes`);
  if (data.length > Math.ceil(bytesMax / 3) * 4) throw tooBig();
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(data);
  } catch {
    throw new KernelError("EINVAL", `${what}: data is not valid base64`);
  }
  if (bytes.length > bytesMax) throw tooBig();
  return bytes;
}

function pipeRows(ipc: Ipc): SyscallDef[] {
  return [
    defineSyscall({
      name: "ipc.pipe",
      args: z.strictObject({}),
      capability: "ipc",
      handler: ({ proc }) => ipc.pipes.pipe(proc),
    }),
    defineSyscall({
      name: "ipc.write",
      blocking: true,
      args: z.strictObject({ fd, data: z.string(), nonblock, timeoutMs }),
      capability: "ipc",
      handler: async ({ proc, args, addBytes }) => {
        const bytes = decodeBase64(args.data, pipeBufferBytesMax, "ipc.write");
        const n = await ipc.pipes.write(proc, args.fd, bytes, args.nonblock ?? false, args.timeoutMs);
        addBytes(n);
        return n;
      },
    }),
    defineSyscall({
      name: "ipc.read",
      blocking: true,
      args: z.strictObject({ fd, max: size, timeoutMs, nonblock }),
      capability: "ipc",
      handler: async ({ proc, args, addBytes }) => {
        const result = await ipc.pipes.read(proc, args.fd, args.max, args.timeoutMs, args.nonblock ?? false);
        addBytes(Math.floor(result.data.length * 3 / 4));
        return result;
      },
    }),
    defineSyscall({
      name: "ipc.close",
      args: z.strictObject({ fd }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.pipes.close(proc, args.fd),
    }),
  ];
}

function queueRows(ipc: Ipc): SyscallDef[] {
  return [
    defineSyscall({
      name: "ipc.mq.open",
      args: z.strictObject({
        name: z.string(),
        kind: z.enum(["fifo", "priority"]),
        maxMessages: z.int().min(1).optional(),
      }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.queues.open(proc, args.name, args.kind, args.maxMessages),
    }),
    defineSyscall({
      name: "ipc.mq.send",
      blocking: true,
      args: z.strictObject({
        id: z.string(),
        data: z.string(),
        priority: z.int().min(0).max(messagePriorityMax).optional(),
      }),
      capability: "ipc",
      handler: ({ proc, args, addBytes }) => {
        const bytes = encodeMessage(args.data, "ipc.mq.send");
        addBytes(ipc.queues.send(proc, args.id, bytes, args.priority ?? 0));
        return bytes.length;
      },
    }),
    defineSyscall({
      name: "ipc.mq.recv",
      blocking: true,
      args: z.strictObject({ id: z.string(), timeoutMs, nonblock }),
      capability: "ipc",
      handler: async ({ proc, args, addBytes }) => {
        const message = await ipc.queues.recv(proc, args.id, args.timeoutMs, args.nonblock ?? false);
        addBytes(message.data.length);
        return message;
      },
    }),
    defineSyscall({
      name: "ipc.mq.close",
      args: z.strictObject({ id: z.string() }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.queues.close(proc, args.id),
    }),
  ];
}

function topicRows(ipc: Ipc): SyscallDef[] {
  return [
    defineSyscall({
      name: "ipc.topic.subscribe",
      args: z.strictObject({ name: z.string() }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.topics.subscribe(proc, args.name),
    }),
    defineSyscall({
      name: "ipc.topic.publish",
      args: z.strictObject({ name: z.string(), data: z.string() }),
      capability: "ipc",
      handler: ({ proc, args, addBytes }) => {
        const bytes = encodeMessage(args.data, "ipc.topic.publish");
        const delivered = ipc.topics.publish(proc, args.name, bytes);
        addBytes(bytes.length * delivered);
        return delivered;
      },
    }),
    defineSyscall({
      name: "ipc.topic.recv",
      blocking: true,
      args: z.strictObject({ sub: z.string(), timeoutMs, nonblock }),
      capability: "ipc",
      handler: async ({ proc, args, addBytes }) => {
        const message = await ipc.topics.recv(proc, args.sub, args.timeoutMs, args.nonblock ?? false);
        addBytes(message.data.length);
        return message;
      },
    }),
    defineSyscall({
      name: "ipc.topic.unsubscribe",
      args: z.strictObject({ sub: z.string() }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.topics.unsubscribe(proc, args.sub),
    }),
  ];
}

function shmRows(ipc: Ipc): SyscallDef[] {
  return [
    defineSyscall({
      name: "ipc.shm.create",
      args: z.strictObject({ size }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.shm.create(proc, args.size),
    }),
    defineSyscall({
      name: "ipc.shm.attach",
      args: z.strictObject({ id: z.string() }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.shm.attach(proc, args.id),
    }),
    defineSyscall({
      name: "ipc.shm.read",
      args: z.strictObject({ id: z.string(), offset: size, length: size }),
      capability: "ipc",
      handler: ({ proc, args, addBytes }) => {
        if (args.length > shmBytesMax) throw new KernelError("E2BIG", `ipc.shm.read: at most ${shmBytesMax} bytes`);
        const bytes = ipc.shm.read(proc, args.id, args.offset, args.length);
        addBytes(bytes.length);
        return bytes.toBase64();
      },
    }),
    defineSyscall({
      name: "ipc.shm.write",
      args: z.strictObject({ id: z.string(), offset: size, data: z.string() }),
      capability: "ipc",
      handler: ({ proc, args, addBytes }) => {
        const bytes = decodeBase64(args.data, shmBytesMax, "ipc.shm.write");
        const n = ipc.shm.write(proc, args.id, args.offset, bytes);
        addBytes(n);
        return n;
      },
    }),
    defineSyscall({
      name: "ipc.shm.detach",
      args: z.strictObject({ id: z.string() }),
      capability: "ipc",
      handler: ({ proc, args }) => ipc.shm.detach(proc, args.id),
    }),
  ];
}

/** Every `ipc.*` row served by `ipc`. */
export function ipcSyscalls(ipc: Ipc): SyscallDef[] {
  return [...pipeRows(ipc), ...queueRows(ipc), ...topicRows(ipc), ...shmRows(ipc)];
}

/** Largest payload any `ipc.*` row accepts, bytes (for frame sizing). */
export const ipcPayloadBytesMax = Math.max(pipeBufferBytesMax, messageBytesMax, shmBytesMax);
