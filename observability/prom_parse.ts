/**
 * A strict parser of the Prometheus text exposition format 0.0.4, used by
 * tests to check what `/metrics` serves.
 *
 * Beyond the grammar (names, label syntax and escapes, float values, optional
 * integer timestamps, final newline) it enforces the conventions this project
 * relies on: a `# TYPE` line before a family's first sample and at most one
 * `# TYPE`/`# HELP` per family; families not interleaved; no duplicate
 * series; counters named `..._total` with non-negative values; histogram
 * buckets with increasing `le`, cumulative (non-decreasing) counts, a final
 * `le="+Inf"` bucket equal to `_count`, and `_sum`/`_count` present.
 *
 * @module
 */

/** Metric types of the text format. */
export type PromType =
  | "counter"
  | "gauge"
  | "histogram"
  | "summary"
  | "untyped";

/** One sample line. */
export interface PromSample {
  /** Sample name (e.g. `x_bucket` for a histogram `x`). */
  name: string;
  /** Label values by name, unescaped. */
  labels: Record<string, string>;
  /** Sample value. */
  value: number;
  /** Optional timestamp in ms. */
  timestampMs?: number;
}

/** One metric family. */
export interface PromFamily {
  /** Family name. */
  name: string;
  /** Declared type. */
  type: PromType;
  /** Help text, unescaped, if declared. */
  help?: string;
  /** Samples in order. */
  samples: PromSample[];
}

/** A parse or validation failure, with the 1-based line number (0 = whole text). */
export class PromParseError extends Error {
  /** Line number of the offending line. */
  readonly line: number;
  /**
   * @param line 1-based line number, 0 for whole-text checks
   * @param message what is wrong
   */
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "PromParseError";
    this.line = line;
  }
}

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const floatPattern = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf)$|^NaN$/;
const types: readonly string[] = [
  "counter",
  "gauge",
  "histogram",
  "summary",
  "untyped",
];

/**
 * Parse and validate an exposition.
 *
 * @param text the exposition
 * @returns families by name, in order of appearance
 * @throws {PromParseError} on the first violation
 * @example
 * ```ts
 * import { parsePrometheusText } from "./prom_parse.ts";
 * const families = parsePrometheusText("# TYPE x_total counter\nx_total 3\n");
 * families.get("x_total")?.samples[0].value; // 3
 * ```
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith("\n")) {
    throw new PromParseError(0, "exposition must end with a newline");
  }
  const state = new ParserState();
  const lines = text.split("\n");
  lines.pop(); // after the final newline
  lines.forEach((raw, index) => state.line(raw, index + 1));
  for (const family of state.families.values()) {
    validateFamily(family, state.lineOf);
  }
  return state.families;
}

/**
 * The value of one sample, for assertions in tests.
 *
 * @param families parsed exposition
 * @param name sample name
 * @param labels labels that must all match (others are ignored)
 * @returns the value, or `undefined` when no sample matches
 */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) {
        return s.value;
      }
    }
  }
  return undefined;
}

class ParserState {
  readonly families = new Map<string, PromFamily>();
  readonly lineOf = new Map<PromSample, number>();
  readonly #series = new Set<string>();
  readonly #closed = new Set<string>();
  readonly #pendingHelp = new Map<string, string>();
  #current: string | undefined;

  line(raw: string, n: number): void {
    const line = raw.replace(/^[ \t]+|[ \t\r]+$/g, "");
    if (raw.includes("\r")) throw new PromParseError(n, "carriage return");
    if (line === "") return;
    if (line.startsWith("#")) return this.#comment(line, n);
    const sample = parseSample(line, n);
    const family = this.#familyOf(sample.name, n);
    this.#enter(family.name, n);
    const key = sample.name +
      JSON.stringify(Object.entries(sample.labels).sort());
    if (this.#series.has(key)) {
      throw new PromParseError(n, `duplicate series ${sample.name}`);
    }
    this.#series.add(key);
    family.samples.push(sample);
    this.lineOf.set(sample, n);
  }

  #comment(line: string, n: number): void {
    const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
    if (m === null) return; // a plain comment
    const [, keyword, name, rest = ""] = m;
    if (namePattern.exec(name)?.[0] !== name) {
      throw new PromParseError(n, `bad metric name ${name}`);
    }
    this.#enter(name, n);
    let family = this.families.get(name);
    if (keyword === "HELP") {
      if (family?.help !== undefined || this.#pendingHelp.has(name)) {
        throw new PromParseError(n, `second HELP for ${name}`);
      }
      const help = unescape(rest, false, n);
      if (family === undefined) this.#pendingHelp.set(name, help);
      else family.help = help;
      return;
    }
    if (!types.includes(rest)) {
      throw new PromParseError(n, `bad TYPE ${JSON.stringify(rest)}`);
    }
    if (family !== undefined) {
      throw new PromParseError(n, `second TYPE for ${name}`);
    }
    family = { name, type: rest as PromType, samples: [] };
    const help = this.#pendingHelp.get(name);
    if (help !== undefined) family.help = help;
    this.families.set(name, family);
  }

  #familyOf(sampleName: string, n: number): PromFamily {
    const exact = this.families.get(sampleName);
    if (
      exact !== undefined && exact.type !== "histogram" &&
      exact.type !== "summary"
    ) {
      return exact;
    }
    const m = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
    const base = m === null ? undefined : this.families.get(m[1]);
    if (
      base !== undefined &&
      (base.type === "histogram" || base.type === "summary")
    ) {
      if (m![2] === "bucket" && base.type === "summary") {
        throw new PromParseError(n, `summary ${base.name} has no buckets`);
      }
      return base;
    }
    if (exact?.type === "summary") return exact; // quantile samples
    throw new PromParseError(n, `sample ${sampleName} before its TYPE line`);
  }

  /** Families must be contiguous: once left, a family cannot come back. */
  #enter(name: string, n: number): void {
    if (this.#current === name) return;
    if (this.#closed.has(name)) {
      throw new PromParseError(n, `family ${name} is interleaved`);
    }
    if (this.#current !== undefined) this.#closed.add(this.#current);
    this.#current = name;
  }
}

function parseSample(line: string, n: number): PromSample {
  const name = namePattern.exec(line)?.[0];
  if (name === undefined) throw new PromParseError(n, "expected a metric name");
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === "{") pos = parseLabels(line, pos + 1, labels, n);
  const rest = line.slice(pos);
  const m = /^[ \t]+(\S+)(?:[ \t]+(\S+))?$/.exec(rest);
  if (m === null) {
    throw new PromParseError(n, `malformed sample ${JSON.stringify(line)}`);
  }
  const value = parseFloatStrict(m[1], n);
  const sample: PromSample = { name, labels, value };
  if (m[2] !== undefined) {
    if (!/^-?\d+$/.test(m[2])) {
      throw new PromParseError(n, `bad timestamp ${m[2]}`);
    }
    sample.timestampMs = Number(m[2]);
  }
  return sample;
}

function parseLabels(
  line: string,
  start: number,
  out: Record<string, string>,
  n: number,
): number {
  let pos = start;
  while (true) {
    if (line[pos] === "}") return pos + 1;
    const label = labelNamePattern.exec(line.slice(pos))?.[0];
    if (label === undefined) {
      throw new PromParseError(n, `bad label name at column ${pos + 1}`);
    }
    if (Object.hasOwn(out, label)) {
      throw new PromParseError(n, `duplicate label ${label}`);
    }
    pos += label.length;
    if (line[pos] !== "=" || line[pos + 1] !== '"') {
      throw new PromParseError(n, `expected ="value" after ${label}`);
    }
    pos += 2;
    let raw = "";
    while (pos < line.length && line[pos] !== '"') {
      if (line[pos] === "\\") raw += line[pos++];
      raw += line[pos++] ?? "";
    }
    if (line[pos] !== '"') {
      throw new PromParseError(n, `unterminated value of ${label}`);
    }
    out[label] = unescape(raw, true, n);
    pos++;
    if (line[pos] === ",") pos++;
    else if (line[pos] !== "}") {
      throw new PromParseError(n, `expected , or } after ${label}`);
    }
  }
}

function unescape(raw: string, quotes: boolean, n: number): string {
  return raw.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    if (c === '"' && quotes) return '"';
    throw new PromParseError(n, `invalid escape \\${c}`);
  });
}

function parseFloatStrict(text: string, n: number): number {
  if (!floatPattern.test(text)) {
    throw new PromParseError(n, `bad value ${JSON.stringify(text)}`);
  }
  if (text === "NaN") return NaN;
  if (/Inf|inf/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

function validateFamily(
  family: PromFamily,
  lineOf: Map<PromSample, number>,
): void {
  const at = (s: PromSample) => lineOf.get(s) ?? 0;
  if (family.type === "counter") {
    if (!family.name.endsWith("_total")) {
      throw new PromParseError(0, `counter ${family.name} must end in _total`);
    }
    for (const s of family.samples) {
      if (!(s.value >= 0)) {
        throw new PromParseError(at(s), `counter ${s.name} is ${s.value}`);
      }
    }
  }
  if (family.type === "histogram") validateHistogram(family, at);
}

function validateHistogram(
  family: PromFamily,
  at: (s: PromSample) => number,
): void {
  interface Group {
    bounds: number[];
    counts: number[];
    first: PromSample;
    sum?: number;
    count?: number;
  }
  const groups = new Map<string, Group>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { bounds: [], counts: [], first: s };
    groups.set(key, group);
    const kind = s.name.slice(family.name.length + 1);
    if (kind !== "bucket" && le !== undefined) {
      throw new PromParseError(at(s), `${s.name} must not carry le`);
    }
    if (kind === "sum") group.sum = s.value;
    else if (kind === "count") group.count = s.value;
    else {
      if (le === undefined) {
        throw new PromParseError(at(s), `${s.name} without le`);
      }
      const bound = parseFloatStrict(le, at(s));
      if (Number.isNaN(bound)) throw new PromParseError(at(s), "le is NaN");
      const previous = group.bounds.length - 1;
      if (previous >= 0 && !(bound > group.bounds[previous])) {
        throw new PromParseError(at(s), `le ${le} not increasing`);
      }
      if (previous >= 0 && !(s.value >= group.counts[previous])) {
        throw new PromParseError(at(s), `bucket le=${le} not cumulative`);
      }
      if (!(s.value >= 0)) {
        throw new PromParseError(at(s), `bucket count ${s.value}`);
      }
      group.bounds.push(bound);
      group.counts.push(s.value);
    }
  }
  for (const group of groups.values()) {
    const line = at(group.first);
    const last = group.bounds.length - 1;
    if (last < 0 || group.bounds[last] !== Infinity) {
      throw new PromParseError(line, `${family.name}: no le="+Inf" bucket`);
    }
    if (group.count === undefined || group.sum === undefined) {
      throw new PromParseError(
        line,
        `${family.name}: _sum and _count required`,
      );
    }
    if (group.counts[last] !== group.count) {
      throw new PromParseError(
        line,
        `${family.name}: +Inf bucket ${group.counts[last]} != _count ${group.count}`,
      );
    }
  }
}
