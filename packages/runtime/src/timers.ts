/**
 * Timers for any delay. `setTimeout` keeps its delay in a signed 32-bit integer: a delay above
 * 2^31 - 1 ms (about 24.8 days) fires after 1 ms instead, so an approval `timeout 30d` would
 * expire at once. `setLongTimeout` waits in steps of at most that much.
 */

/** The longest delay `setTimeout` honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fn` after `ms` milliseconds, however long that is; returns a function that cancels it.
 * A delay that is not a number, or negative, is 0; `Infinity` never fires.
 */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  let remaining = typeof ms === "number" && ms > 0 ? ms : 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const arm = (): void => {
    if (remaining === Infinity) return;
    const step = Math.min(remaining, MAX_TIMER_MS);
    timer = setTimeout(() => {
      remaining -= step;
      if (cancelled) return;
      if (remaining > 0) arm();
      else fn();
    }, step);
  };
  arm();
  return () => {
    cancelled = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

/**
 * `pending`, or a rejection with `timedOut()` if it has not settled within `ms` milliseconds
 * (any length, as setLongTimeout); the timer is cancelled as soon as it settles.
 */
export function withTimeout<T>(pending: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = setLongTimeout(() => reject(timedOut()), ms);
    pending.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (e: unknown) => {
        cancel();
        reject(e);
      },
    );
  });
}
