/**
 * The syscall ABI: frames and their framing, the syscall table, the one dispatch path, large payloads.
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { builtinSyscalls, writeBytesMax } from "./builtin.ts";
export { Dispatcher, toErrno } from "./dispatch.ts";
export type { DenialLayer, PendingVerdict, PolicyVerdict } from "./dispatch.ts";
export { controlLineCode, decodeLine, JsonDepthError, jsonTooDeep, parseJsonNullProto } from "./frame.ts";
export type { CallFrame, Completion, Decoded } from "./frame.ts";
export { LineFramer } from "./framer.ts";
export type { FramedLine } from "./framer.ts";
export { Base64Value, encodeCompletion, fromBase64Yielding, needsPieces } from "./payload.ts";
export type { AnswerLine } from "./payload.ts";
export { defineSyscall, SyscallTable } from "./table.ts";
export type { CallHold, CheckedPath, PathAccess, PathSeen, SyscallDef } from "./table.ts";
