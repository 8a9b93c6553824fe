/**
 * The HTTP server: the supervisor's API (start it with startServer; options
 * from the environment with serverOptionsFromEnv; a StartupError is an
 * operator's problem, stated in one line).
 *
 * This is the folder's only public entry.
 *
 * @module
 */

export { serverOptionsFromEnv, startServer, StartupError, startupExitCode } from "./server.ts";
