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

/** The level's star: `**` over segments, `*` over characters. */
const star = 0,
  /** A segment equal to `text`. */
  segLiteral = 1,
  /** `*`: any one segment. */
  segAny = 2,
  /** `x*`: a segment starting with `text`. */
  segPrefix = 3,
  /** `*x`: a segment ending with `text`. */
  segSuffix = 4,
  /** A segment with `?` or inner `*`: its `chars` decide, one level down. */
  segWild = 5,
  /** A code unit equal to `code`. */
  charLiteral = 6,
  /** `?`: one code point. */
  charAny = 7;

/** One pattern unit of either level (one shape, so the matcher stays monomorphic). */
interface Unit {
  readonly kind: number;
  /** `segLiteral`, `segPrefix`, `segSuffix`: the text compared. */
  readonly text: string;
  /** `charLiteral`: the code unit. */
  readonly code: number;
  /** `segWild`: the character units. */
  readonly chars: readonly Unit[];
}

/** A compiled path glob. */
export interface Glob {
  /** Segment-level units. */
  readonly segs: readonly Unit[];
  readonly hasGlobstar: boolean;
  readonly matchesAll: boolean;
  /** Segments a path needs at least (the non-`**` ones). */
  readonly segsMin: number;
  /** With `**` inside: the first and last units if they are not `**`. */
  readonly first: Unit | null;
  readonly last: Unit | null;
}

const noUnits: readonly Unit[] = Object.freeze([]);

function unit(kind: number, text = "", code = -1, chars = noUnits): Unit {
  return { kind, text, code, chars };
}

function compileChars(segment: string): Unit[] {
  const units: Unit[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    units.push(c === 42 ? unit(star) : c === 63 ? unit(charAny) : unit(charLiteral, "", c));
  }
  return units;
}

function compileSegment(segment: string): Unit {
  if (segment === "**") return unit(star);
  const stars = segment.split("*").length - 1;
  const hasQ = segment.includes("?");
  if (stars === 0 && !hasQ) return unit(segLiteral, segment);
  if (segment === "*") return unit(segAny);
  if (stars === 1 && !hasQ && segment.endsWith("*")) return unit(segPrefix, segment.slice(0, -1));
  if (stars === 1 && !hasQ && segment.startsWith("*")) return unit(segSuffix, segment.slice(1));
  return unit(segWild, "", -1, compileChars(segment.replace(/\*+/g, "*")));
}

/**
 * Compiles a validated glob (see `globProblem` in `schema.ts`).
 *
 * @param glob a valid glob: `"."`, or `/`-separated segments
 * @returns the compiled glob
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileGlob } from "./glob.ts";
 * const g = compileGlob("src/**");
 * assert.deepEqual([g.hasGlobstar, g.segsMin, g.matchesAll], [true, 1, false]);
 * ```
 */
export function compileGlob(glob: string): Glob {
  const segs = glob === "." ? [] : glob.split("/").map(compileSegment);
  const fixed = segs.filter((s) => s.kind !== star);
  const edge = (u: Unit | undefined) => u === undefined || u.kind === star ? null : u;
  return {
    segs,
    hasGlobstar: fixed.length < segs.length,
    matchesAll: glob === "**",
    segsMin: fixed.length,
    first: edge(segs[0]),
    last: edge(segs[segs.length - 1]),
  };
}

/** Code units of the code point at `i` (2 for a surrogate pair). */
function cpLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

/**
 * Subject units that unit `u` (never a star) takes at `si`: 0 if it does
 * not match there. Segment units take one segment of `subject` (an
 * array); character units code units of `subject` (a string).
 */
function takeUnit(u: Unit, subject: string | readonly string[], si: number, steps: StepBudget): number {
  switch (u.kind) {
    case segLiteral:
      return (subject as readonly string[])[si] === u.text ? 1 : 0;
    case segAny:
      return 1;
    case segPrefix:
      return (subject as readonly string[])[si].startsWith(u.text) ? 1 : 0;
    case segSuffix:
      return (subject as readonly string[])[si].endsWith(u.text) ? 1 : 0;
    case segWild:
      return greedyMatch(u.chars, (subject as readonly string[])[si], steps) ? 1 : 0;
    case charLiteral:
      return (subject as string).charCodeAt(si) === u.code ? 1 : 0;
    default: // charAny
      return cpLength(subject as string, si);
  }
}

/**
 * The one greedy matcher: do `units` match the whole of `subject`? A
 * string subject is one segment matched by character units; an array is
 * a path matched by segment units. One step per subject unit tried.
 *
 * @param units the pattern units of one level
 * @param subject a segment (character level) or a path's segments (segment level)
 * @param steps the evaluation's budget
 * @returns whether they match; `false` once `steps` is spent
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileGlob, greedyMatch } from "./glob.ts";
 * import { StepBudget } from "./steps.ts";
 * const steps = new StepBudget(1000);
 * assert.equal(greedyMatch(compileGlob("a/**\/z").segs, ["a", "b", "c", "z"], steps), true);
 * assert.equal(greedyMatch(compileGlob("a*b?").segs[0].chars, "axxbc", steps), true);
 * assert.equal(greedyMatch(compileGlob("**").segs, ["a", "b"], new StepBudget(1)), false, "out of steps");
 * ```
 */
export function greedyMatch(units: readonly Unit[], subject: string | readonly string[], steps: StepBudget): boolean {
  const chars = typeof subject === "string";
  let pi = 0, si = 0, starP = -1, starS = 0;
  while (si < subject.length) {
    if (!steps.take()) return false;
    if (pi < units.length) {
      const u = units[pi];
      if (u.kind === star) {
        starP = pi++;
        starS = si;
        continue;
      }
      const taken = takeUnit(u, subject, si, steps);
      if (taken > 0) {
        pi++;
        si += taken;
        continue;
      }
    }
    // Mismatch: the most recent star takes one more unit, the rest retries.
    if (starP < 0) return false;
    pi = starP + 1;
    starS += chars ? cpLength(subject, starS) : 1;
    si = starS;
  }
  while (pi < units.length && units[pi].kind === star) pi++;
  return pi === units.length;
}

/**
 * Does a compiled glob match a path? One step to try the glob, then
 * {@linkcode greedyMatch}'s.
 *
 * @param g the compiled glob
 * @param segs the path's segments (`[]` for `"."`)
 * @param steps the evaluation's budget
 * @returns whether it matches; `false` once `steps` is spent
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileGlob, globMatches } from "./glob.ts";
 * import { StepBudget } from "./steps.ts";
 * const steps = new StepBudget(1000);
 * assert.equal(globMatches(compileGlob("**\/*.ts"), ["src", "a", "b.ts"], steps), true);
 * assert.equal(globMatches(compileGlob("src/a?c"), ["src", "abc"], steps), true);
 * assert.equal(globMatches(compileGlob("src/*"), ["src", "a", "b"], steps), false);
 * ```
 */
export function globMatches(g: Glob, segs: readonly string[], steps: StepBudget): boolean {
  if (g.matchesAll) return true;
  if (segs.length < g.segsMin || !steps.take()) return false;
  if (!g.hasGlobstar) {
    if (g.segs.length !== segs.length) return false;
  } else {
    // Cheap rejections: a non-`**` first (last) unit must take the first
    // (last) segment in any match.
    if (g.first !== null && takeUnit(g.first, segs, 0, steps) === 0) return false;
    if (g.last !== null && takeUnit(g.last, segs, segs.length - 1, steps) === 0) return false;
  }
  return greedyMatch(g.segs, segs, steps);
}
