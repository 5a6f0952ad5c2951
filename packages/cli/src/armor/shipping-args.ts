/**
 * The decision-shipping options of `armor serve` and `armor mcp` (`--ship-to URL` and the
 * options that tune it), read into the gateway's ShipConfig.
 */
import type { ShipConfig } from "@agent-armor/gateway/serve";
import { type OptionSpecs, UsageError } from "../args.js";

export const SHIP_USAGE = "[--ship-to URL [--ship-token-file FILE] [--ship-overflow drop|deny] [--ship-batch N] [--ship-interval MS] [--ship-buffer N]]";

export const SHIP_HELP = `  --ship-to URL           send the audit log's records, as they are stored, to a collector: a
                          POST of a gzipped JSON array per batch, retried with backoff (needs --audit;
                          the local file stays the chain; docs/cli.md#decision-shipping)
  --ship-token-file FILE  send \`Authorization: Bearer TOKEN\` (the file's first line) to the collector
  --ship-overflow MODE    when the buffer is full: drop (default; the records stay in the local log
                          and a shipping record says which were not shipped) or deny (decisions
                          are denied until the collector takes records again)
  --ship-batch N          records per batch (default 500)
  --ship-interval MS      the longest a partial batch waits (default 1000)
  --ship-buffer N         records buffered at most (default 10000)
`;

export const SHIP_OPTIONS: OptionSpecs = {
  "ship-to": { type: "string" },
  "ship-token-file": { type: "string" },
  "ship-overflow": { type: "string" },
  "ship-batch": { type: "string" },
  "ship-interval": { type: "string" },
  "ship-buffer": { type: "string" },
};

function count(text: string, flag: string, what: string): number {
  const n = Number(text);
  if (!/^\d{1,9}$/.test(text) || n < 1) throw new UsageError(`${flag} must be a positive number of ${what}, not \`${text}\``);
  return n;
}

/** The shipping options among parsed values, or undefined without --ship-to; `readToken` reads the token file. */
export function shipArgs(values: Record<string, unknown>, audit: string | undefined, readToken: (file: string) => string): ShipConfig | undefined {
  const get = (k: string): string | undefined => (Object.hasOwn(values, k) && typeof values[k] === "string" ? (values[k] as string) : undefined);
  const url = get("ship-to");
  const others = Object.keys(SHIP_OPTIONS).filter((k) => k !== "ship-to" && get(k) !== undefined);
  if (url === undefined) {
    if (others.length > 0) throw new UsageError(`--${others[0]} tunes decision shipping: it needs --ship-to URL`);
    return undefined;
  }
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--ship-to is an http(s) URL, not \`${url}\``);
  try {
    const u = new URL(url);
    if (u.username !== "" || u.password !== "") throw new UsageError("--ship-to must not hold credentials: put the token in --ship-token-file");
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--ship-to is not a URL: \`${url}\``);
  }
  if (audit === undefined) throw new UsageError("--ship-to sends the audit log's records: give --audit FILE too (the local file stays the chain)");
  const overflow = get("ship-overflow");
  if (overflow !== undefined && overflow !== "drop" && overflow !== "deny") throw new UsageError(`--ship-overflow is drop or deny, not \`${overflow}\``);
  const tokenFile = get("ship-token-file");
  const batch = get("ship-batch");
  const interval = get("ship-interval");
  const buffer = get("ship-buffer");
  return {
    url,
    ...(tokenFile !== undefined ? { token: readToken(tokenFile) } : {}),
    ...(overflow !== undefined ? { overflow } : {}),
    ...(batch !== undefined ? { batchRecords: count(batch, "--ship-batch", "records") } : {}),
    ...(interval !== undefined ? { flushIntervalMs: count(interval, "--ship-interval", "milliseconds") } : {}),
    ...(buffer !== undefined ? { bufferRecords: count(buffer, "--ship-buffer", "records") } : {}),
  };
}
