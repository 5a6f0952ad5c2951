/**
 * Replaying an audit log against a candidate policy (`armorc replay`): every recorded call is
 * decided again by the candidate, at its recorded time, with the history its session (and its
 * scopes: `per user.id`, the deployment) had when it was recorded, and the two decisions are
 * compared.
 *
 * The history is the recorded one: an action counts from when the runtime counted it (a `run`
 * decision that allowed it, a `decide` that reserved it, a `record` that ran it outside `run`),
 * and leaves it when the log says it was released. Entries and sessions carry the labels the log
 * recorded (the recorded policy's labels). The candidate's trackers read that history through the
 * runtime's own `SessionTrackers`, so they hold only what their windows need, not the records.
 *
 * What the log does not hold is never guessed: a decision the candidate would make from missing
 * data (the context, which records do not keep; an action the recorded policy redacted; history
 * lost to a gap, a torn or unreadable line or a jump in `seq`) is counted as not reconstructed,
 * with the reason (for the context: the fields the candidate read and the rules that read them),
 * the candidate's rules that need it and the first lines, and not compared. `result` and `output`
 * records keep a hash of the value, not the value: they are counted with the candidate's rules
 * of that stage, which would need it.
 *
 * Records are read line by line (`line`); memory is bounded by the actions inside the
 * candidate's windows (a session idle longer than its longest window is forgotten, but for the
 * labels it collected), the examples kept (`examples` per kind of flip) and the fixed caps below,
 * never by the log. A candidate with a predicate over the whole session or a `since` keeps every
 * session's history: its memory grows with the sessions.
 */
import type { PolicyDecision, PolicyModule } from "@agent-armor/contract";
import { canonicalJsonOrUndefined } from "./hash.js";
import { type Reservation, ScopeUnavailable, SessionTrackers, type Who } from "./history.js";
import type { SessionHistory } from "./types.js";
import { type ActionValidator, compileValidator } from "./validate.js";

/** A decision as the replay compares it: `redact` is an allow that redacted the action. */
export type ReplayKind = "allow" | "deny" | "require_approval" | "redact";

/** One decision that changed, as an example. */
export interface ReplayExample {
  /** 1-based line of the decision record. */
  line: number;
  seq: number | null;
  session: string;
  time: string;
  decisionId: string | null;
  actionType: string | null;
  /** The action's canonical JSON, cut at 2,000 characters (then ending in `…`). */
  action: string;
  old: { decision: ReplayKind; rules: string[] };
  new: { decision: ReplayKind; rules: string[]; errors: string[] };
}

/** A rule whose firing changed: how many replayed decisions it newly fires in, and stops firing in. */
export interface ReplayRuleChange {
  rule: string;
  newlyFires: number;
  stopsFiring: number;
}

/** Decisions not reconstructed for one reason, with the first of them. */
export interface ReplayGap {
  reason: string;
  count: number;
  firstLine: number;
  /** The first lines of these decision records (at most MAX_GAP_LINES). */
  lines: number[];
  /** The candidate's rules that need what the log lacks, when it is known (the context's readers). */
  rules: string[];
}

export interface ReplayReport {
  /** The candidate policy. */
  candidate: { name: string; version: string | null; sourceHash: string };
  /** Lines read. */
  lines: number;
  /** Decision records (calls). */
  decisions: number;
  /** Decisions decided again and compared. */
  replayed: number;
  /** Of those, decided differently. */
  changed: number;
  /** Replayed decisions by `OLD->NEW` (unchanged pairs too, e.g. `allow->allow`). */
  pairs: Record<string, number>;
  /** Rules that newly fire or stop firing, most changes first. */
  rules: ReplayRuleChange[];
  /** The first examples of each flip (`allow->deny`, ...), in log order. */
  examples: Record<string, ReplayExample[]>;
  /** Decisions that could not be reconstructed, by reason. */
  notReconstructed: { count: number; reasons: ReplayGap[] };
  /** Decisions whose action `--schema` rules out: not compared. */
  outsideSchema: number;
  /** `result` and `output` records: not decided again (the log keeps a hash of the value, not the value). */
  stagesNotReplayed: { result: number; output: number };
  /** The candidate's rules that decide results and messages: those the stage records would need. */
  stageRules: { result: string[]; output: string[] };
  /** Lines that are not JSON objects (torn writes, garbage), and the first of them. */
  unreadable: { count: number; firstLine: number | null };
  /** Records missing from the log (declared by gap records, or skipped `seq` numbers). */
  lost: number;
}

export interface ReplayOptions {
  /** Examples kept per kind of flip (default 5). */
  examples?: number;
  /** Only actions this accepts are compared (`--schema`); the others still count in the history. */
  accept?: ActionValidator | null;
  /**
   * The candidate's rules that read each field of the context (`""`: the whole context), to name
   * them where a decision needs the context (the compiled module does not say which rule reads what).
   */
  contextReaders?: ReadonlyMap<string, readonly string[]> | null;
}

/** Pending reservations by decision id: at most this many, as the runtime's default `maxReservations` (the oldest settles). */
const MAX_RESERVED = 10_000;
/**
 * Entries whose `result` record may still add labels, by decision id: at most this many (the
 * oldest settles). A result's record follows its call's within a few records; a log without
 * result records leaves every entry here until it is pushed out, so the bound is small.
 */
const MAX_RELABELLING = 256;
/** Distinct rule ids counted; past it, changes count under OTHER_RULES (rule ids in a log are untrusted). */
const MAX_RULE_IDS = 10_000;
const OTHER_RULES = "(other rules)";
/** Rule ids, sessions and the like are cut here in the report. */
const MAX_TEXT = 200;
const MAX_ACTION_TEXT = 2_000;
/** At most this many labels per record are read (a session holds at most 1,000). */
const MAX_LABELS = 1_000;
/** The lines listed for each reason a decision is not reconstructed. */
const MAX_GAP_LINES = 10;
/** The context fields one decision's reason names (a field name in a reason is cut at MAX_TEXT). */
const MAX_CONTEXT_FIELDS = 10;

const KINDS: readonly string[] = ["allow", "deny", "require_approval"];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

type Rec = Record<string, unknown>;
const own = (r: Rec, k: string): unknown => (Object.hasOwn(r, k) ? r[k] : undefined);
const cut = (s: string, n = MAX_TEXT): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The last time read, and its value: a decision and its outcome record usually share their time. */
let lastTimeText = "";
let lastTimeMs: number | null = null;

/** A record's time in ms, or null when it is not the runtime's ISO-8601 text of a real instant. */
function timeOf(v: unknown): number | null {
  if (typeof v !== "string") return null;
  if (v === lastTimeText) return lastTimeMs;
  let ms: number | null = null;
  if (ISO_TIME.test(v)) {
    const parsed = Date.parse(v);
    // Date.parse rolls a 30th of February over into March: the text must name the instant it parses to
    ms = Number.isFinite(parsed) && new Date(parsed).toISOString().slice(0, 19) === v.slice(0, 19) ? parsed : null;
  }
  lastTimeText = v;
  lastTimeMs = ms;
  return ms;
}

/** The distinct ids of a list of fired rules (`[{ id, effect }]`), whether one of them redacts, and whether one asks for approval. */
function rulesOf(v: unknown): { ids: string[]; redacts: boolean; asks: boolean } {
  const seen = new Set<string>();
  let redacts = false;
  let asks = false;
  if (!Array.isArray(v)) return { ids: [], redacts, asks };
  for (const r of v.slice(0, MAX_RULE_IDS)) {
    if (typeof r !== "object" || r === null) continue;
    const id = own(r as Rec, "id");
    // a record that names a rule twice fired it once
    if (typeof id === "string") seen.add(cut(id));
    const effect = own(r as Rec, "effect");
    if (effect === "redact") redacts = true;
    if (effect === "require_approval") asks = true;
  }
  return { ids: [...seen], redacts, asks };
}

function labelsOf(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out = v.slice(0, MAX_LABELS).filter((l): l is string => typeof l === "string");
  return out.length > 0 ? out : undefined;
}

function kindOf(d: PolicyDecision): ReplayKind {
  if (d.decision === "allow" && d.rules.some((r) => r.effect === "redact")) return "redact";
  return d.decision;
}

/** An action's canonical JSON, or why it has none (a number JSON cannot hold, nesting past the stack). */
function actionText(action: unknown): string {
  try {
    return canonicalJsonOrUndefined(action) ?? "null";
  } catch (e) {
    return `(the action cannot be shown: ${e instanceof Error ? e.message : "it is not JSON"})`;
  }
}

/** A changed decision as an example: the texts from the log cut to their limits. */
function exampleOf(n: number, r: Rec, session: string, action: unknown, old: ReplayExample["old"], d: PolicyDecision): ReplayExample {
  const type = typeof action === "object" && action !== null && !Array.isArray(action) ? own(action as Rec, "type") : undefined;
  const id = own(r, "decisionId");
  const seq = own(r, "seq");
  return {
    line: n,
    seq: Number.isSafeInteger(seq) ? (seq as number) : null,
    session: cut(session),
    time: own(r, "time") as string,
    decisionId: typeof id === "string" ? cut(id) : null,
    actionType: typeof type === "string" ? cut(type) : null,
    action: cut(actionText(action), MAX_ACTION_TEXT),
    old,
    new: { decision: kindOf(d), rules: d.rules.map((x) => x.id), errors: d.errors.map((e) => cut(`${e.rule === null ? "" : `${e.rule}: `}${e.message}`, 500)) },
  };
}

/**
 * An object that stands for a value the log does not hold (the context), and notes which of its
 * fields a decision read (`""`: the whole object): a policy that reads it cannot be replayed from
 * the log.
 */
class Unrecorded {
  readonly read = new Set<string>();
  readonly value: object;
  constructor() {
    const touch = (k: string | symbol): void => {
      // the compiled module's own-field check asks for `__proto__`, which is never a field
      if (typeof k === "string" && k !== "__proto__" && this.read.size < MAX_CONTEXT_FIELDS) this.read.add(cut(k));
    };
    this.value = new Proxy(
      {},
      {
        get: (_t, k) => {
          touch(k);
          return undefined;
        },
        has: (_t, k) => {
          touch(k);
          return false;
        },
        getOwnPropertyDescriptor: (_t, k) => {
          touch(k);
          return undefined;
        },
        ownKeys: () => {
          touch("");
          return [];
        },
      },
    );
  }
}

/** A FIFO of reservations by decision id, at most `max` (the oldest is settled, as the runtime retires one). */
class Pending {
  private readonly map = new Map<string, Reservation>();
  constructor(private readonly max: number) {}
  keep(id: string, r: Reservation): void {
    this.map.get(id)?.settle();
    this.map.delete(id);
    if (this.map.size >= this.max) {
      const [oldest, res] = this.map.entries().next().value as [string, Reservation];
      res.settle();
      this.map.delete(oldest);
    }
    this.map.set(id, r);
  }
  take(id: string): Reservation | undefined {
    const r = this.map.get(id);
    this.map.delete(id);
    return r;
  }
}

/**
 * How far behind the latest time read a session must have been idle, beyond the candidate's
 * longest window, before its history is forgotten: records of concurrent decisions may reach the
 * log a little out of time order.
 */
const EVICT_SLACK_MS = 60_000;

export class Replayer {
  /** Each session's history (trackers, recent actions, labels), as the runtime's memory store keeps it. */
  private readonly sessions = new Map<string, SessionHistory>();
  private readonly trackers = new SessionTrackers({
    get: (s) => this.sessions.get(s),
    set: (s, state) => void this.sessions.set(s, state),
    delete: (s) => void this.sessions.delete(s),
  });
  /**
   * The sessions with history, by the time they last recorded an action, least recent first
   * (only when the longest window is finite): one idle past it is forgotten, its labels kept.
   */
  private readonly idle = new Map<string, number>();
  private readonly validator: ActionValidator | null;
  private readonly examplesPer: number;
  private readonly accept: ActionValidator | null;
  private readonly context = new Unrecorded();
  /** Reserved actions (`decide` with `reserve`), until recorded or released. */
  private readonly reserved = new Pending(MAX_RESERVED);
  /** Entries of actions that ran, until their `result` record adds its labels. */
  private readonly relabelling = new Pending(MAX_RELABELLING);
  /** The longest window of the candidate's trackers (Infinity for a whole session or `since`); 0 without trackers. */
  private readonly longest: number;
  private lastSeq: number | null = null;
  private lastTime = Number.NEGATIVE_INFINITY;
  /** When history was last lost (records missing before it), or null. */
  private lostAt: number | null = null;
  private lostLine = 0;
  private readonly ruleChanges = new Map<string, ReplayRuleChange>();
  private readonly gaps = new Map<string, ReplayGap>();
  private readonly contextReaders: ReadonlyMap<string, readonly string[]>;
  private readonly report_: ReplayReport;

  constructor(
    private readonly module: PolicyModule,
    options: ReplayOptions = {},
  ) {
    this.validator = compileValidator(module.actionSchema, module.actionBranches);
    this.examplesPer = Math.max(0, options.examples ?? 5);
    this.accept = options.accept ?? null;
    this.contextReaders = options.contextReaders ?? new Map();
    this.longest = module.trackers.reduce((m, t) => Math.max(m, t.withinMs === null || t.since !== undefined ? Infinity : t.withinMs), 0);
    const p = module.policy;
    this.report_ = {
      candidate: { name: p.name, version: p.version, sourceHash: p.sourceHash },
      lines: 0,
      decisions: 0,
      replayed: 0,
      changed: 0,
      pairs: {},
      rules: [],
      examples: {},
      notReconstructed: { count: 0, reasons: [] },
      outsideSchema: 0,
      stagesNotReplayed: { result: 0, output: 0 },
      stageRules: { result: p.rules.filter((r) => r.stage === "result").map((r) => r.id), output: p.rules.filter((r) => r.stage === "output").map((r) => r.id) },
      unreadable: { count: 0, firstLine: null },
      lost: 0,
    };
  }

  /** Takes one line of the log (1-based `n`, without its newline). */
  line(n: number, text: string): void {
    const rep = this.report_;
    rep.lines = Math.max(rep.lines, n);
    let v: unknown;
    try {
      v = JSON.parse(text.endsWith("\r") ? text.slice(0, -1) : text);
    } catch {
      v = undefined;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.unreadable(n);
      return;
    }
    const r = v as Rec;
    this.followSeq(n, own(r, "seq"));
    const t = timeOf(own(r, "time"));
    if (t !== null) this.lastTime = Math.max(this.lastTime, t);
    switch (own(r, "kind")) {
      case "decision":
        this.decision(n, r, t);
        return;
      case "outcome":
        this.outcome(r, t);
        return;
      case "result":
      case "output":
        this.stage(r);
        return;
      case "gap":
        this.gap(n, r);
        return;
      default:
      // approval records and others change no history
    }
  }

  /** Marks where the log stops being able to say what the history held. */
  private lose(n: number, records: number): void {
    this.lostAt = this.lastTime;
    this.lostLine = n;
    this.report_.lost += records;
  }

  private unreadable(n: number): void {
    const u = this.report_.unreadable;
    u.count++;
    u.firstLine ??= n;
    // a line that is not a record may have been one: what it held is not known
    this.lose(n, 0);
  }

  private followSeq(n: number, seq: unknown): void {
    if (!Number.isSafeInteger(seq)) return;
    const s = seq as number;
    const expected = this.lastSeq === null ? 0 : this.lastSeq + 1;
    if (s > expected) this.lose(n, s - expected);
    this.lastSeq = s;
  }

  private gap(n: number, r: Rec): void {
    const lost = own(r, "lost");
    const torn = own(r, "torn");
    const missing = own(r, "missing");
    const count = typeof lost === "number" && lost > 0 ? lost : 0;
    if (count > 0 || (typeof torn === "number" && torn > 0) || (Array.isArray(missing) && missing.length > 0)) this.lose(n, count);
  }

  private who(r: Rec): Who {
    const user = own(r, "user");
    return { user: user === null ? undefined : user, context: this.context.value };
  }

  /** A decision record: decided again and compared when it can be, then its effect on the history. */
  private decision(n: number, r: Rec, now: number | null): void {
    const rep = this.report_;
    rep.decisions++;
    const session = own(r, "session");
    const action = own(r, "action");
    const old = rulesOf(own(r, "rules"));
    const labels = labelsOf(own(r, "labels"));
    const why = this.cannotReplay(r, session, now, old.redacts);
    if (why !== null) this.notReconstructed(n, why);
    else this.compare(n, r, session as string, action, now!, old);
    if (typeof session !== "string" || now === null || !Object.hasOwn(r, "action")) return;
    // what the runtime did with the session after this decision, as the log records it
    if (labels !== undefined) this.trackers.addLabels(session, labels);
    if (own(r, "decision") !== "allow" || this.module.trackers.length === 0) return;
    const mode = own(r, "mode");
    const reserved = mode === "decide" && own(r, "reserved") === true;
    if (mode !== "run" && !reserved) return;
    const id = own(r, "decisionId");
    const entry = this.trackers.record(session, action, now, [this.module.trackers], labels, typeof id === "string", this.who(r));
    this.active(session, now);
    if (typeof id !== "string") return;
    if (reserved) this.reserved.keep(id, entry);
    this.relabelling.keep(id, entry);
  }

  /** Why a decision record cannot be decided again from the log, or null. */
  private cannotReplay(r: Rec, session: unknown, now: number | null, redacted: boolean): string | null {
    if (typeof session !== "string") return "the record names no session";
    if (now === null) return "the record's time is not an ISO-8601 time";
    if (!Object.hasOwn(r, "action")) return "the record holds no action (it was not JSON)";
    if (!KINDS.includes(own(r, "decision") as string)) return "the record's decision is not allow, deny or require_approval";
    if (redacted) return "the log holds the action as the recorded policy redacted it, not as it was asked for";
    return null;
  }

  private notReconstructed(n: number, reason: string, rules: string[] = []): void {
    const nr = this.report_.notReconstructed;
    nr.count++;
    const g = this.gaps.get(reason);
    if (g !== undefined) {
      g.count++;
      if (g.lines.length < MAX_GAP_LINES) g.lines.push(n);
    } else {
      const fresh = { reason, count: 1, firstLine: n, lines: [n], rules };
      this.gaps.set(reason, fresh);
      nr.reasons.push(fresh);
    }
  }

  /** A decision that read the context: the fields read, and the candidate's rules that read them. */
  private contextGap(n: number): void {
    const fields = [...this.context.read].sort();
    const rules = [...new Set(fields.flatMap((f) => this.contextReaders.get(f) ?? []))];
    const named = fields.map((f) => (f === "" ? "the whole context" : `context.${f}`)).join(", ");
    const by = rules.length === 0 ? "" : ` (${rules.length === 1 ? "rule" : "rules"} ${rules.map((x) => `\`${x}\``).join(", ")})`;
    this.notReconstructed(n, `the candidate reads ${named}${by}, which audit records do not keep`, rules);
  }

  /** Whether history lost earlier may still be inside the candidate's windows at `now`. */
  private historyMissing(now: number): boolean {
    return this.lostAt !== null && this.longest > 0 && now - this.lostAt < this.longest;
  }

  private compare(n: number, r: Rec, session: string, action: unknown, now: number, old: { ids: string[]; asks: boolean }): void {
    if (this.accept !== null && this.accept(action) !== null) {
      this.report_.outsideSchema++;
      return;
    }
    this.context.read.clear();
    const d = this.decide(session, action, now, this.who(r));
    if (this.context.read.size > 0) {
      this.contextGap(n);
      return;
    }
    if (this.historyMissing(now)) {
      this.notReconstructed(n, `records the session's history needs are missing (the log lost records before line ${this.lostLine})`);
      return;
    }
    // an approval asked means the recorded policy required one, whatever the approver said; an
    // allow by a rule that requires approval is one a grant (or an approval) let through
    const approval = own(r, "approval");
    const recorded = own(r, "decision") as ReplayKind;
    const before: ReplayKind = (approval !== null && approval !== undefined) || (recorded === "allow" && old.asks) ? "require_approval" : recorded;
    const after = kindOf(d);
    const rep = this.report_;
    rep.replayed++;
    const pair = `${before}->${after}`;
    rep.pairs[pair] = (rep.pairs[pair] ?? 0) + 1;
    const newRules = d.rules.map((x) => x.id);
    this.countRules(old.ids, newRules);
    if (before === after) return;
    rep.changed++;
    const list = rep.examples[pair] ?? [];
    rep.examples[pair] = list;
    if (list.length < this.examplesPer) list.push(exampleOf(n, r, session, action, { decision: before, rules: old.ids.slice(0, 50) }, d));
  }

  /** The candidate's decision as the runtime would make it (schema, tracker values, decide), never throwing. */
  private decide(session: string, action: unknown, now: number, who: Who): PolicyDecision {
    const deny = (message: string): PolicyDecision => ({ decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message }] });
    try {
      const problems = this.validator?.(action) ?? null;
      if (problems !== null) return { decision: "deny", rules: [], approval: null, action, errors: problems.map((m) => ({ rule: null, message: `invalid action: ${m}` })) };
      const values = this.trackers.values(session, this.module.trackers, now, action, who);
      const full = values.find((v) => v instanceof ScopeUnavailable) as ScopeUnavailable | undefined;
      if (full !== undefined) return deny(full.error);
      const input = { action, user: who.user, context: who.context, time: new Date(now).toISOString(), session: this.trackers.sessionInput(session) };
      return this.module.decide(input, values);
    } catch (e) {
      return deny(`the policy failed: ${(e as Error).message}`);
    }
  }

  private countRules(before: readonly string[], after: readonly string[]): void {
    for (const id of after) if (!before.includes(id)) this.ruleChange(id).newlyFires++;
    for (const id of before) if (!after.includes(id)) this.ruleChange(id).stopsFiring++;
  }

  private ruleChange(id: string): ReplayRuleChange {
    let c = this.ruleChanges.get(id);
    if (c === undefined) {
      if (this.ruleChanges.size >= MAX_RULE_IDS) return this.ruleChange(OTHER_RULES);
      c = { rule: id, newlyFires: 0, stopsFiring: 0 };
      this.ruleChanges.set(id, c);
    }
    return c;
  }

  /** An outcome record: a reservation settled or released, or an action recorded outside `run`. */
  private outcome(r: Rec, now: number | null): void {
    const id = own(r, "decisionId");
    const mode = own(r, "mode");
    if (mode === "release") {
      if (typeof id === "string") this.reserved.take(id)?.cancel();
      return;
    }
    if (mode !== "record") return;
    if (own(r, "reservation") === "settled") {
      if (typeof id === "string") this.reserved.take(id);
      return;
    }
    const session = own(r, "session");
    if (typeof session !== "string" || now === null || !Object.hasOwn(r, "action") || this.module.trackers.length === 0) return;
    this.trackers.record(session, own(r, "action"), now, [this.module.trackers], undefined, false, this.who(r));
    this.active(session, now);
  }

  /** A session recorded an action at `now`: it is the most recent, and the idle ones are forgotten. */
  private active(session: string, now: number): void {
    if (!Number.isFinite(this.longest)) return;
    this.idle.delete(session);
    this.idle.set(session, now);
    const before = this.lastTime - this.longest - EVICT_SLACK_MS;
    for (const [s, last] of this.idle) {
      if (last >= before) break;
      this.idle.delete(s);
      this.forget(s);
    }
  }

  /** Forgets a session's history (nothing in it is inside a window any more), keeping the labels it collected. */
  private forget(session: string): void {
    const labels = this.trackers.sessionInput(session).labels;
    this.trackers.forget(session);
    if (labels.length > 0) this.trackers.addLabels(session, [...labels]);
  }

  /** The sessions whose history (trackers or recent actions) is held: for tests of memory. */
  sessionsHeld(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.trackers.size > 0 || s.recent.length > 0) n++;
    return n;
  }

  /** A `result` or `output` record: its labels reach the session (and a result's, its call's entry). */
  private stage(r: Rec): void {
    const kind = own(r, "kind") as "result" | "output";
    this.report_.stagesNotReplayed[kind]++;
    const session = own(r, "session");
    const labels = labelsOf(own(r, "labels"));
    const id = own(r, "decisionId");
    if (kind === "result" && typeof id === "string") {
      const entry = this.relabelling.take(id);
      if (labels !== undefined) entry?.relabel(labels);
      entry?.settle();
    }
    if (typeof session === "string" && labels !== undefined) this.trackers.addLabels(session, labels);
  }

  /** The report of what was read so far. */
  report(): ReplayReport {
    const rep = this.report_;
    rep.rules = [...this.ruleChanges.values()].sort((a, b) => b.newlyFires + b.stopsFiring - (a.newlyFires + a.stopsFiring) || (a.rule < b.rule ? -1 : 1));
    return rep;
  }
}
