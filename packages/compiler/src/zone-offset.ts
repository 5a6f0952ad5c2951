/**
 * A time zone's offset from UTC at an instant, read from `Intl.DateTimeFormat` and cached per UTC
 * hour, so that `time.hour` and the other local fields cost little more than the UTC ones
 * (`Intl.DateTimeFormat#formatToParts` takes tens of microseconds; a cache hit a few
 * nanoseconds). The emitted twin is `$zoneOffset` in `codegen/prelude.ts`.
 *
 * An hour is cached only when the offset at its first and its last second agree; an hour with a
 * transition in it (DST starts or ends, a zone changes its standard offset) is read from `Intl`
 * on every call. This assumes no zone changes its offset twice within one hour, which no zone in
 * the tz database does. The cache is direct-mapped (256 hours, about ten days around the times
 * decided), so its memory is fixed. No library: the zone rules are the JavaScript runtime's own
 * (`Intl`), and what is added is a lookup table.
 */

const HOUR_MS = 3_600_000;
const SLOTS = 256;
/** Before the first transition in the tz database (1844), every zone keeps its first offset. */
const FIRST_TRANSITION_BEFORE = Date.UTC(1800, 0, 1);

export class ZoneOffsets {
  private readonly format: Intl.DateTimeFormat;
  private readonly hours = new Float64Array(SLOTS).fill(Number.NaN);
  private readonly offsets = new Float64Array(SLOTS);

  constructor(zone: string) {
    this.format = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
  }

  /** Milliseconds to add to an instant to get its wall-clock reading in the zone, as if UTC. */
  offsetAt(epochMs: number): number {
    const hour = Math.floor(epochMs / HOUR_MS);
    const slot = hour & (SLOTS - 1);
    if (this.hours[slot] === hour) return this.offsets[slot]!;
    const first = this.measure(hour * HOUR_MS);
    if (first !== this.measure(hour * HOUR_MS + HOUR_MS - 1000)) return this.measure(epochMs);
    this.hours[slot] = hour;
    this.offsets[slot] = first;
    return first;
  }

  /** The offset at an instant, from `Intl` (whole seconds: the tz database's resolution). */
  private measure(epochMs: number): number {
    const t = Math.floor(Math.max(epochMs, FIRST_TRANSITION_BEFORE) / 1000) * 1000;
    let year = 0,
      month = 0,
      day = 0,
      hour = 0,
      minute = 0,
      second = 0;
    for (const part of this.format.formatToParts(t)) {
      switch (part.type) {
        case "year":
          year = Number(part.value);
          break;
        case "month":
          month = Number(part.value);
          break;
        case "day":
          day = Number(part.value);
          break;
        case "hour":
          hour = Number(part.value);
          break;
        case "minute":
          minute = Number(part.value);
          break;
        case "second":
          second = Number(part.value);
          break;
      }
    }
    return Date.UTC(year, month - 1, day, hour, minute, second) - t;
  }
}
