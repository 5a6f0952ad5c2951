/**
 * One timer for the time limit of many calls. ioredis's `commandTimeout` arms and clears a timer
 * per command, a few microseconds of every decision; the decisions' reads all have the same
 * limit, so their deadlines come in the order the calls started, and one timer, armed for the
 * oldest call still waiting, serves them all: when it fires it fails every call past its deadline
 * and is armed again for the next one. A call that answered in time only marks itself done; with
 * calls one after another, the timer is armed about once per time limit, not once per call.
 */

/** What a call that did not answer in time fails with (ioredis's own words for it). */
export const TIMED_OUT = "Command timed out";

interface Waiting {
  readonly deadline: number;
  readonly reject: (e: Error) => void;
  done: boolean;
}

export class Deadlines {
  private readonly queue: Waiting[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ms: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `call`'s answer, or a rejection (TIMED_OUT) once `ms` have passed since `within` was called. */
  within<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { deadline: this.now() + this.ms, reject, done: false };
      this.queue.push(w);
      if (this.timer === null) this.arm(this.ms);
      call.then(
        (v) => {
          if (w.done) return;
          w.done = true;
          this.dropDone();
          resolve(v);
        },
        (e: unknown) => {
          if (w.done) return;
          w.done = true;
          this.dropDone();
          reject(e);
        },
      );
    });
  }

  /** Calls waiting (for tests). */
  get waiting(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.done) n++;
    return n;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(ms)));
    // a store nobody uses any more does not keep the process alive (its connection's own calls do)
    this.timer.unref?.();
  }

  private readonly fire = (): void => {
    this.timer = null;
    const t = this.now();
    while (this.head < this.queue.length) {
      const w = this.queue[this.head]!;
      if (!w.done && w.deadline > t) break;
      this.head++;
      if (!w.done) {
        w.done = true;
        w.reject(new Error(TIMED_OUT));
      }
    }
    this.compact();
    // a timer may fire a fraction of a millisecond early: the call is then failed on the next one
    if (this.head < this.queue.length) this.arm(this.queue[this.head]!.deadline - t);
  };

  /** The calls at the head that answered leave the queue. */
  private dropDone(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    this.compact();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
