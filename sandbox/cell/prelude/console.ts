/**
 * Prelude part: `console` as captured output (`io.write` syscalls, never the
 * cell's raw stdio), behaving as Deno's: `%s`/`%d`/`%i`/`%f`/`%o`/`%O`/`%c`
 * substitutions, objects through `Deno.inspect`, `group` indentation,
 * `count`, `time`, `table` in Deno's box format, `assert`, `trace` (to
 * stderr), `dir`. Shipped as source: these functions must not close over
 * anything in this module.
 *
 * @module
 */

import type { PreludeChannel } from "./channel.ts";

type Inspect = (value: unknown, options?: Record<string, unknown>) => string;

/** Deno's `console.log` argument formatting (substitutions, then the rest joined by spaces). */
export function preludeConsoleFormat(inspect: Inspect): (args: unknown[]) => string {
  const show = (v: unknown) => typeof v === "string" ? v : inspect(v, { colors: false });
  const integer = (v: unknown) =>
    typeof v === "bigint" ? `${v}n` : typeof v === "symbol" ? "NaN" : `${Number.parseInt(String(v))}`;
  const float = (v: unknown) => typeof v === "symbol" ? "NaN" : `${Number.parseFloat(String(v))}`;
  const substitute: Record<string, (v: unknown) => string> = {
    s: (v) => String(v),
    d: integer,
    i: integer,
    f: float,
    o: (v) => inspect(v, { colors: false }),
    O: (v) => inspect(v, { colors: false }),
    c: () => "",
  };
  return (args) => {
    const first = args[0];
    let a = 0;
    let out = "";
    if (typeof first === "string" && args.length > 1) {
      a = 1;
      let done = 0;
      for (let i = 0; i < first.length - 1; i++) {
        if (first[i] !== "%") continue;
        const char = first[++i];
        if (a < args.length && Object.hasOwn(substitute, char)) {
          out += first.slice(done, i - 1) + substitute[char](args[a++]);
          done = i + 1;
        } else if (char === "%") {
          out += first.slice(done, i - 1) + "%";
          done = i + 1;
        }
      }
      out += first.slice(done);
    }
    for (; a < args.length; a++) out += (a > 0 ? " " : "") + show(args[a]);
    return out;
  };
}

/** Deno's box drawing of a table: `columns[i]` holds column `head[i]`; integer columns are right-aligned. */
export function preludeTableRender(): (head: string[], columns: string[][]) => string {
  const wide = (c: number) =>
    c >= 0x1100 && (c <= 0x115f || c === 0x2329 || c === 0x232a || (c >= 0x2e80 && c <= 0x3247 && c !== 0x303f) ||
      (c >= 0x3250 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0xa4c6) || (c >= 0xa960 && c <= 0xa97c) ||
      (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe10 && c <= 0xfe19) ||
      (c >= 0xfe30 && c <= 0xfe6b) || (c >= 0xff01 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x1b000 && c <= 0x1b001) || (c >= 0x1f200 && c <= 0x1f251) || (c >= 0x1f300 && c <= 0x1f64f) ||
      (c >= 0x20000 && c <= 0x3fffd));
  const width = (s: string) => {
    let n = 0;
    for (const ch of s.normalize("NFC")) n += wide(ch.codePointAt(0)!) ? 2 : 1;
    return n;
  };
  return (head, columns) => {
    const widths = head.map(width);
    const right = head.map(() => true);
    const rows: string[][] = [];
    const longest = Math.max(...columns.map((c) => c.length));
    for (let i = 0; i < head.length; i++) {
      for (let j = 0; j < longest; j++) {
        const value = (rows[j] ??= [])[i] = Object.hasOwn(columns[i], j) ? columns[i][j] : "";
        widths[i] = Math.max(widths[i], width(value));
        right[i] &&= Number.isInteger(+value);
      }
    }
    const line = (row: string[]) =>
      "│ " + row.map((c, i) => {
        const pad = " ".repeat(widths[i] - width(c));
        return right[i] ? pad + c : c + pad;
      }).join(" │ ") + " │";
    const divider = widths.map((w) => "─".repeat(w + 2));
    return [
      `┌${divider.join("┬")}┐`,
      line(head),
      `├${divider.join("┼")}┤`,
      ...rows.map(line),
      `└${divider.join("┴")}┘`,
    ].join("\n");
  };
}

/** A table cell as Deno shows it: strings quoted and escaped, anything else inspected at depth 1, compact. */
export function preludeTableCell(inspect: Inspect): (value: unknown) => string {
  const escapes: Record<string, string> = {
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
  };
  // deno-lint-ignore no-control-regex
  const control = /[\x00-\x1f\x7f-\x9f]/g;
  const quote = (s: string) => {
    const q = ['"', "'", "`"].find((c) => !s.includes(c)) ?? '"';
    const body = s.replace(new RegExp(`(?=[${q}\\\\])`, "g"), "\\").replace(
      control,
      (c) => escapes[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    );
    return q + body + q;
  };
  return (v) => typeof v === "string" ? quote(v) : inspect(v, { colors: false, depth: 1, compact: true });
}

/** Deno's `console.table` text for `data` (null when `data` is not an object: it is logged as is). */
export function preludeConsoleTable(inspect: Inspect): (data: unknown, properties?: string[]) => string | null {
  const render = preludeTableRender();
  const cell = preludeTableCell(inspect);
  return (data, properties) => {
    if (data === null || typeof data !== "object") return null;
    const isMap = data instanceof Map;
    const isSet = data instanceof Set;
    const rowsOf: Record<string, unknown> = isSet ? { ...[...data] } : isMap ? {} : data as Record<string, unknown>;
    if (isMap) [...data].forEach(([k, v], i) => rowsOf[i] = { Key: k, Values: v });
    const keys = Object.keys(rowsOf);
    const blank = () => new Array(keys.length).fill("");
    const columns: Record<string, string[]> = Object.fromEntries((properties ?? []).map((p) => [p, blank()]));
    const values: string[] = [];
    let primitives = false;
    keys.forEach((k, row) => {
      const value = rowsOf[k];
      const primitive = value === null || (typeof value !== "function" && typeof value !== "object");
      if (properties === undefined && primitive) {
        primitives = true;
        return void values.push(cell(value));
      }
      const object = (value || {}) as Record<string, unknown>;
      for (const p of properties ?? Object.keys(object)) {
        if (primitive || !Reflect.has(object, p)) continue;
        (columns[p] ??= blank())[row] = cell(object[p]);
      }
      values.push("");
    });
    const head = [isMap || isSet ? "(iter idx)" : "(idx)", ...(properties ?? Object.keys(columns))];
    if (properties === undefined && !isMap && primitives) head.push("Values");
    return render(head, [keys, ...Object.values(columns), values]);
  };
}

/** Output with group indentation, in frames of at most `frameCharsMax` characters (a surrogate pair is never split). */
export function preludeConsoleWrite(
  ch: PreludeChannel,
  frameCharsMax: number,
  indent: { text: string },
): (fd: 1 | 2, text: string) => void {
  return (fd, text) => {
    const pad = indent.text;
    const data = (pad === "" ? text : pad + text.replaceAll("\n", "\n" + pad)) + "\n";
    let start = 0;
    while (data.length - start > frameCharsMax) {
      let end = start + frameCharsMax;
      const code = data.charCodeAt(end - 1);
      if (code >= 0xd800 && code <= 0xdbff) end--;
      ch.fireAndForget("io.write", { fd, data: data.slice(start, end) });
      start = end;
    }
    ch.fireAndForget("io.write", { fd, data: start === 0 ? data : data.slice(start) });
  };
}

/** `count`/`countReset`/`time`/`timeLog`/`timeEnd`, with Deno's messages. */
export function preludeConsoleCounters(
  out: (...args: unknown[]) => void,
  err: (...args: unknown[]) => void,
): Record<string, (label?: unknown, ...args: unknown[]) => void> {
  const now = performance.now.bind(performance);
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const elapsed = (label: string) => `${label}: ${Math.round((now() - timers.get(label)!) * 1000) / 1000}ms`;
  return {
    count: (label = "default") => {
      const key = String(label);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      out(`${key}: ${counts.get(key)}`);
    },
    countReset: (label = "default") => {
      const key = String(label);
      if (counts.has(key)) counts.set(key, 0);
      else err(`Count for '${key}' does not exist`);
    },
    time: (label = "default") => {
      const key = String(label);
      if (timers.has(key)) return err(`Timer '${key}' already exists`);
      timers.set(key, now());
    },
    timeLog: (label = "default", ...args) => {
      const key = String(label);
      return timers.has(key) ? out(elapsed(key), ...args) : err(`Timer '${key}' does not exist`);
    },
    timeEnd: (label = "default") => {
      const key = String(label);
      if (!timers.has(key)) return err(`Timer '${key}' does not exist`);
      out(elapsed(key));
      timers.delete(key);
    },
  };
}

/** Install the captured `console`. */
export function preludeConsole(ch: PreludeChannel, frameCharsMax: number): void {
  const inspect = (globalThis as unknown as { Deno: { inspect: Inspect } }).Deno.inspect;
  const format = preludeConsoleFormat(inspect);
  const table = preludeConsoleTable(inspect);
  const prelude = import.meta.url.slice(0, 48);
  const indent = { text: "" };
  const write = preludeConsoleWrite(ch, frameCharsMax, indent);
  const out = (...args: unknown[]) => write(1, format(args));
  const err = (...args: unknown[]) => write(2, format(args));
  const group = (...label: unknown[]) => {
    if (label.length > 0) out(...label);
    indent.text += "  ";
  };
  const noop = () => {};
  const console = {
    log: out,
    info: out,
    debug: out,
    warn: err,
    error: err,
    dirxml: out,
    dir: (value?: unknown, options: Record<string, unknown> = {}) =>
      write(1, typeof value === "string" ? value : inspect(value, { ...options, colors: false })),
    table: (data?: unknown, properties?: string[]) => {
      if (properties !== undefined && !Array.isArray(properties)) {
        throw new TypeError(`The 'properties' argument must be of type Array. Received type ${typeof properties}`);
      }
      const text = table(data, properties);
      return text === null ? out(data) : write(1, text);
    },
    assert: (condition = false, ...args: unknown[]) => {
      if (condition) return;
      if (args.length === 0) return err("Assertion failed");
      const [first, ...rest] = args;
      return typeof first === "string" ? err(`Assertion failed: ${first}`, ...rest) : err("Assertion failed:", ...args);
    },
    trace: (...args: unknown[]) => {
      const frames = (new Error().stack ?? "").split("\n").slice(1).filter((l) => !l.includes(prelude));
      write(2, [`Trace${args.length > 0 ? ": " + format(args) : ""}`, ...frames].join("\n"));
    },
    ...preludeConsoleCounters(out, err),
    group,
    groupCollapsed: group,
    groupEnd: () => void (indent.text = indent.text.slice(2)),
    clear: noop,
    profile: noop,
    profileEnd: noop,
    timeStamp: noop,
  };
  Object.defineProperty(globalThis, "console", { value: Object.freeze(console), configurable: false, writable: false });
}
