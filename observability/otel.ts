/**
 * OpenTelemetry spans, through `@opentelemetry/api` — the only file that
 * imports it. Deno's built-in OpenTelemetry exports them over OTLP when the
 * supervisor runs with `OTEL_DENO=true` (endpoint: `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * default `http://localhost:4318`); otherwise the API is a no-op. Cells never
 * see `OTEL_*` (their environment is cleared).
 *
 * Spans: one per HTTP request (`agentos.http`), one per agent covering its
 * whole life (`agentos.agent`), and sampled syscalls (`agentos.syscall`) as
 * children of their agent's span. Attributes are `agentos.*`. Nothing here
 * throws into the caller.
 *
 * @module
 */

import { context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";

/** One in this many syscalls becomes a span. */
export const syscallSpanEvery = 100;

const tracer = trace.getTracer("agentos", "0.1.0");
let syscalls = 0;

/** The span of an agent's life; `end` is idempotent. */
export interface AgentSpan {
  syscall(call: string, errno: string | null, latencyUs: number): void;
  end(reason: string, exitCode: number, message?: string): void;
}

const noop: AgentSpan = { syscall() {}, end() {} };

/**
 * Start the span of an agent's life.
 *
 * @example
 * ```ts
 * const span = agentSpan({ pid: 7, tenant: "t", causality: 7 });
 * span.end("exit", 0);
 * ```
 */
export function agentSpan(attrs: { pid: number; tenant: string; causality: number; parent?: number }): AgentSpan {
  let span: Span;
  try {
    span = tracer.startSpan("agentos.agent", {
      attributes: {
        "agentos.pid": attrs.pid,
        "agentos.tenant": attrs.tenant,
        "agentos.causality": attrs.causality,
        "agentos.parent": attrs.parent ?? 0,
      },
    });
  } catch {
    return noop;
  }
  let ended = false;
  // No exporter (the API's no-op): no syscall spans to make, so none is counted either.
  const recording = span.isRecording();
  return {
    syscall(call, errno, latencyUs) {
      if (!recording || ++syscalls % syscallSpanEvery !== 0 || ended) return;
      try {
        const end = Date.now();
        const child = tracer.startSpan(
          "agentos.syscall",
          { startTime: end - latencyUs / 1000, attributes: { "agentos.call": call, "agentos.errno": errno ?? "ok" } },
          trace.setSpan(context.active(), span),
        );
        if (errno !== null) child.setStatus({ code: SpanStatusCode.ERROR, message: errno });
        child.end(end);
      } catch { /* never into the kernel */ }
    },
    end(reason, exitCode, message) {
      if (ended) return;
      ended = true;
      try {
        span.setAttributes({ "agentos.exit_reason": reason, "agentos.exit_code": exitCode });
        if (reason !== "exit") span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? reason });
        span.end();
      } catch { /* never into the kernel */ }
    },
  };
}

/** Run `fn` inside an HTTP request span; the status is recorded from its result. */
export async function httpSpan(method: string, path: string, fn: () => Promise<number>): Promise<void> {
  let span: Span | undefined;
  try {
    span = tracer.startSpan("agentos.http", { attributes: { "http.request.method": method, "url.path": path } });
  } catch { /* no-op */ }
  let status = 500;
  try {
    status = await fn();
  } finally {
    try {
      span?.setAttribute("http.response.status_code", status);
      if (status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
      span?.end();
    } catch { /* no-op */ }
  }
}
