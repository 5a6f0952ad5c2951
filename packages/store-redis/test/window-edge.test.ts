/**
 * The window's edge the scripts trim at (scripts.ts WINDOW_EDGE) is the in-memory store's: the
 * latest time t with `now - t >= window` in double arithmetic, for clocks with fractions of a
 * millisecond, near powers of two, and for random times. Run in a real Redis's Lua.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../../../test/support/redis-server.js";
import { redisStore } from "../src/index.js";
import { WINDOW_EDGE } from "../src/scripts.js";

/** The next double above x (finite x). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

const H = 3_600_000;
const T = 1_800_000_000_000;

/** [now, window]: fractional clocks, windows that make now - w round, edges at powers of two. */
const CASES: [number, number][] = [
  [T + H - 0.5, H],
  [T + H + 0.5, H],
  [T - 0.5, H],
  [T + 0.25, 1],
  [T + 0.1, 60_000],
  [2 ** 41 + 0.5, 1],
  [2 ** 41, 2 ** 40 + 0.3],
  [2 ** 53 + 2, 1],
  [0.5, 1],
  [1e-300, 3],
  [12_345.678_9, 0.000_1],
  [T + 1 / 3, H / 3],
  // windows as long as the clock's value: now - w and now - t round at different scales
  [15_032_385_536.000_004, 10_000_000_000.123],
  [15_032_385_536.000_004, 15_032_385_535.9],
  [0.75, 0.5],
  [1, 1e-300],
  [3.3, 0],
  [T + 0.5, T - 0.25],
];

const skip = skipWithoutRedis("store-redis window edge");

describe.skipIf(skip)("the window's edge in Redis is the in-memory store's", () => {
  let redis: RedisServer;
  let store: ReturnType<typeof redisStore>;
  beforeAll(async () => {
    redis = await startRedis();
    store = redisStore({ url: redis.url, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await store?.close();
    await redis?.dispose();
  });

  const edge = async (now: number, w: number): Promise<number> => Number(await store.client.eval(`${WINDOW_EDGE}\nreturn edgeOf(tonumber(ARGV[1]), tonumber(ARGV[2]))`, 0, String(now), String(w)));
  const check = async (now: number, w: number): Promise<void> => {
    const e = await edge(now, w);
    // every time at or before the edge has left the window, and the next one has not
    expect([now, w, now - e >= w, now - nextUp(e) >= w]).toEqual([now, w, true, false]);
  };

  it.each(CASES)("now %d, window %d", async (now, w) => {
    await check(now, w);
  });

  it("for random clocks and windows", async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 1, max: 2 ** 50, noNaN: true }), fc.double({ min: 0, max: 2 ** 40, noNaN: true }), fc.boolean(), async (now, w, near) => {
        // half of the windows as long as the clock's value, where rounding differs most
        await check(now, near ? now * (w / 2 ** 40) * 1.5 : w);
      }),
      { numRuns: 500 },
    );
  });
});
