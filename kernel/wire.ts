/**
 * Constants of the wire between a cell and the supervisor that both sides
 * share. Kept free of any import: the cell (a process with no permission
 * and no npm) loads this module too.
 *
 * @module
 */

/**
 * The first byte of a control line (ASCII record separator): only the
 * cell's trusted main thread writes lines that start with it (it never
 * relays an agent line that does), so control frames cannot be forged.
 */
export const controlLineCode = 0x1e;
