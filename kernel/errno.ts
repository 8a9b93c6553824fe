/**
 * Stable POSIX-like error codes that cross the syscall boundary.
 *
 * The set is closed: a guest only ever sees one of these strings in
 * `error.code`, and the guest SDK rebuilds them as `SysError` instances.
 *
 * @module
 */

/** Every errno the kernel may answer with, and what it means to a guest. */
export const ERRNO = {
  EACCES: "no capability for this call or resource",
  EPERM: "denied by policy",
  ENOENT: "no such file, object or agent",
  EEXIST: "already exists",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  ENOTEMPTY: "directory not empty",
  EINVAL: "invalid argument",
  E2BIG: "payload too large",
  ENOMEM: "memory quota exceeded",
  ENOSPC: "disk quota exceeded",
  EAGAIN: "rate limited or would block",
  EBADF: "bad descriptor",
  EPIPE: "broken pipe",
  ETIMEDOUT: "timed out",
  ENOSYS: "unknown syscall",
  ESRCH: "no such agent",
  ECANCELED: "canceled",
  EIO: "internal error while serving the call",
  EROFS: "read-only mount",
  EXDEV: "across a mount boundary",
} as const;

/** One errno string, e.g. `"EACCES"`. */
export type Errno = keyof typeof ERRNO;

/** Type guard: is `value` a known errno string? */
export function isErrno(value: unknown): value is Errno {
  return typeof value === "string" && Object.hasOwn(ERRNO, value);
}

/**
 * An operating error with an errno, thrown by checks and handlers and turned
 * into `{ok:false, error:{code, message}}` by the dispatcher.
 *
 * @example
 * ```ts
 * throw new KernelError("EACCES", "fs.read: path escapes the workspace");
 * ```
 */
export class KernelError extends Error {
  /** The errno that crosses the boundary. */
  readonly code: Errno;

  /**
   * @param code the errno
   * @param message a guest-safe message (never a host path or stack)
   */
  constructor(code: Errno, message: string = ERRNO[code]) {
    // An errno is an answer, not a bug: skip the stack capture (most of the
    // cost of a failing syscall), and no host stack can reach a guest.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "KernelError";
    this.code = code;
  }
}
