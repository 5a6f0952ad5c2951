/**
 * Verifies an audit log written by audit.ts: every record's hash, and the chain of `seq` and
 * `prev` from the first record to the last. Reports the first problem, named by kind.
 *
 * Torn writes: a process killed mid-write leaves a final line without a newline that is not
 * valid JSON. That is `tornTail`, not a problem: every whole record before it is accepted. After
 * a restart, `fileSink` continues on a fresh line, so such a fragment can also sit between
 * records; it is accepted (and listed in `tornLines`) only when it starts like a record (`{`),
 * is not valid JSON, and the next record continues the chain exactly where it stood before the
 * fragment, so the fragment cannot hide, replace or reorder a record.
 *
 * Like any hash chain read on its own, this cannot tell that the newest records were cut off.
 */
import { GENESIS_HASH } from "./audit.js";
import { canonicalJson, sha256 } from "./hash.js";

export type AuditProblemKind = "malformed" | "edited" | "deleted" | "inserted" | "reordered";

export interface AuditProblem {
  /** 1-based line of the offending record. */
  line: number;
  /** Its seq, when it has one. */
  seq: number | null;
  kind: AuditProblemKind;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Whole records accepted (before the problem, if there is one). */
  records: number;
  problem: AuditProblem | null;
  /** The log ends in a torn write (from a crash); it is ignored. */
  tornTail: boolean;
  /** 1-based lines of every torn write the chain continues across, including the tail. */
  tornLines: number[];
}

interface ChainRecord {
  seq: number;
  prev: string;
  hash: string;
  [field: string]: unknown;
}

interface Entry {
  line: number;
  text: string;
  record: ChainRecord | null;
  /** Why the line is not a record. */
  error: string | null;
  /** Not valid JSON (as opposed to JSON that is not a record). */
  notJson: boolean;
}

interface Position {
  seq: number;
  hash: string;
  /** 0 for the start of the log. */
  line: number;
}

const HASH_RE = /^[0-9a-f]{64}$/;

function parseLine(line: number, text: string): Entry {
  const entry: Entry = { line, text, record: null, error: null, notJson: false };
  if (text === "") {
    entry.error = `line ${line} is empty`;
    return entry;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    entry.error = `line ${line} is not valid JSON`;
    entry.notJson = true;
    return entry;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    entry.error = `line ${line} is not an audit record: it is not a JSON object`;
    return entry;
  }
  const r = v as Record<string, unknown>;
  if (!Number.isSafeInteger(r["seq"]) || (r["seq"] as number) < 0) entry.error = `line ${line} is not an audit record: \`seq\` is not a non-negative integer`;
  else if (typeof r["prev"] !== "string" || !HASH_RE.test(r["prev"])) entry.error = `line ${line} is not an audit record: \`prev\` is not a SHA-256 hash`;
  else if (typeof r["hash"] !== "string" || !HASH_RE.test(r["hash"])) entry.error = `line ${line} is not an audit record: \`hash\` is not a SHA-256 hash`;
  else entry.record = r as ChainRecord;
  return entry;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

export function verifyAuditLog(text: string): VerifyResult {
  const parts = text.split("\n");
  const endsWithNewline = text.endsWith("\n");
  if (endsWithNewline || text === "") parts.pop();
  const entries = parts.map((p, i) => parseLine(i + 1, p.endsWith("\r") ? p.slice(0, -1) : p));

  // Every record in the file by hash (first occurrence) and every hash some record follows.
  const byHash = new Map<string, Entry & { record: ChainRecord }>();
  const followed = new Set<string>();
  for (const e of entries) {
    if (!e.record) continue;
    if (!byHash.has(e.record.hash)) byHash.set(e.record.hash, e as Entry & { record: ChainRecord });
    followed.add(e.record.prev);
  }

  const accepted = new Map<string, Position>();
  const chain: Position[] = [];
  let last: Position = { seq: -1, hash: GENESIS_HASH, line: 0 };
  let records = 0;
  const tornLines: number[] = [];
  let fragments: Entry[] = []; // torn-write candidates waiting for the chain to continue
  let tornTail = false;

  const describe = (p: Position): string => (p.line === 0 ? "the start of the log" : `record ${p.seq} (line ${p.line})`);
  const fail = (line: number, seq: number | null, kind: AuditProblemKind, message: string): VerifyResult => ({
    ok: false,
    records,
    problem: { line, seq, kind, message },
    tornTail: false,
    tornLines,
  });
  const links = (r: ChainRecord): boolean => r.seq === last.seq + 1 && r.prev === last.hash;

  /** Names the problem with a record that is whole and hashes correctly but does not follow `last`. */
  const classify = (e: Entry, index: number, r: ChainRecord): VerifyResult => {
    const { line } = e;
    const self = `record ${r.seq} (line ${line})`;
    const dup = accepted.get(r.hash);
    if (dup) return fail(line, r.seq, "inserted", `${self} was inserted: it is a copy of line ${dup.line}`);

    const pred = byHash.get(r.prev);
    if (pred && pred.line > line) {
      return fail(line, r.seq, "reordered", `${self} is out of order: it belongs after record ${pred.record.seq} (line ${pred.line})`);
    }
    const before = r.prev === GENESIS_HASH ? { seq: -1, hash: GENESIS_HASH, line: 0 } : accepted.get(r.prev);
    if (before) {
      if (before.hash === last.hash) {
        // it follows the previous record, but its own seq was changed (and its hash recomputed)
        return fail(line, r.seq, "edited", `${self} was edited: it follows ${describe(last)} but its seq is ${r.seq}, not ${last.seq + 1}`);
      }
      // Two records claim to follow `before`: the first accepted one after it, and this one.
      const x = chain.find((p) => p.line > before.line) ?? last;
      if (followed.has(last.hash)) {
        // the records in between lead on to the rest of the log: this one is the intruder
        return fail(line, r.seq, "inserted", `${self} was inserted: it claims to follow ${describe(before)}, which record ${x.seq} (line ${x.line}) already follows`);
      }
      const what = x.line === last.line ? `record ${x.seq} (line ${x.line}) was inserted` : `records ${x.seq}–${last.seq} (lines ${x.line}–${last.line}) were inserted`;
      return fail(x.line, x.seq, "inserted", `${what}: ${self} follows ${describe(before)} directly`);
    }

    const next = entries.slice(index + 1).find((x) => x.record !== null);
    if (next?.record && links(next.record)) {
      return fail(line, r.seq, "inserted", `${self} was inserted: it does not fit the chain, and record ${next.record.seq} (line ${next.line}) follows ${describe(last)} directly`);
    }
    if (r.seq > last.seq + 1) {
      const first = last.seq + 1;
      const n = r.seq - first;
      const missing = n === 1 ? `record ${first} is` : `records ${first}–${r.seq - 1} are`;
      return fail(line, r.seq, "deleted", `${self} does not follow ${describe(last)}: ${missing} missing before it (${n} ${plural(n, "record", "records")} deleted)`);
    }
    if (r.seq === last.seq + 1) {
      if (last.line === 0) return fail(line, r.seq, "edited", `${self} was edited: its prev does not start the chain`);
      return fail(last.line, last.seq, "edited", `record ${last.seq} (line ${last.line}) was edited or replaced: ${self} was chained to a different record ${last.seq}`);
    }
    if (r.seq < last.seq) return fail(line, r.seq, "reordered", `${self} is out of order: its seq goes back from ${last.seq} to ${r.seq}`);
    return fail(line, r.seq, "inserted", `${self} was inserted: seq ${r.seq} repeats ${describe(last)}`);
  };

  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const isFinal = i === entries.length - 1;
    const r = e.record;
    if (!r) {
      if (isFinal && !endsWithNewline && e.notJson) {
        tornTail = true;
        tornLines.push(...fragments.map((f) => f.line), e.line);
        fragments = [];
        break;
      }
      if (e.notJson && e.text.startsWith("{")) {
        fragments.push(e);
        continue;
      }
      return fail(e.line, null, "malformed", e.error ?? `line ${e.line} is not an audit record`);
    }
    const first = fragments[0];
    if (first) {
      if (!links(r)) {
        return fail(first.line, null, "malformed", `line ${first.line} is not valid JSON, and the chain does not continue across it: record ${r.seq} (line ${e.line}) does not follow ${describe(last)}`);
      }
      tornLines.push(...fragments.map((f) => f.line));
      fragments = [];
    }
    const { hash, ...body } = r;
    if (sha256(canonicalJson(body)) !== hash) return fail(e.line, r.seq, "edited", `record ${r.seq} (line ${e.line}) was edited: its hash does not match its contents`);
    if (canonicalJson(r) !== e.text) return fail(e.line, r.seq, "edited", `record ${r.seq} (line ${e.line}) was edited: its text is not the canonical JSON of its contents`);
    if (!links(r)) return classify(e, i, r);
    last = { seq: r.seq, hash, line: e.line };
    accepted.set(hash, last);
    chain.push(last);
    records++;
  }
  // fragments after the last whole record: torn writes at the end (a crash, possibly twice)
  if (fragments.length > 0) {
    tornTail = true;
    tornLines.push(...fragments.map((f) => f.line));
  }
  return { ok: true, records, problem: null, tornTail, tornLines };
}
