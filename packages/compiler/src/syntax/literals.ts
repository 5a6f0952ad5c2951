/** Decoding of literal forms shared by the parser stage, the checker and the test runner. */

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest duration the language accepts: ten years. */
export const MAX_DURATION_MS = 10 * 365 * 86_400_000;

/** `15m` → 900000; `null` when malformed or longer than ten years. */
export function parseDuration(text: string): number | null {
  const m = /^(\d[\d_]*)(ms|s|m|h|d)$/.exec(text);
  if (!m || /__|_$/.test(m[1]!)) return null;
  const n = Number(m[1]!.replace(/_/g, ""));
  const ms = n * unitMs[m[2]!]!;
  return Number.isSafeInteger(ms) && ms <= MAX_DURATION_MS ? ms : null;
}

/** The shortest exact spelling of a duration, e.g. 900000 → `15m`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
