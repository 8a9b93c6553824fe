/**
 * Sessions in the kernel: cells sent to a session agent's REPL context and
 * their answers (`session.result`).
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { type CellError, type CellOutcome, type CellRequest, type CellSource, SessionCells } from "./cells.ts";
