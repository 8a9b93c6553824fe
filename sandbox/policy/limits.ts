/**
 * Every limit of the policy engine: document size and shape, pattern
 * lengths, matching cost and request field lengths. Re-exported by the
 * root `limits.ts` with the other layers' limits.
 *
 * @module
 */

/** Most rules in one document. */
export const rulesMax = 1000;
/** Most entries in one rule's `calls`. */
export const callsPerRuleMax = 32;
/** Most entries in one rule's `paths`. */
export const pathsPerRuleMax = 64;
/** Most entries in one rule's `hosts`. */
export const hostsPerRuleMax = 64;
/** Most entries in one rule's `ports`. */
export const portsPerRuleMax = 64;
/** Most entries in one rule's `methods`. */
export const methodsPerRuleMax = 16;
/** Longest rule id, in characters. */
export const idCharsMax = 64;
/** Longest call pattern, in characters. */
export const callCharsMax = 128;
/** Longest path glob, in characters. */
export const globCharsMax = 1024;
/** Longest path glob segment, in characters (NAME_MAX). */
export const globSegmentCharsMax = 255;
/** Longest host pattern, in characters. */
export const hostPatternCharsMax = 255;
/** Longest method token, in characters. */
export const methodCharsMax = 16;
/** Highest token refill rate, in tokens per second. */
export const ratePerSecMax = 1_000_000;
/** Largest token bucket, in tokens. */
export const rateBurstMax = 1_000_000;
/** Largest policy text {@linkcode parsePolicyText} accepts, in bytes. */
export const policyBytesMax = 1024 * 1024;
/** Most values (objects, arrays, primitives) in one document. */
export const policyNodesMax = 200_000;
/** Deepest nesting of one document (a document needs 5). */
export const policyDepthMax = 16;
/**
 * Matching cost of one backtracking path-glob segment: one with a `?` or
 * with a `*` other than a single leading or trailing one (`a*b`, `*a*`).
 * Such a segment costs O(|glob|·|segment|) steps per comparison; every
 * other segment (literal, `*`, `**`, `x*`, `*x`) costs about one.
 */
export const backtrackingSegmentCost = 16;
/**
 * Most matching work one document may describe — rules × globs ×
 * segments: over every rule, each path-glob segment costs 1 (a
 * backtracking one {@linkcode backtrackingSegmentCost}) and each host
 * pattern 1. A document over it is refused at parse time, naming this
 * budget. (100 rules of three plain globs and three hosts cost ~1,000.)
 * What a document under it may still cost per request is bounded by the
 * engine's `matchStepsMax`, and charged to the agent that asks.
 */
export const policyMatchCostMax = 4096;

/** Longest request path, in UTF-16 code units. */
export const requestPathCharsMax = 4096;
/** Longest request host, in characters. */
export const requestHostCharsMax = 255;
/** Longest request method, in characters. */
export const requestMethodCharsMax = 32;
/** Longest rate-limit key, in characters. */
export const rateKeyCharsMax = 256;
/** Longest path segment, in UTF-16 code units (NAME_MAX is 255 bytes). */
export const requestSegmentCharsMax = 255;
/** Most IP-literal hosts whose parsed bytes one {@linkcode HostAddressMemo} keeps. */
export const hostAddressMemoEntriesMax = 1024;

/**
 * Most live token buckets per rate rule. When full, buckets that have
 * refilled completely are dropped (they equal a fresh bucket); if none
 * has, a new key is denied with reason `"rate"` rather than evicting a
 * bucket that still holds debt (which would reset it).
 */
export const rateKeysPerRuleMax = 4096;

/** Most distinct call names whose candidate rule lists are memoised. */
export const callIndexEntriesMax = 256;

/**
 * Most matcher steps one `evaluate` may take. Glob matching is
 * O(|glob|·|path|) per glob, so a hostile policy × path pair could
 * otherwise stall the (single-threaded) kernel; past the budget the
 * request is denied with reason `"invalid"` (fail closed).
 */
export const matchStepsMax = 100_000;

/** Upper bound of `entriesMax`, in entries. */
export const cacheEntriesMaxLimit = 1_000_000;
/** Upper bound of `ttlMs`, in milliseconds (one hour). */
export const cacheTtlMsMax = 3_600_000;

/** Most policies one {@linkcode intersect} chain may combine. */
export const intersectPartsMax = 8;

/** Package-name patterns per imports rule. */
export const importsPerRuleMax = 64;
/** Characters of one package-name pattern of an imports rule (npm's own limit on a name). */
export const importPatternCharsMax = 214;
