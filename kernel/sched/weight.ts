/**
 * Priority → weight, exactly the Linux CFS `sched_prio_to_weight` table:
 * priority 0..39 is nice -20..19, nice 0 (priority 20) weighs 1024 and each
 * step is ~1.25× (about 10% of CPU between neighbours).
 *
 * @module
 */

/** Highest priority (most weight), like nice -20. */
export const priorityMin = 0;
/** Lowest priority (least weight), like nice 19. */
export const priorityMax = 39;
/** The neutral priority, like nice 0. */
export const priorityDefault = 20;
/** The weight of `priorityDefault`; virtual runtime advances at wall speed at this weight. */
export const weightNice0 = 1024;

// deno-fmt-ignore
const prioToWeight: readonly number[] = [
  /* -20 */ 88761, 71755, 56483, 46273, 36291,
  /* -15 */ 29154, 23254, 18705, 14949, 11916,
  /* -10 */ 9548, 7620, 6100, 4904, 3906,
  /*  -5 */ 3121, 2501, 1991, 1586, 1277,
  /*   0 */ 1024, 820, 655, 526, 423,
  /*   5 */ 335, 272, 215, 172, 137,
  /*  10 */ 110, 87, 70, 56, 45,
  /*  15 */ 36, 29, 23, 18, 15,
];

/** Assert that `priority` is an integer in `priorityMin..priorityMax`. */
export function assertPriority(priority: number): void {
  if (!Number.isInteger(priority) || priority < priorityMin || priority > priorityMax) {
    throw new RangeError(`priority must be an integer in ${priorityMin}..${priorityMax}, got ${priority}`);
  }
}

/** The CFS weight of `priority` (0..39). */
export function weightOf(priority: number): number {
  assertPriority(priority);
  return prioToWeight[priority];
}
