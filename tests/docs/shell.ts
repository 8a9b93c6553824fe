/**
 * One long-lived `bash` that runs a README block's commands one at a time,
 * as a reader pasting them would (variables and functions carry over), and
 * answers each command's exit status, stdout, stderr and the HTTP status of
 * every `curl` in it.
 *
 * `npx --yes deno@2.9.6 …` and `deno …` run this test's own Deno binary, so
 * the commands are run exactly as the README writes them.
 *
 * @module
 */

const decoder = new TextDecoder();
const RS = "\u001e";

/** This process's environment (registry, proxy, DENO_DIR, PATH) without agentos's own settings. */
function inherited(): Record<string, string> {
  return Object.fromEntries(Object.entries(Deno.env.toObject()).filter(([k]) => !/^(AGENTOS_|PORT$|HOST$)/.test(k)));
}

/** What one command did. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** The HTTP status of each `curl` the command ran, in order (`0`: no answer). */
  statuses: number[];
}

/** Reads a byte stream as text and hands back what comes before a marker. */
class Buffered {
  #text = "";
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  async until(marker: RegExp): Promise<RegExpMatchArray & { before: string }> {
    for (;;) {
      const m = this.#text.match(marker);
      if (m && m.index !== undefined) {
        const before = this.#text.slice(0, m.index);
        this.#text = this.#text.slice(m.index + m[0].length);
        return Object.assign(m, { before });
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`the shell ended; it printed: ${this.#text.slice(-2000)}`);
      this.#text += decoder.decode(value, { stream: true });
    }
  }
  cancel(): Promise<void> {
    return this.#reader.cancel().catch(() => {});
  }
}

/**
 * A bash session in `cwd` with this process's environment and `env`; `deno task` reads
 * the tasks of `config` (the repository's `deno.json`) wherever `cwd` is.
 */
export class Shell {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout: Buffered;
  #stderr: Buffered;

  constructor(cwd: string, env: Record<string, string>, config: string) {
    this.#child = new Deno.Command("bash", {
      args: ["--noprofile", "--norc"],
      cwd,
      env: { ...inherited(), ...env },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#stdout = new Buffered(this.#child.stdout);
    this.#stderr = new Buffered(this.#child.stderr);
    const deno = JSON.stringify(Deno.execPath());
    this.#send(
      [
        "set -o pipefail",
        // Every curl reports its HTTP status on stderr, between markers the session strips.
        `curl() { command curl -w '%{stderr}${RS}status %{http_code}${RS}' "$@"; }`,
        `deno() { if [ "$1" = task ]; then shift; ${deno} task --config ${
          JSON.stringify(config)
        } "$@"; else ${deno} "$@"; fi; }`,
        `npx() { if [ "$1" = --yes ] && [ "$2" = deno@2.9.6 ]; then shift 2; deno "$@"; else command npx "$@"; fi; }`,
        "export -f curl deno npx",
      ].join("\n") + "\n",
    );
  }

  #send(text: string): Promise<void> {
    return this.#stdin.write(new TextEncoder().encode(text));
  }

  /** Run `command` (one logical line, `\`-continuations included); fails after `timeoutMs`. */
  async run(command: string, timeoutMs = 60_000): Promise<Ran> {
    await this.#send(`${command}\nprintf '${RS}done %s${RS}' "$?"; printf '${RS}done${RS}' >&2\n`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${command}`)), timeoutMs);
    });
    try {
      const [out, err] = await Promise.race([
        Promise.all([
          this.#stdout.until(new RegExp(`${RS}done (\\d+)${RS}`)),
          this.#stderr.until(new RegExp(`${RS}done${RS}`)),
        ]),
        timeout,
      ]);
      const statuses = [...err.before.matchAll(new RegExp(`${RS}status (\\d+)${RS}`, "g"))].map((m) => Number(m[1]));
      const stderr = err.before.replace(new RegExp(`${RS}status \\d+${RS}`, "g"), "");
      return { code: Number(out[1]), stdout: out.before, stderr, statuses };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the shell (and anything it still runs). */
  async close(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await Promise.all([this.#stdout.cancel(), this.#stderr.cancel()]);
    await this.#child.status;
  }
}
