/**
 * How many runs a pool lets go on at once: each run holds a slot while its worker or interpreter
 * lives, runs beyond the pool's `max` wait for one in order, and a run that waits longer than its
 * own time limit fails with `timeout` (so many runs at once cannot start workers without limit).
 */
import { SandboxFailure } from "./limits.js";

export interface Slots {
  /** A slot (resolving to its release, which is idempotent), waiting at most `waitMs`. */
  acquire(waitMs: number, what: string): Promise<() => void>;
  /** Fails every run still waiting. */
  close(): void;
}

export function createSlots(max: number): Slots {
  let used = 0;
  const queue: { grant: () => void; fail: (e: Error) => void }[] = [];
  const releaser = (): (() => void) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      if (next === undefined) used--;
      else next.grant(); // the slot passes to the next run as it is
    };
  };
  return {
    acquire(waitMs, what) {
      if (used < max) {
        used++;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve, reject) => {
        const entry = {
          grant: () => {
            clearTimeout(timer);
            resolve(releaser());
          },
          fail: (e: Error) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const timer = setTimeout(() => {
          const i = queue.indexOf(entry);
          if (i >= 0) queue.splice(i, 1);
          reject(new SandboxFailure("timeout", `the code waited for a free ${what} longer than ${waitMs} ms`));
        }, waitMs);
        queue.push(entry);
      });
    },
    close() {
      for (const w of queue.splice(0)) w.fail(new SandboxFailure("closed", "the sandbox pool is closed"));
    },
  };
}
