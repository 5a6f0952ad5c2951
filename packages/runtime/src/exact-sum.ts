/**
 * The exact running sum behind `sum`: Shewchuk's partials ("Adaptive Precision Floating-Point
 * Arithmetic", 1997), non-overlapping doubles, smallest first, whose exact sum is the sum so far.
 * Adding a number is exact, and so is taking it back (adding its negation), so a windowed sum that
 * adds numbers as they come and takes them back as they leave holds the exact sum of its window;
 * rounded once (as Python's `math.fsum`), that is the value the compiler's scan gets.
 *
 * This is the twin of `addPartial`/`partialsValue` in packages/compiler/src/semantics.ts (the
 * runtime does not import the compiler); test/exact-sum.test.ts holds the two equal on random
 * inputs. Hand-written because no small, maintained package does this.
 */

/** Adds `x` to `partials` in place; false when a partial became non-finite (then `partials` is spent). */
export function addPartial(partials: number[], x: number): boolean {
  let i = 0;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j]!;
    if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) partials[i++] = lo;
    x = hi;
  }
  partials.length = i;
  partials.push(x);
  return x - x === 0;
}

/** The exact sum that `partials` hold, rounded once to the nearest double (ties to even); `0` for none. */
export function partialsValue(partials: readonly number[]): number {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // `hi + lo` rounded to `hi` by a tie to even; the partials below `lo` say which way the exact sum leans
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi === 0 ? 0 : hi;
}
