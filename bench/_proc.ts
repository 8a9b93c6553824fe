/**
 * What the benchmarks read from /proc (they run with `-A`): the CPU time and
 * memory of a process and its children, so that the cells a supervisor
 * starts are counted with it. Linux only; not a benchmark itself (the
 * runner skips `_` files).
 *
 * @module
 */

import process from "node:process";

/** USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 1/100 s on Linux. */
const ticksPerSec = 100;

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime, ms. */
  ownMs: number;
  /** cutime + cstime (children it has reaped), ms. */
  reapedMs: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function parseStat(text: string): Stat | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  const f = text.slice(close + 2).split(" ");
  // proc(5), counted from 1: 3 state, 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime; f[0] is field 3.
  if (f[0] === "Z" || f[0] === "X") return undefined;
  const ms = (i: number) => Number(f[i]) * 1000 / ticksPerSec;
  return { pid: Number.parseInt(text, 10), ppid: Number(f[1]), ownMs: ms(11) + ms(12), reapedMs: ms(13) + ms(14) };
}

function readStat(pid: number): Stat | undefined {
  try {
    return parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

/** Every live process of the machine. */
function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const s = readStat(Number(entry.name));
    if (s) out.push(s);
  }
  return out;
}

/** Live direct children of `pid`, except those in `skip`. */
export function childPids(pid: number, skip: readonly number[] = []): number[] {
  return allStats().filter((s) => s.ppid === pid && !skip.includes(s.pid)).map((s) => s.pid);
}

/**
 * CPU ms used so far by `pid`, the children it has reaped, and its live
 * children (with what they reaped) except those in `skip`. The difference of
 * two readings is the CPU of that process tree over the window, including
 * children that started or ended inside it. `pid` = this process reads its
 * own part from `process.cpuUsage()` (µs resolution); the rest is in ticks.
 */
export function treeCpuMs(pid: number, skip: readonly number[] = []): number {
  const root = readStat(pid);
  if (root === undefined) return NaN;
  let own = root.ownMs;
  if (pid === Deno.pid) {
    const u = process.cpuUsage();
    own = (u.user + u.system) / 1000;
  }
  let children = 0;
  for (const s of allStats()) {
    if (s.ppid === pid && !skip.includes(s.pid)) children += s.ownMs + s.reapedMs;
  }
  return own + root.reapedMs + children;
}

/** Resident and proportional set size of one process, bytes (0 if it is gone). */
export function memoryOf(pid: number): { rss: number; pss: number } {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const kb = (name: string) => Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0) * 1024;
    return { rss: kb("Rss"), pss: kb("Pss") };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** RSS and PSS of `pid` plus its live children except `skip`, bytes. */
export function treeMemory(pid: number, skip: readonly number[] = []): { rss: number; pss: number; processes: number } {
  const pids = [pid, ...childPids(pid, skip)];
  let rss = 0, pss = 0;
  for (const p of pids) {
    const m = memoryOf(p);
    rss += m.rss;
    pss += m.pss;
  }
  return { rss, pss, processes: pids.length };
}

/** The system's MemAvailable, MB (/proc/meminfo). */
export async function memAvailableMb(): Promise<number> {
  const text = await Deno.readTextFile("/proc/meminfo");
  return Number(/^MemAvailable:\s+(\d+) kB$/m.exec(text)?.[1]) / 1024;
}
