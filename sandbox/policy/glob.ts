/**
 * Path globs: compiled once into pattern units, matched against a
 * request's path segments by one greedy matcher ({@linkcode greedyMatch})
 * that runs at two levels:
 *
 * - **segments**: the star is `**` (any run of whole segments, none
 *   included); every other unit takes one path segment — a literal
 *   (`===`), `*` (any segment), `x*` / `*x` (a prefix / suffix), or a
 *   wildcard segment, which the same matcher decides one level down;
 * - **characters**, inside a wildcard segment: the star is `*` (any run of
 *   code points; runs of `*` are collapsed), `?` takes one code point,
 *   anything else one equal UTF-16 code unit.
 *
 * Greedy with one backtrack point: on a mismatch only the most recent
 * star grows by one unit (an earlier star never needs to: whatever it
 * could take, the later one can take too), so a match costs
 * O(|pattern|·|subject|) units in the worst case, with no regular
 * expressions and so no catastrophic backtracking on hostile paths. Every
 * unit tried costs one step of the evaluation's {@linkcode StepBudget};
 * once it is spent the matcher answers "no match". Paths compare
 * case-sensitively, code point by code point.
 *
 * @module
 */

import type { StepBudget } from "./steps.ts";

// Pattern units of both levels are small integers: a code unit (≥ 0,
// character level), `star`, `anyChar` (character level), or `-3 - i` for
// the glob's segment matcher `i` (segment level). The common case of
// each level is decided by the first comparison.

/** The star of either level: `**` over segments, `*` over characters. */
const star = -1;
/** `?`: one code point (character level). */
const anyChar = -2;

/** Kinds of segment matchers. */
const segLiteral = 0,
  /** `*`: any one segment. */
  segAny = 1,
  /** `x*`: a segment starting with `text`. */
  segPrefix = 2,
  /** `*x`: a segment ending with `text`. */
  segSuffix = 3,
  /** A segment with `?` or an inner `*`: its `chars` decide, one level down. */
  segWild = 4;

/** What one non-`**` glob segment takes. */
export interface SegUnit {
  readonly kind: number;
  /** `segLiteral`, `segPrefix`, `segSuffix`: the text compared. */
  readonly text: string;
  /** `segWild`: its character-level units (runs of `*` collapsed). */
  readonly chars: readonly number[];
}

const noChars: readonly number[] = Object.freeze([]);

function compileChars(segment: string): number[] {
  const units: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    units.push(c === 42 ? star : c === 63 ? anyChar : c);
  }
  return units;
}

function compileSegment(segment: string): SegUnit {
  const unit = (kind: number, text = "", chars = noChars): SegUnit => ({ kind, text, chars });
  const stars = segment.split("*").length - 1;
  const hasQ = segment.includes("?");
  if (stars === 0 && !hasQ) return unit(segLiteral, segment);
  if (segment === "*") return unit(segAny);
  if (stars === 1 && !hasQ && segment.endsWith("*")) return unit(segPrefix, segment.slice(0, -1));
  if (stars === 1 && !hasQ && segment.startsWith("*")) return unit(segSuffix, segment.slice(1));
  return unit(segWild, "", compileChars(segment.replace(/\*+/g, "*")));
}

/** Code units of the code point at `i` (2 for a surrogate pair). */
function cpLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

/**
 * Does segment unit `u` take segment `si` of `segs`? A wildcard segment
 * asks {@linkcode greedyMatch} one level down.
 */
function segmentTakes(u: SegUnit, segs: readonly string[], si: number, steps: StepBudget): boolean {
  switch (u.kind) {
    case segLiteral:
      return segs[si] === u.text;
    case segAny:
      return true;
    case segPrefix:
      return segs[si].startsWith(u.text);
    case segSuffix:
      return segs[si].endsWith(u.text);
    default: // segWild
      return greedyMatch(u.chars, noSegUnits, segs, si, steps);
  }
}

const noSegUnits: readonly SegUnit[] = Object.freeze([]);

/**
 * The one greedy matcher: do `units` match the whole subject? With `seg`
 * = -1 the subject is the path `segs` and `units` are segment units
 * (`star`, or `-3 - i` for `segUnits[i]`); else it is the one segment
 * `segs[seg]` and `units` are character units (a code unit, `star` or
 * `anyChar`). Both levels share one representation — small integers, one
 * subject type — so every access stays monomorphic, and a character
 * literal (the hot case) is decided by the first comparison. (Measured
 * against the two specialised loops this replaced, in separate
 * processes: within ~3% on wildcard segments; a first version generic
 * over level objects with callbacks was 3× slower, one with unit objects
 * and a string-or-array subject ~10%.) One step per subject unit tried.
 *
 * @param units the pattern units of one level
 * @param segUnits the segment matchers that segment-level units index (unused at the character level)
 * @param segs the path's segments
 * @param seg -1 for the segment level, else the segment the character units match
 * @param steps the evaluation's budget
 * @returns whether they match; `false` once `steps` is spent
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Glob, greedyMatch } from "./glob.ts";
 * import { StepBudget } from "./steps.ts";
 * const steps = new StepBudget(1000);
 * const g = new Glob("a/**\/z");
 * assert.equal(greedyMatch(g.units, g.segUnits, ["a", "b", "c", "z"], -1, steps), true);
 * const w = new Glob("a*b?").segUnits[0];
 * assert.equal(greedyMatch(w.chars, [], ["src", "axxbc"], 1, steps), true);
 * assert.equal(greedyMatch(g.units, g.segUnits, ["a", "z"], -1, new StepBudget(1)), false, "out of steps");
 * ```
 */
export function greedyMatch(
  units: readonly number[],
  segUnits: readonly SegUnit[],
  segs: readonly string[],
  seg: number,
  steps: StepBudget,
): boolean {
  const chars = seg >= 0;
  const s = chars ? segs[seg] : "";
  const n = chars ? s.length : segs.length;
  let pi = 0, si = 0, starP = -1, starS = 0;
  while (si < n) {
    if (--steps.left < 0) return false;
    if (pi < units.length) {
      const u = units[pi];
      let taken: number;
      if (u >= 0) taken = s.charCodeAt(si) === u ? 1 : 0;
      else if (u === star) {
        starP = pi++;
        starS = si;
        continue;
      } else if (u === anyChar) taken = cpLength(s, si);
      else taken = segmentTakes(segUnits[-3 - u], segs, si, steps) ? 1 : 0;
      if (taken > 0) {
        pi++;
        si += taken;
        continue;
      }
    }
    // Mismatch: the most recent star takes one more unit, the rest retries.
    if (starP < 0) return false;
    pi = starP + 1;
    starS += chars ? cpLength(s, starS) : 1;
    si = starS;
  }
  while (pi < units.length && units[pi] === star) pi++;
  return pi === units.length;
}

/**
 * A compiled path glob: its segment-level units, and the shortcuts that
 * decide many paths before {@linkcode greedyMatch} runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Glob } from "./glob.ts";
 * import { StepBudget } from "./steps.ts";
 * const steps = new StepBudget(1000);
 * assert.equal(new Glob("**\/*.ts").matches(["src", "a", "b.ts"], steps), true);
 * assert.equal(new Glob("src/a?c").matches(["src", "abc"], steps), true);
 * assert.equal(new Glob("src/*").matches(["src", "a", "b"], steps), false);
 * assert.deepEqual([new Glob("src/**").segsMin, new Glob(".").units.length], [1, 0]);
 * ```
 */
export class Glob {
  /** Segment-level units: `star` for `**`, else `-3 - i` for `segUnits[i]`. */
  readonly units: readonly number[];
  readonly segUnits: readonly SegUnit[];
  readonly hasGlobstar: boolean;
  readonly matchesAll: boolean;
  /** Segments a path needs at least (the non-`**` ones). */
  readonly segsMin: number;
  /** With `**` inside: the first and last segment units if they are not `**`. */
  readonly first: SegUnit | null;
  readonly last: SegUnit | null;

  /**
   * Compiles a validated glob (see `globProblem` in `schema.ts`).
   *
   * @param glob a valid glob: `"."`, or `/`-separated segments
   */
  constructor(glob: string) {
    const units: number[] = [];
    const segUnits: SegUnit[] = [];
    for (const segment of glob === "." ? [] : glob.split("/")) {
      if (segment === "**") {
        units.push(star);
      } else {
        units.push(-3 - segUnits.length);
        segUnits.push(compileSegment(segment));
      }
    }
    const edge = (u: number | undefined) => u === undefined || u === star ? null : segUnits[-3 - u];
    this.units = units;
    this.segUnits = segUnits;
    this.hasGlobstar = segUnits.length < units.length;
    this.matchesAll = glob === "**";
    this.segsMin = segUnits.length;
    this.first = edge(units[0]);
    this.last = edge(units[units.length - 1]);
  }

  /**
   * Does the glob match a path? One step to try it, then
   * {@linkcode greedyMatch}'s.
   *
   * @param segs the path's segments (`[]` for `"."`)
   * @param steps the evaluation's budget
   * @returns whether it matches; `false` once `steps` is spent
   */
  matches(segs: readonly string[], steps: StepBudget): boolean {
    if (this.matchesAll) return true;
    if (segs.length < this.segsMin || --steps.left < 0) return false;
    if (!this.hasGlobstar) {
      if (this.units.length !== segs.length) return false;
    } else {
      // Cheap rejections: a non-`**` first (last) unit must take the
      // first (last) segment in any match.
      if (this.first !== null && !segmentTakes(this.first, segs, 0, steps)) return false;
      if (this.last !== null && !segmentTakes(this.last, segs, segs.length - 1, steps)) return false;
    }
    return greedyMatch(this.units, this.segUnits, segs, -1, steps);
  }
}
