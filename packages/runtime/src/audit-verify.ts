/**
 * Verifies an audit log written by audit.ts: every record's hash, and the chain of `seq` and
 * `prev` from the first record to the last. Reports the first problem, named by kind.
 *
 * It reads the log line by line and keeps only the position of the last record, so a log of
 * any size verifies in constant memory (`verifyAuditLogFile` streams a file; `verifyAuditLog`
 * takes text). Only when a record does not fit the chain is the log read a second time, to say
 * whether it was edited, deleted, inserted or reordered.
 *
 * Gaps: after a sink failure the log writes a `gap` record (see audit.ts). It is chained like
 * any record; when it declares `missing: [{ from, to }]` and the records from..to are exactly
 * the ones this log lacks before it, it continues the chain across them. Every gap record is
 * listed in `gaps`, so the loss stays visible.
 *
 * Torn writes: a process killed mid-write leaves a last line without a newline that is not
 * valid JSON. That is `tornTail`, not a problem: every whole record before it is accepted. A
 * fragment in the middle of the log (a write torn by a crash, or cut by a failing disk) is
 * accepted only when the record after it is a gap record that continues the chain, which the
 * writer puts there when it resumes after a torn write; any other line that is not a record is
 * a problem.
 *
 * Shipped copies (`shipped: true`): a collector's copy of a chain lacks the records the shipper
 * dropped from a full buffer or skipped because the collector refused them; a `shipping` record
 * later in the chain declares each such range (`from`, `to`, and `dropped` or `refused`). The
 * chain is continued across a missing range (the record after it cannot be linked) only when a
 * later `shipping` record declares that range, by the end of the log; the ranges are listed in
 * `gaps` too. A collector's file may hold several chains one after the other (replicas, or a new
 * file after a restart, each start at seq 0): a record 0 that starts from the genesis hash after
 * the first record ends the chain before it (which must be whole by then) and starts the next;
 * `chains` counts them, a chain that appears twice is a problem, and `heads` gives each chain's
 * id, last seq and last hash. A copy proves no more than its heads: whoever holds it can cut a
 * chain's newest records or write new records, `shipping` ones included, and hash them, so a
 * copy is trusted as far as each head matches the head of the chain the process wrote (its local
 * file, or a head kept where the copy's holder cannot change it).
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

/** A gap record: records lost to a failing sink, and the range this log misses, if any. */
export interface AuditGap {
  line: number;
  seq: number;
  /** Records no sink stored. */
  lost: number;
  /** The records this log lacks before the gap record, when it lacks any. */
  from: number | null;
  to: number | null;
  reason: string;
  /** Set when the range is one a shipped copy misses, declared by a `shipping` record (not a gap record). */
  shipping?: true;
}

export interface VerifyResult {
  ok: boolean;
  /** Whole records accepted (before the problem, if there is one). */
  records: number;
  problem: AuditProblem | null;
  /** The log ends in a torn write (from a crash); it is ignored. */
  tornTail: boolean;
  /** 1-based lines of every torn write the chain continues across, including the tail (the first 1,000). */
  tornLines: number[];
  /** The gap records in the log (the first 1,000). */
  gaps: AuditGap[];
  /** The chains the log holds: 1, or with `shipped`, each one starting at record 0 (0 for an empty log). */
  chains: number;
  /** With `shipped`: each chain's id (its record 0's hash, null when the copy lacks record 0), last seq and last hash (the first 1,000). */
  heads: ChainHead[];
}

export interface ChainHead {
  chain: string | null;
  /** 1-based line of the chain's first record in the log. */
  line: number;
  last: number;
  hash: string;
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
const START: Position = { seq: -1, hash: GENESIS_HASH, line: 0 };
/** Lists in a result stop growing here, so that memory stays bounded on any log. */
const LIST_CAP = 1000;

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
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) entry.error = `line ${line} is not an audit record: \`seq\` is not a non-negative integer`;
  else if (typeof r.prev !== "string" || !HASH_RE.test(r.prev)) entry.error = `line ${line} is not an audit record: \`prev\` is not a SHA-256 hash`;
  else if (typeof r.hash !== "string" || !HASH_RE.test(r.hash)) entry.error = `line ${line} is not an audit record: \`hash\` is not a SHA-256 hash`;
  else entry.record = r as ChainRecord;
  return entry;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

const describe = (p: Position): string => (p.line === 0 ? "the start of the log" : `record ${p.seq} (line ${p.line})`);

/**
 * The range a gap record says this log misses right before it, if it covers the records after
 * `last` up to the gap, for the sink this log is a copy of (`sink`). A range declared for another sink
 * does not excuse missing records here: otherwise deleting records behind some other sink's gap
 * would pass. `other` is the name of such a sink, for the message.
 */
function declaredRange(r: ChainRecord, last: Position, sink: string | null): { from: number; to: number; other: string | null } | null {
  if (r.kind !== "gap" || !Array.isArray(r.missing)) return null;
  let other: string | null = null;
  for (const m of r.missing as unknown[]) {
    if (typeof m !== "object" || m === null) continue;
    const { from, to, sink: named } = m as Record<string, unknown>;
    // the range may start before the next record: a write that timed out can still have been
    // stored, late but in order; what it excuses is only what this log lacks, next..to
    const next = last.seq + 1;
    if (!(typeof from === "number" && from <= next && to === r.seq - 1 && to >= next)) continue;
    if (named === sink) return { from: next, to, other: null };
    other ??= typeof named === "string" ? named : null;
  }
  return other === null ? null : { from: -1, to: -1, other };
}

/**
 * The first pass: takes the lines in order, accepts the records that continue the chain, and
 * stops at the first problem. A record that is whole but does not fit is left for `Classifier`.
 */
export class ChainCheck {
  /** The sink this log is a copy of (`options.sink`): only ranges declared missing for it are excused. */
  private readonly sink: string | null;
  private readonly shipped: boolean;
  constructor(options: VerifyOptions = {}) {
    this.sink = options.sink ?? null;
    this.shipped = options.shipped === true;
  }
  /** Shipped copies: ranges missing before a record, waiting for a later `shipping` record to declare them. */
  private undeclared: Array<{ from: number; to: number; line: number; seq: number }> = [];
  records = 0;
  private chains = 0;
  private readonly heads: ChainHead[] = [];
  /** Ids of the chains seen, to refuse one that appears twice. */
  private readonly chainIds = new Set<string>();
  private last: Position = START;
  private readonly tornLines: number[] = [];
  private readonly gaps: AuditGap[] = [];
  /** Lines of fragments waiting for a gap record to continue the chain after them. */
  private fragments: number[] = [];
  private tornTail = false;
  problem: AuditProblem | null = null;
  /** A record that does not fit the chain, and where the chain stood: for the second pass. */
  misfit: { line: number; record: ChainRecord; last: Position } | null = null;

  private fail(line: number, seq: number | null, kind: AuditProblemKind, message: string): false {
    this.problem = { line, seq, kind, message };
    return false;
  }

  private note(list: number[] | AuditGap[], item: never): void {
    if (list.length < LIST_CAP) (list as unknown[]).push(item);
  }

  /**
   * One line, without its newline; `unterminated` when it is the last line and no newline
   * follows it. False when verification stops here.
   */
  line(n: number, text: string, unterminated: boolean): boolean {
    const e = parseLine(n, text.endsWith("\r") ? text.slice(0, -1) : text);
    const r = e.record;
    if (!r) {
      if (unterminated && e.notJson) {
        if (this.fragments.length > 0) return this.fragmentProblem(null);
        this.tornTail = true;
        this.note(this.tornLines, n as never);
        return false;
      }
      if (e.notJson && e.text.startsWith("{")) {
        this.fragments.push(n);
        return true;
      }
      return this.fail(n, null, "malformed", e.error ?? `line ${n} is not an audit record`);
    }
    const { hash, ...body } = r;
    if (sha256(canonicalJson(body)) !== hash) return this.fail(n, r.seq, "edited", `record ${r.seq} (line ${n}) was edited: its hash does not match its contents`);
    if (canonicalJson(r) !== e.text) return this.fail(n, r.seq, "edited", `record ${r.seq} (line ${n}) was edited: its text is not the canonical JSON of its contents`);
    if (this.shipped && r.seq === 0 && r.prev === GENESIS_HASH && this.last !== START) {
      // the next chain of a collector's file: the one before it ends here, whole
      if (this.fragments.length > 0) return this.fragmentProblem({ line: n, record: r });
      if (this.undeclaredProblem()) return false;
      this.last = START;
    }
    if (this.last === START) {
      this.chains++;
      const id = r.seq === 0 && r.prev === GENESIS_HASH ? r.hash : null;
      if (this.shipped && id !== null) {
        if (this.chainIds.has(id)) return this.fail(n, r.seq, "inserted", `record 0 (line ${n}) starts chain ${id.slice(0, 12)} a second time: a collector keeps each chain once`);
        if (this.chainIds.size < LIST_CAP) this.chainIds.add(id);
      }
      if (this.heads.length < LIST_CAP) this.heads.push({ chain: id, line: n, last: -1, hash: GENESIS_HASH });
    }
    const last = this.last;
    const links = r.seq === last.seq + 1 && r.prev === last.hash;
    const declared = links ? null : declaredRange(r, last, this.sink);
    if (declared !== null && declared.other !== null) {
      const n0 = r.seq - 1 - last.seq;
      return this.fail(
        n,
        r.seq,
        "deleted",
        `${n0 === 1 ? `record ${last.seq + 1} is` : `records ${last.seq + 1}–${r.seq - 1} are`} missing before record ${r.seq} (line ${n}); its gap record declares them missing only from the sink \`${declared.other}\`: if this file is that sink's copy, verify it as such (\`--sink "${declared.other}"\`)`,
      );
    }
    const range = declared;
    if (this.fragments.length > 0) {
      // fragments are torn writes only when the gap record after them declares that many
      const torn = typeof r.torn === "number" ? r.torn : 0;
      if (r.kind !== "gap" || (!links && range === null) || torn < this.fragments.length) return this.fragmentProblem({ line: n, record: r });
      for (const f of this.fragments) this.note(this.tornLines, f as never);
      this.fragments = [];
    }
    if (!links && range === null) {
      // a shipped copy: records missing here may be declared by a later shipping record
      if (!this.shipped || this.fragments.length > 0 || r.seq <= last.seq + 1 || this.undeclared.length >= LIST_CAP) {
        this.misfit = { line: n, record: r, last };
        return false;
      }
      this.undeclared.push({ from: last.seq + 1, to: r.seq - 1, line: n, seq: r.seq });
    }
    if (this.shipped && r.kind === "shipping" && this.undeclared.length > 0) {
      const { from, to } = r;
      const count = typeof r.dropped === "number" ? r.dropped : typeof r.refused === "number" ? r.refused : null;
      if (Number.isSafeInteger(from) && Number.isSafeInteger(to) && count !== null) {
        const covered = this.undeclared.filter((u) => u.from >= (from as number) && u.to <= (to as number));
        const missing = covered.reduce((k, u) => k + u.to - u.from + 1, 0);
        if (covered.length > 0 && missing <= count) {
          this.undeclared = this.undeclared.filter((u) => !covered.includes(u));
          for (const u of covered) this.note(this.gaps, { line: n, seq: r.seq, lost: 0, from: u.from, to: u.to, reason: typeof r.reason === "string" ? r.reason : "", shipping: true } as never);
        }
      }
    }
    if (r.kind === "gap") {
      const lost = typeof r.lost === "number" ? r.lost : 0;
      const gap: AuditGap = { line: n, seq: r.seq, lost, from: range?.from ?? null, to: range?.to ?? null, reason: typeof r.reason === "string" ? r.reason : "" };
      this.note(this.gaps, gap as never);
    }
    this.last = { seq: r.seq, hash, line: n };
    const head = this.heads.length === this.chains ? this.heads[this.heads.length - 1] : undefined;
    if (head !== undefined) {
      head.last = r.seq;
      head.hash = hash;
    }
    this.records++;
    return true;
  }

  private fragmentProblem(next: { line: number; record: ChainRecord } | null): false {
    const first = this.fragments[0]!;
    const after =
      next === null
        ? "the log ends after it"
        : `record ${next.record.seq} (line ${next.line}) after it is not a gap record that continues from ${describe(this.last)} and declares ${this.fragments.length === 1 ? "a torn write" : `${this.fragments.length} torn writes`}`;
    return this.fail(first, null, "malformed", `line ${first} is not valid JSON, and only the last line may be a torn write: ${after}`);
  }

  /** A range missing from a shipped copy that no shipping record declared by the end of its chain: true, and the problem set. */
  private undeclaredProblem(): boolean {
    const u = this.undeclared[0];
    if (u === undefined) return false;
    const what = u.from === u.to ? `record ${u.from} is` : `records ${u.from}–${u.to} are`;
    this.fail(u.line, u.seq, "deleted", `${what} missing before record ${u.seq} (line ${u.line}), and no shipping record after it declares them dropped or refused`);
    return true;
  }

  /** The result once every line was taken (or verification stopped). */
  result(): VerifyResult {
    if (this.problem === null && this.misfit === null && this.fragments.length > 0) this.fragmentProblem(null);
    if (this.problem === null && this.misfit === null) this.undeclaredProblem();
    const ok = this.problem === null && this.misfit === null;
    return { ok, records: this.records, problem: this.problem, tornTail: ok && this.tornTail, tornLines: this.tornLines, gaps: this.gaps, chains: this.chains, heads: this.shipped ? this.heads : [] };
  }
}

/**
 * The second pass, after a record that does not fit the chain: finds the few records that say
 * what happened to it (a copy of it before it, the record it claims to follow, the record that
 * follows that one, whether any record follows the last accepted one, the next record), keeping
 * only those, and names the problem as the first pass would have with the whole log in memory.
 */
export class Classifier {
  private copyLine: number | null = null;
  private pred: Position | null = null;
  private sibling: Position | null = null;
  private followed = false;
  private next: { line: number; record: ChainRecord } | null = null;

  constructor(private readonly misfit: { line: number; record: ChainRecord; last: Position }) {}

  line(n: number, text: string): boolean {
    const e = parseLine(n, text.endsWith("\r") ? text.slice(0, -1) : text);
    const r = e.record;
    if (!r) return true;
    const { record: m, line: at, last } = this.misfit;
    if (n < at && this.copyLine === null && r.hash === m.hash) this.copyLine = n;
    if (this.pred === null && r.hash === m.prev) this.pred = { seq: r.seq, hash: r.hash, line: n };
    if (n < at && this.sibling === null && r.prev === m.prev) this.sibling = { seq: r.seq, hash: r.hash, line: n };
    if (r.prev === last.hash) this.followed = true;
    if (n > at && this.next === null) this.next = { line: n, record: r };
    return true;
  }

  problem(): AuditProblem {
    const { record: r, line, last } = this.misfit;
    const fail = (l: number, seq: number | null, kind: AuditProblemKind, message: string): AuditProblem => ({ line: l, seq, kind, message });
    const self = `record ${r.seq} (line ${line})`;
    if (this.copyLine !== null) return fail(line, r.seq, "inserted", `${self} was inserted: it is a copy of line ${this.copyLine}`);
    const pred = this.pred;
    if (pred && pred.line > line) return fail(line, r.seq, "reordered", `${self} is out of order: it belongs after record ${pred.seq} (line ${pred.line})`);
    const before = r.prev === GENESIS_HASH ? START : pred && pred.line < line ? pred : null;
    if (before) {
      if (before.hash === last.hash) {
        // it follows the previous record, but its own seq was changed (and its hash recomputed)
        return fail(line, r.seq, "edited", `${self} was edited: it follows ${describe(last)} but its seq is ${r.seq}, not ${last.seq + 1}`);
      }
      // Two records claim to follow `before`: the first accepted one after it, and this one.
      const x = this.sibling ?? last;
      if (this.followed) {
        // the records in between lead on to the rest of the log: this one is the intruder
        return fail(line, r.seq, "inserted", `${self} was inserted: it claims to follow ${describe(before)}, which record ${x.seq} (line ${x.line}) already follows`);
      }
      const what = x.line === last.line ? `record ${x.seq} (line ${x.line}) was inserted` : `records ${x.seq}–${last.seq} (lines ${x.line}–${last.line}) were inserted`;
      return fail(x.line, x.seq, "inserted", `${what}: ${self} follows ${describe(before)} directly`);
    }
    const next = this.next;
    if (next && next.record.seq === last.seq + 1 && next.record.prev === last.hash) {
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
  }
}

/** Calls `f` with every line of a text (1-based), and whether it is a last line without a newline; stops when f returns false. */
function eachLine(text: string, f: (n: number, line: string, unterminated: boolean) => boolean): void {
  let start = 0;
  for (let n = 1; start < text.length; n++) {
    const nl = text.indexOf("\n", start);
    const end = nl < 0 ? text.length : nl;
    if (!f(n, text.slice(start, end), nl < 0)) return;
    start = end + 1;
  }
}

/** Verifies the text of a whole log. */
export interface VerifyOptions {
  /**
   * The name of the sink this log is a copy of (as gap records name sinks, e.g. `file audit.jsonl`).
   * Records a gap record declares missing from that sink are accepted as missing; without it,
   * only a log that holds every record verifies.
   */
  sink?: string;
  /**
   * The log is a collector's copy of a shipped chain: records missing from it are accepted where a
   * later `shipping` record declares them (dropped from a full buffer, or refused by the collector).
   */
  shipped?: boolean;
}

export function verifyAuditLog(text: string, options: VerifyOptions = {}): VerifyResult {
  const check = new ChainCheck(options);
  eachLine(text, (n, line, unterminated) => check.line(n, line, unterminated));
  if (check.misfit !== null) {
    const classifier = new Classifier(check.misfit);
    eachLine(text, (n, line) => classifier.line(n, line));
    check.problem = classifier.problem();
    check.misfit = null;
  }
  return check.result();
}
