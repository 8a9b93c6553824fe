/**
 * Limits of the code layer (the REPL cell transform and TypeScript
 * stripping), named with their unit last. Re-exported by the root
 * `limits.ts`.
 *
 * Nesting has no numeric limit of its own: the parsers are recursive, so a
 * cell nested deeper than the parser's stack allows (`((((…` 100k deep) is
 * refused as a `CodeError` with reason `too_deep`, never a crash.
 *
 * @module
 */

/**
 * Longest source of one session cell, in UTF-16 code units (checked before
 * any parsing).
 *
 * @default 1048576 (1 MiB)
 */
export const replCellCharsMax = 1024 * 1024;

/**
 * Longest cell name (the file name stack traces show, e.g. `cell3.ts`), characters.
 *
 * @default 128
 */
export const replCellNameCharsMax = 128;
