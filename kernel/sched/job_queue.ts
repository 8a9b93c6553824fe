/**
 * A FIFO of jobs with their global submission sequence numbers; amortised
 * O(1) push and shift (a head index, compacted when half the array is dead).
 *
 * @module
 */

/** A syscall as the scheduler sees it: started once, settles once. */
export type SchedJob = () => Promise<unknown>;

const compactEntriesMin = 64;

/** A FIFO of `{job, seq}` entries. */
export class JobQueue {
  #jobs: (SchedJob | undefined)[] = [];
  #seqs: number[] = [];
  #head = 0;

  /** Number of queued jobs. */
  get length(): number {
    return this.#jobs.length - this.#head;
  }

  /** The submission sequence number of the oldest job (`Infinity` if empty). */
  get headSeq(): number {
    return this.length > 0 ? this.#seqs[this.#head] : Infinity;
  }

  /** Append a job. */
  push(job: SchedJob, seq: number): void {
    this.#jobs.push(job);
    this.#seqs.push(seq);
  }

  /** Remove and return the oldest job. */
  shift(): SchedJob {
    if (this.length === 0) throw new Error("JobQueue.shift on an empty queue");
    const job = this.#jobs[this.#head]!;
    this.#jobs[this.#head] = undefined;
    this.#head++;
    if (this.#head >= compactEntriesMin && this.#head * 2 >= this.#jobs.length) {
      this.#jobs = this.#jobs.slice(this.#head);
      this.#seqs = this.#seqs.slice(this.#head);
      this.#head = 0;
    }
    return job;
  }

  /** Remove and return every queued job, oldest first. */
  drain(): SchedJob[] {
    const jobs = this.#jobs.slice(this.#head) as SchedJob[];
    this.#jobs = [];
    this.#seqs = [];
    this.#head = 0;
    return jobs;
  }
}
