/**
 * Kernel memory arena benchmark: `Arena.alloc` + `Arena.free` throughput
 * against `new Uint8Array(n)` (allocation, zeroing and garbage collection by
 * V8) for the same sizes and the same sequence, in the same run.
 *
 * Run: `deno run -A bench/arena.ts [--quick]`. Prints a markdown table of
 * medians over several repetitions; the ratio column is arena / Uint8Array.
 *
 * Workloads: fixed sizes (a batch of live blocks allocated, then freed in a
 * shuffled order), and a mixed workload of log-uniform random sizes from
 * 16 B to 256 KiB where each step frees a random slot of 256 and refills it.
 *
 * @module
 */

import { Arena, type ArenaOwner } from "../kernel/memory/mod.ts";

const quick = Deno.args.includes("--quick");
const runs = quick ? 3 : 9;
const opsPerRunMax = quick ? 50_000 : 200_000;
/** Bytes zeroed per run at most, so the 256 KiB rows take as long as the small ones. */
const bytesPerRunMax = quick ? 256 * 1024 * 1024 : 1024 * 1024 * 1024;
/** Live bytes of one fixed-size batch at most (half the default arena). */
const batchBytesMax = 32 * 1024 * 1024;
const batchBlocksMax = 1024;
const mixedSlots = 256;
const mixedBytesMin = 16;
const mixedBytesMax = 256 * 1024;
const owner: ArenaOwner = { pid: 1, tenant: "bench" };

let sink = 0;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Deterministic xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/**
 * Median operations per second of each body (each performs `ops`
 * operations). Repetitions are interleaved round-robin so load from other
 * processes hits every variant alike.
 */
function opsPerSec(bodies: (() => void)[], ops: number): number[] {
  for (const body of bodies) body(); // warm-up (JIT)
  const samples: number[][] = bodies.map(() => []);
  for (let r = 0; r < runs; r++) {
    bodies.forEach((body, i) => {
      const t0 = performance.now();
      body();
      samples[i].push(ops / ((performance.now() - t0) / 1000));
    });
  }
  return samples.map(median);
}

interface Workload {
  name: string;
  ops: number;
  arena: (arena: Arena, withView: boolean) => void;
  typed: () => void;
}

/** Allocate a batch of `n`-byte blocks, free them in a shuffled order, repeat. */
function fixed(n: number, label: string): Workload {
  const batch = Math.min(batchBlocksMax, Math.floor(batchBytesMax / n));
  const rounds = Math.max(1, Math.floor(Math.min(opsPerRunMax, bytesPerRunMax / n) / batch));
  const random = rng(n);
  const order = Array.from({ length: batch }, (_, i) => i);
  for (let i = batch - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return {
    name: label,
    ops: rounds * batch,
    arena(arena, withView) {
      const live = new Array(batch);
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < batch; i++) {
          const block = arena.alloc(n, owner);
          if (withView) arena.view(block)[0] = i;
          live[i] = block;
        }
        for (let i = 0; i < batch; i++) {
          const block = live[order[i]];
          sink += block.offset;
          arena.free(block);
        }
      }
    },
    typed() {
      const live = new Array(batch);
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < batch; i++) {
          const bytes = new Uint8Array(n);
          bytes[0] = i;
          live[i] = bytes;
        }
        for (let i = 0; i < batch; i++) {
          sink += live[order[i]].length;
          live[order[i]] = undefined;
        }
      }
    },
  };
}

/** Random sizes; each step replaces a random one of `mixedSlots` live blocks. */
function mixed(): Workload {
  const random = rng(0x5eed);
  const steps = quick ? 20_000 : 100_000;
  const ratio = Math.log(mixedBytesMax / mixedBytesMin);
  const sizes = Array.from({ length: steps }, () => Math.round(mixedBytesMin * Math.exp(random() * ratio)));
  const slots = Array.from({ length: steps }, () => Math.floor(random() * mixedSlots));
  return {
    name: `mixed 16 B–256 KiB (log-uniform, ${mixedSlots} live)`,
    ops: steps,
    arena(arena, withView) {
      const live = new Array(mixedSlots).fill(undefined);
      for (let i = 0; i < steps; i++) {
        const slot = slots[i];
        if (live[slot] !== undefined) arena.free(live[slot]);
        const block = arena.alloc(sizes[i], owner);
        if (withView) arena.view(block)[0] = i;
        live[slot] = block;
      }
      for (const block of live) if (block !== undefined) arena.free(block);
    },
    typed() {
      const live = new Array(mixedSlots).fill(undefined);
      for (let i = 0; i < steps; i++) {
        const bytes = new Uint8Array(sizes[i]);
        bytes[0] = i;
        sink += bytes.length;
        live[slots[i]] = bytes;
      }
    },
  };
}

function format(opsPerSecond: number): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)} M`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)} k`;
  return opsPerSecond.toFixed(0);
}

function main(): void {
  const arena = new Arena();
  const workloads = [
    fixed(64, "64 B"),
    fixed(1024, "1 KiB"),
    fixed(16 * 1024, "16 KiB"),
    fixed(256 * 1024, "256 KiB"),
    mixed(),
  ];
  console.log(
    `## Arena vs \`new Uint8Array(n)\` (${runs} runs, median; Deno ${Deno.version.deno}, V8 ${Deno.version.v8}${
      quick ? ", --quick" : ""
    })\n`,
  );
  console.log(
    "| workload | arena alloc+free | arena alloc+view+free | `new Uint8Array(n)` | ratio (alloc+free / Uint8Array) |",
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const w of workloads) {
    const [plain, viewed, typed] = opsPerSec(
      [() => w.arena(arena, false), () => w.arena(arena, true), w.typed],
      w.ops,
    );
    arena.checkInvariants();
    const stats = arena.stats();
    if (stats.blocks !== 0 || stats.largestFreeBytes !== arena.capacityBytes) {
      throw new Error("bench: arena not pristine after a workload");
    }
    console.log(
      `| ${w.name} | ${format(plain)} ops/s | ${format(viewed)} ops/s | ${format(typed)} ops/s | ${
        (plain / typed).toFixed(2)
      }× |`,
    );
  }
  console.log(`\nOne op = one alloc and one free (or one \`new Uint8Array\` and its garbage). sink=${sink % 10}`);
}

main();
