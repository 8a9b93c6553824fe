/**
 * The step budget of one evaluation. Every rule considered, host suffix or
 * CIDR compared, glob tried and character stepped over is one step; the
 * budget travels through every matcher in an explicit {@linkcode StepBudget}
 * (there is no module-level counter), and the caller's {@linkcode StepMeter}
 * gets the count back.
 *
 * @module
 */

import { matchStepsMax } from "./limits.ts";

/**
 * A caller's step account for one `evaluate`: how many matcher
 * steps it may take (at most {@linkcode matchStepsMax}) and, after the
 * call, how many it took. The policy layer charges `steps` to the agent
 * that caused the evaluation.
 */
export interface StepMeter {
  /** In: most steps this evaluation may take (clamped to `[0, matchStepsMax]`). */
  stepsMax: number;
  /** Out: steps taken. */
  steps: number;
  /** Out: whether the budget ran out (the decision is then a deny). */
  exhausted: boolean;
}

/**
 * The steps one evaluation may still take, handed to every matcher. A
 * matcher spends a step with `--steps.left < 0` (true: the budget is
 * spent) and answers "no match" from then on; the evaluation then never
 * answers allow. A plain field, not a method, so the hot loops carry no
 * call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StepBudget } from "./steps.ts";
 * const steps = new StepBudget(2);
 * const spent = [--steps.left < 0, --steps.left < 0, --steps.left < 0];
 * assert.deepEqual(spent, [false, false, true]);
 * assert.equal(steps.exhausted, true);
 * ```
 */
export class StepBudget {
  /** Steps this evaluation may take. */
  readonly stepsMax: number;
  /** Steps left; negative once a step was asked for past the budget. */
  left: number;

  /**
   * @param stepsMax steps this evaluation may take (already clamped)
   */
  constructor(stepsMax: number) {
    this.stepsMax = stepsMax;
    this.left = stepsMax;
  }

  /** Whether a step was asked for past the budget. */
  get exhausted(): boolean {
    return this.left < 0;
  }

  /**
   * The budget a caller's meter asks for: `meter.stepsMax` floored and
   * clamped to `[0, matchStepsMax]` (NaN is 0), or
   * {@linkcode matchStepsMax} without a meter.
   *
   * @param meter the caller's account, if any
   * @returns a fresh budget
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StepBudget } from "./steps.ts";
   * assert.equal(StepBudget.of(undefined).left, matchStepsMax);
   * assert.equal(StepBudget.of({ stepsMax: 12.7, steps: 0, exhausted: false }).left, 12);
   * assert.equal(StepBudget.of({ stepsMax: NaN, steps: 0, exhausted: false }).left, 0);
   * ```
   */
  static of(meter: StepMeter | undefined): StepBudget {
    if (meter === undefined) return new StepBudget(matchStepsMax);
    const asked = Math.floor(meter.stepsMax);
    return new StepBudget(asked >= matchStepsMax ? matchStepsMax : asked > 0 ? asked : 0);
  }

  /**
   * Reports what was spent to the caller's meter: all of `stepsMax` when
   * the budget ran out, else the steps taken.
   *
   * @param meter the caller's account, if any (written in place)
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StepBudget } from "./steps.ts";
   * const meter = { stepsMax: 5, steps: 0, exhausted: false };
   * const budget = StepBudget.of(meter);
   * --budget.left;
   * budget.report(meter);
   * assert.deepEqual(meter, { stepsMax: 5, steps: 1, exhausted: false });
   * ```
   */
  report(meter: StepMeter | undefined): void {
    if (meter === undefined) return;
    const exhausted = this.left < 0;
    meter.steps = exhausted ? this.stepsMax : this.stepsMax - this.left;
    meter.exhausted = exhausted;
  }
}
