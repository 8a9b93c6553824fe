/**
 * The HTTP edge: what stands between a socket and the Hono app. The
 * connection gate (caps, deadlines, descriptor exhaustion) in front of an
 * internal `Deno.serve` on a unix socket, per-key rate buckets, SSE stream
 * slots. Limits live in `api/limits.ts`.
 *
 * @module
 */

export { ConnectionGate, type GateListener, type GateOptions, type GateStats, peerAddress } from "./gate.ts";
export { isFdExhaustion } from "./descriptors.ts";
export { type FrameError, type FramerPhase, peerHeader, RequestFramer } from "./framer.ts";
export { InnerServer, type InnerServerOptions } from "./inner.ts";
export { edgeMetrics, type EdgeSources } from "./metrics.ts";
export { type RateDecision, RateLimiter, type RateLimiterOptions } from "./rate.ts";
export { type StreamRefusal, StreamSlots } from "./streams.ts";
