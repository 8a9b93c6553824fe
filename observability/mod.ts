/**
 * Observability core: the event ring and its table of event kinds, streaming
 * anomaly detection, adaptive sampling and the Prometheus registry. The only
 * public entry of this folder.
 *
 * @example
 * ```ts
 * import { EventKind, EventRing, EventView, Interner } from "./mod.ts";
 * const names = new Interner();
 * const ring = new EventRing();
 * const reader = ring.reader();
 * ring.emit(EventKind.syscall, 7, 1, 0, names.intern("fs.read"), 0, 12, 64);
 * const view = new EventView();
 * while (reader.next(view)) console.log(view.seq, names.name(view.nameId));
 * ```
 *
 * @module
 */

export {
  errnoId,
  errnoNames,
  type EventJson,
  EventKind,
  eventKindCount,
  type EventKindName,
  eventKindNames,
  EventRing,
  type EventRingOptions,
  EventView,
  internedCharsMax,
  internedMax,
  Interner,
  RingReader,
  ringSlotsDefault,
  ringSlotsMax,
  toJSON,
} from "./ring.ts";
export {
  type AttachedKinds,
  type ColumnMeanings,
  type DecodedEvent,
  denialLayers,
  type EventData,
  EventKinds,
  eventKinds,
  type EventSink,
  type KindCodec,
  type KindContext,
  type KindSpec,
  limitExitReasons,
  type Meter,
  type MeterOptions,
  type PayloadColumn,
  type PolicyScope,
  policyScopes,
  type Subject,
  unknownName,
  Vocabulary,
} from "./event_kinds.ts";
export { Welford } from "./welford.ts";
export {
  AnomalyDetector,
  type AnomalyDetectorOptions,
  anomalyProfiles,
  type AnomalyScore,
  idleWindowsMaxDefault,
  outlierWeightDefault,
  rateKeysMaxDefault,
  RateTracker,
  type RateTrackerOptions,
  rateWindowMsDefault,
  type RateWindowSink,
  samplesMinDefault,
  seriesMaxDefault,
  stddevFloorRatioDefault,
  windowSamplesDefault,
  zThresholdDefault,
} from "./anomaly.ts";
export {
  AdaptiveSampler,
  type AdaptiveSamplerOptions,
  alwaysKeptCategories,
  categoriesMax,
  decreaseFactorDefault,
  increaseFactorDefault,
  overheadRatioMax,
  type SampleCategoryStats,
  sampleRateMin,
} from "./sampler.ts";
export {
  type BoundCounter,
  type BoundGauge,
  type BoundHistogram,
  collectorsMax,
  Counter,
  escapeLabelValue,
  exponentialBuckets,
  type ExposeFilter,
  formatValue,
  Gauge,
  Histogram,
  type Labels,
  type MetricKind,
  metricsPerRegistryMax,
  Registry,
  seriesDroppedMetricName,
  seriesPerMetricMax,
} from "./metrics.ts";
export {
  parsePrometheusText,
  type PromFamily,
  PromParseError,
  type PromSample,
  type PromType,
  sampleValue,
} from "./prom_parse.ts";

export { ObservabilityHub } from "./hub.ts";
export { agentSpan, httpSpan } from "./otel.ts";
export type { AgentSpan } from "./otel.ts";
export { summarizeArgs } from "./summarize.ts";
