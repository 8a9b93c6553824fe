/**
 * Helpers every layer shares (imported by all, importing nothing of
 * agentos): one assertion helper, one bounded map, one token bucket, one
 * formatter of validation failures, npm version ranges.
 *
 * @module
 */

export { assert } from "./assert.ts";
export { describeProblem, type Issue, issueList, type IssueRecord } from "./issues.ts";
export { BoundedMap, type BoundedMapOptions, type EjectionReason } from "./bounded_map.ts";
export { TokenBucket, type TokenBucketOptions } from "./token_bucket.ts";
export { DeadlineError, raceAbort, withTimeout } from "./deadline.ts";
export { satisfies, validRange } from "./semver.ts";
