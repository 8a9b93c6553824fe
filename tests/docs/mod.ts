/**
 * Running the README's code blocks as written: the blocks ({@linkcode readmeBlock}),
 * one bash per block ({@linkcode Shell}) and {@linkcode runBlock}, which runs a
 * shell block's commands and checks each one's exit, HTTP statuses and `# →` output.
 *
 * @module
 */
export {
  commands,
  expectedOutput,
  readme,
  type ReadmeBlock,
  readmeBlock,
  readmeBlocks,
  repoRoot,
  runBlock,
  withShell,
} from "./readme.ts";
export { type Ran, Shell } from "./shell.ts";
