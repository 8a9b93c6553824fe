/**
 * The HTTP server: the supervisor's API (start it with startServer).
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { startServer } from "./server.ts";
