/** Decision ids and the ISO-8601 text of decision times. */

/** ISO-8601 text of a time; the last one is kept, since a decision formats the same instant twice. */
let isoMs = NaN;
let isoText = "";
export function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}

/**
 * Decision ids are unique and start with the time: the time in base 36, a random tag per
 * enforcer (64 bits, so enforcers in other processes do not collide), and a counter. They are not
 * secrets (the approval endpoint lists them), so a counter serves as well as fresh randomness per
 * decision, at a fraction of the cost. They are made of base-36 digits and dashes only, which the
 * audit records rely on (records.ts).
 */
export function idSource(): (now: number) => string {
  const words = globalThis.crypto.getRandomValues(new Uint32Array(2));
  const tag = `${words[0]!.toString(16).padStart(8, "0")}${words[1]!.toString(16).padStart(8, "0")}`;
  let counter = 0;
  // the prefix changes once a millisecond, and formatting a number in base 36 is not cheap
  let prefixMs = NaN;
  let prefix = "";
  return (now) => {
    if (now !== prefixMs) {
      // Number(): a clock that returns something else must not put arbitrary text in an id
      prefix = `${Number(now).toString(36)}-${tag}-`;
      prefixMs = now;
    }
    return `${prefix}${(++counter).toString(36)}`;
  };
}
