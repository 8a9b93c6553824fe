/**
 * The README's fenced code blocks, each with its language, its line and the
 * section it sits in, so tests can run them as they are written and a test
 * can check that every block that is a command or a request is run by one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Ran, Shell } from "./shell.ts";

/** The repository's root, where the README's commands run. */
export const repoRoot = new URL("../../", import.meta.url).pathname;

/** One fenced block of the README. */
export interface ReadmeBlock {
  /** The fence's info string: `sh`, `ts`, `js`, `json` or `""`. */
  lang: string;
  /** The block's text, without its fences (ends with a newline). */
  text: string;
  /** The 1-based line of its opening fence. */
  line: number;
  /** The nearest `##` heading above it (`"## HTTP API"`). */
  section: string;
  /** The nearest `##` or `###` heading above it (`"### Webhooks"`). */
  heading: string;
}

/** Every fenced block of `markdown`, in order. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  const lines = markdown.split("\n");
  let section = "", heading = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^#{2} /.test(line)) section = heading = line;
    else if (/^#{3} /.test(line)) heading = line;
    const fence = line.match(/^```(\w*)\s*$/);
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith("```"));
    assert.ok(end > i, `README line ${i + 1}: a code block that is never closed`);
    blocks.push({ lang: fence[1], text: lines.slice(i + 1, end).join("\n") + "\n", line: i + 1, section, heading });
    i = end;
  }
  return blocks;
}

/** The README's text. */
export function readme(): Promise<string> {
  return Deno.readTextFile(new URL("README.md", `file://${repoRoot}`));
}

/**
 * The `nth` block of language `lang` under `heading` (a `##` or `###` line,
 * written out: `"### Webhooks"`); fails the test when there is none.
 *
 * @example
 * ```ts
 * const verify = await readmeBlock("### Webhooks", "ts");
 * ```
 */
export async function readmeBlock(heading: string, lang: string, nth = 0): Promise<ReadmeBlock> {
  const found = readmeBlocks(await readme()).filter((b) => b.heading === heading && b.lang === lang);
  assert.ok(found[nth], `README: no ${lang} block #${nth + 1} under "${heading}"`);
  return found[nth];
}

/** The block's shell commands: `\`-continued lines joined, blank lines dropped, comment-only lines kept. */
export function commands(block: ReadmeBlock): string[] {
  return block.text.replace(/\\\n/g, "\\\n\u0000").split("\n").reduce<string[]>((out, line) => {
    if (line.startsWith("\u0000") && out.length > 0) out[out.length - 1] += "\n" + line.slice(1);
    else if (line.trim() !== "") out.push(line);
    return out;
  }, []);
}

/**
 * What a command's comment says it prints: `# → 7` after it, or a line of its
 * own starting `# →` that follows it. `...` in it stands for anything.
 */
export function expectedOutput(command: string, next: string | undefined): RegExp | undefined {
  const said = command.match(/\s#\s*→\s*(.*)$/)?.[1] ?? next?.match(/^#\s*→\s*(.*)$/)?.[1];
  if (said === undefined) return undefined;
  const escaped = said.trim().split(/\s*\.\.\.\s*/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join("[^]*")}$`);
}

/** The HTTP statuses a command's comment names (`# 200 {...} or 404`); none named: any 2xx. */
function allowed(command: string): (status: number) => boolean {
  const named = [...(command.match(/\s#(.*)$/)?.[1] ?? "").matchAll(/\b([1-5]\d\d)\b/g)].map((m) => Number(m[1]));
  return named.length > 0 ? (s) => named.includes(s) : (s) => s >= 200 && s < 300;
}

/**
 * Run a shell block's commands in order, as written; each must exit 0, its
 * curls get an allowed status, its output match its `# →` comment. `after`
 * may answer a line to run next (what a reader types after reading an answer).
 */
export async function runBlock(
  b: ReadmeBlock,
  shell: Shell,
  options: {
    edit?: (command: string) => string;
    after?: (i: number, ran: Ran) => string | undefined | Promise<string | undefined>;
  } = {},
): Promise<Ran[]> {
  const lines = commands(b);
  const out: Ran[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("#")) continue;
    const command = (options.edit ?? ((c) => c))(lines[i]);
    const ran = await shell.run(command, 240_000);
    const where = `README line ~${b.line}: ${command}`;
    assert.equal(ran.code, 0, `${where}\nexit ${ran.code}\n${ran.stdout}\n${ran.stderr}`);
    const bad = ran.statuses.filter((s) => !allowed(lines[i])(s));
    assert.deepEqual(bad, [], `${where}\nHTTP ${ran.statuses.join(", ")}: ${ran.stdout}`);
    const expected = expectedOutput(lines[i], lines[i + 1]);
    if (expected) assert.match(ran.stdout.trim(), expected, `${where}\nprinted: ${ran.stdout.trim()}`);
    out.push(ran);
    const next = await options.after?.(out.length - 1, ran);
    if (next) assert.equal((await shell.run(next)).code, 0);
  }
  return out;
}

/** A shell in a fresh temp dir (removed after), with `env`. */
export async function withShell(env: Record<string, string>, fn: (shell: Shell, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "agentos-readme-" });
  const shell = new Shell(dir, env, `${repoRoot}deno.json`);
  try {
    await fn(shell, dir);
  } finally {
    await shell.close();
    await Deno.remove(dir, { recursive: true });
  }
}
