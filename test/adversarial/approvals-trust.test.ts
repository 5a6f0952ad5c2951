/**
 * Approvals that must stay trustworthy when their store or their callers misbehave: corrupt
 * answers in a Redis approval queue, votes sent while Redis is down, console event streams that
 * try to outlive their sign-in, floods of failed sign-ins, and replicas racing for the last of a
 * grant kept in Redis. Each case is a row of a table; what must hold: a corrupt answer is never
 * trusted and never stops the others, a vote is acknowledged only once stored, a stream ends
 * with its session, guessing tokens is bounded, and a grant's amount is used at most once. A vote
 * answered at a replica that has not seen another replica's vote replies with the count Redis
 * holds. Grants through `decide` at two replicas: the last of a grant reserved at both at once, a
 * record without its reservation past (or within) the amount, a release replayed or by another
 * session, another recipient's or another action's use: the amount is used exactly. A decision
 * made up is granted at no replica, and one edited only as it was issued.
 */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { type ApprovalEndpoint, approversFrom, serveApprovals } from "@agent-armor/gateway";
import { type ApprovalQueue, type ApprovalRequest, type ApprovalResolution, createApprovalQueue, createEnforcer } from "@agent-armor/runtime";
import { type RedisApprovalQueue, redisApprovalQueue } from "@agent-armor/store-redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "../gateway/support.js";
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/redis-server.js";

const sha = (t: string, algorithm = "sha256") => createHash(algorithm).update(t, "utf8").digest("hex");
const TOKENS = { ann: "ann-trust-5e1d77", bob: "bob-trust-90c2aa" };
const APPROVERS = approversFrom([
  { name: "ann", groups: ["finance"], tokenSha256: sha(TOKENS.ann) },
  { name: "bob", groups: ["finance"], tokenSha256: sha(TOKENS.bob) },
]);
const POLICY = `default allow
rule wires when action.type == "wire" require approval from "finance" timeout 20s because "wires need finance"
`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

/** One request with exactly these headers, from `from` (any 127.x.y.z address is this machine's). */
function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown, from = "127.0.0.1"): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const all = { ...(text !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) } : {}), ...headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers: all, localAddress: from }, (res) => {
      let got = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (got += c));
      res.on("end", () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(got) as Record<string, unknown>;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on("error", reject);
    req.end(text);
  });
}

const code = (a: Answer) => (a.json.error as { code?: string } | undefined)?.code;

/** A request as the enforcer makes it, for a queue alone. */
function request(id: string, signal: AbortSignal): ApprovalRequest {
  return {
    id,
    action: { type: "wire", amount: 5000 },
    actionHash: `hash-${id}`,
    rules: [],
    reason: "wires need finance",
    from: "finance",
    timeoutMs: 20_000,
    session: "s",
    user: undefined,
    policy: { name: "p", version: null, sourceHash: "x" },
    signal,
  } as ApprovalRequest;
}

beforeAll(() => assertBuilt());

const skipRedis = skipWithoutRedis("approvals trust against Redis");

describe.skipIf(skipRedis)("a Redis approval queue and its store", () => {
  let redis: RedisServer;
  const queues: RedisApprovalQueue[] = [];
  const open = async (prefix: string) => {
    const q = redisApprovalQueue({ url: redis.url, prefix, timeoutMs: 500, pollMs: 100 });
    queues.push(q);
    await q.ready;
    return q;
  };
  /** Writes `text` as the stored answer of request `id`, as a faulty or hostile writer to Redis would. */
  const plant = async (prefix: string, id: string, text: string) => {
    const { Redis } = await import("ioredis");
    const c = new Redis(redis.url);
    try {
      await c.hset(`${prefix}:{approvals}:a:${sha(id, "sha1")}`, "a", text);
    } finally {
      c.disconnect();
    }
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const q of queues) await q.close();
    await redis?.dispose();
  });

  const CORRUPT: [string, string][] = [
    ["text that is not JSON", "{not json"],
    ["JSON null", "null"],
    ["an object without `approved`", '{"approver":"ann"}'],
    ["`approved` that is a string", '{"approved":"yes","approver":"ann"}'],
    ["a list", "[true]"],
  ];

  it.each(CORRUPT)("never trusts a stored answer that is %s, and still collects the answers after it", async (_what, text) => {
    const prefix = `corrupt-${sha(text).slice(0, 8)}`;
    const [asking, other] = [await open(prefix), await open(prefix)];
    const records: Record<string, unknown>[] = [];
    const enforcer = await createEnforcer({ policy: { source: POLICY, fileName: "w.armor" }, approvals: asking, audit: { callback: (r) => void records.push(r) }, throwOnDeny: false });
    // the corrupt one asks first, so that it is the first the queue collects
    const bad = enforcer.run({ type: "wire", to: "a" }, { session: "bad" }, () => "sent");
    const first = await other.waitFor((p) => p.session === "bad");
    const good = enforcer.run({ type: "wire", to: "b" }, { session: "good" }, () => "sent");
    const second = await other.waitFor((p) => p.session === "good");
    await plant(prefix, first.id, text);
    expect(await other.answer(second.id, { approved: true, approver: "ann", actionHash: second.actionHash })).toBe(true);
    const [b, g] = await Promise.all([bad, good]);
    expect(g.decision.decision).toBe("allow");
    expect(g.result).toBe("sent");
    expect(b.decision.decision).toBe("deny");
    expect(JSON.stringify(b.decision.errors)).toMatch(/not trusted/);
    // on record: the approval of the corrupt one ended in an error that says why
    const ended = records.find((r) => r.kind === "approval" && r.decisionId === first.id && r.event === "error");
    expect(String(ended?.note)).toMatch(/did not expect \(an answer\); the answer is not trusted/);
    await enforcer.close();
  });

  it("carries approve and grant through Redis only when every approving vote asked for it", async () => {
    const [asking, other] = [await open("grant-votes"), await open("grant-votes")];
    const CASES: [string, number, boolean[], boolean][] = [
      ["one approver who grants", 1, [true], true],
      ["one approver who approves once", 1, [false], false],
      ["a quorum of two who both grant", 2, [true, true], true],
      ["a quorum of two, one approving once", 2, [true, false], false],
    ];
    for (const [what, quorum, grants, expected] of CASES) {
      const id = `gv-${what.replace(/\W+/g, "-")}`;
      const answered = asking.request({ ...request(id, new AbortController().signal), quorum } as ApprovalRequest);
      await other.waitFor((p) => p.id === id);
      for (const [i, grant] of grants.entries()) expect(await other.answer(id, { approved: true, approver: `a${i}`, grant })).toBe(true);
      const r = await answered;
      expect([what, r.approved, r.grant === true]).toEqual([what, true, expected]);
    }
  });

  // [what, whether the answering replica's mirror is behind the other replica's vote]
  const MIRRORS: [string, boolean][] = [
    ["has not seen the other replica's vote yet", true],
    ["has seen it", false],
  ];
  it.each(MIRRORS)("a vote's reply carries the count Redis holds after it, when the replica answering %s", async (what, behind) => {
    const prefix = `votes-${behind ? "behind" : "current"}`;
    const [asking, a, b] = [await open(prefix), await open(prefix), await open(prefix)];
    const id = `quorum-3-${prefix}`;
    const answered = asking.request({ ...request(id, new AbortController().signal), quorum: 3 } as ApprovalRequest);
    await a.waitFor((p) => p.id === id);
    const seen = await b.waitFor((p) => p.id === id);
    // replica b's view, frozen before ann votes at replica a when it is behind
    const view = new Proxy(b, { get: (q, k) => (behind && k === "get" ? () => seen : behind && k === "pending" ? () => [seen] : Reflect.get(q, k)) });
    const [atA, atB] = [await serveApprovals(a, { approvers: APPROVERS }), await serveApprovals(view, { approvers: APPROVERS })];
    try {
      const vote = (endpoint: ApprovalEndpoint, token: string) => call(endpoint.url.replace(/\/approvals$/, ""), "POST", `/approvals/${id}`, { authorization: `Bearer ${token}` }, { approved: true });
      expect((await vote(atA, TOKENS.ann)).json).toEqual({ id, resolved: false, votes: 1, quorum: 3 });
      for (let i = 0; !behind && i < 100 && (b.get(id)?.approvers ?? []).length !== 1; i++) await new Promise((r) => setTimeout(r, 20));
      const second = await vote(atB, TOKENS.bob);
      expect([what, second.status, second.json]).toEqual([what, 202, { id, resolved: false, votes: 2, quorum: 3 }]);
    } finally {
      await atA.close();
      await atB.close();
      asking.reject(id, "cleanup");
      await answered.catch(() => undefined);
    }
  });

  describe("votes while the store is down", () => {
    let endpoint: ApprovalEndpoint;
    let queue: RedisApprovalQueue;
    let base: string;
    beforeAll(async () => {
      queue = await open("down");
      endpoint = await serveApprovals(queue, { approvers: APPROVERS });
      base = endpoint.url.replace(/\/approvals$/, "");
    });
    afterAll(async () => {
      await endpoint?.close();
    });

    const CASES: { name: string; down: boolean; expect: number; code?: string }[] = [
      { name: "a vote Redis takes is acknowledged", down: false, expect: 200 },
      { name: "a vote while Redis is down is 503, never 200", down: true, expect: 503, code: "store_unavailable" },
    ];
    it.each(CASES)("$name", async (c) => {
      const controller = new AbortController();
      const id = `vote-${c.down ? "down" : "up"}`;
      const answered = queue.request(request(id, controller.signal));
      answered.catch(() => undefined);
      await expect.poll(() => queue.get(id)).toBeDefined();
      if (c.down) await redis.stop();
      try {
        const r = await call(base, "POST", `/approvals/${id}`, { authorization: `Bearer ${TOKENS.ann}` }, { approved: true });
        expect(r.status).toBe(c.expect);
        if (c.code !== undefined) {
          expect(code(r)).toBe(c.code);
          expect(r.headers["retry-after"]).toBe("1");
          expect(String((r.json.error as { message?: string }).message)).toMatch(/was not stored .*send it again/);
        } else {
          await expect(answered).resolves.toMatchObject({ approved: true, approver: "ann" });
        }
      } finally {
        controller.abort(new Error("done"));
        if (c.down) await redis.start();
      }
    });
  });
});

describe("a queue whose store did not take the vote", () => {
  /** The in-memory queue, with a store that answers `answer` as given. */
  const storing = (answer: (id: string, r: ApprovalResolution) => Promise<boolean>): ApprovalQueue => Object.assign(createApprovalQueue(), { answer });
  const CASES: { name: string; answer: () => Promise<boolean>; status: number; code: string }[] = [
    { name: "rejects (unreachable)", answer: () => Promise.reject(new Error("connection refused")), status: 503, code: "store_unavailable" },
    { name: "settled the request meanwhile (another replica)", answer: () => Promise.resolve(false), status: 404, code: "not_found" },
  ];
  it.each(CASES)("answers $status when the store $name", async (c) => {
    const queue = storing(c.answer);
    const endpoint = await serveApprovals(queue, { approvers: APPROVERS });
    const controller = new AbortController();
    const answered = queue.request(request("r1", controller.signal));
    answered.catch(() => undefined);
    try {
      const r = await call(endpoint.url.replace(/\/approvals$/, ""), "POST", "/approvals/r1", { authorization: `Bearer ${TOKENS.ann}` }, { approved: true });
      expect([r.status, code(r)]).toEqual([c.status, c.code]);
      // nothing was settled here: the request still waits for a vote that is stored
      expect(queue.get("r1")).toBeDefined();
    } finally {
      controller.abort(new Error("done"));
      await endpoint.close();
    }
  });
});

/** An event stream read as it arrives, until it ends. */
function openStream(base: string, cookie: string) {
  let text = "";
  let ended = false;
  const req = httpRequest(`${base}/console/events`, { headers: { cookie } }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (c: string) => (text += c));
    res.on("end", () => (ended = true));
  });
  req.on("error", () => undefined);
  req.end();
  return { text: () => text, ended: () => ended, close: () => req.destroy() };
}

async function signIn(base: string, token: string, from = "127.0.0.1") {
  const r = await call(base, "POST", "/console/session", {}, { token }, from);
  expect(r.status).toBe(200);
  return { cookie: String(r.headers["set-cookie"]).split(";")[0]!, csrf: r.json.csrf as string };
}

describe("console event streams end with their session", () => {
  const CASES: { name: string; ttlMs?: number; end: (base: string, s: { cookie: string; csrf: string }) => Promise<void> }[] = [
    {
      name: "signing out",
      end: async (base, s) => {
        const r = await call(base, "DELETE", "/console/session", { cookie: s.cookie, origin: base, "x-csrf-token": s.csrf });
        expect(r.status).toBe(200);
      },
    },
    {
      name: "being pushed out by 256 newer sign-ins",
      end: async (base) => {
        for (let i = 0; i < 256; i++) await signIn(base, TOKENS.bob);
      },
    },
    { name: "its cookie expiring", ttlMs: 1500, end: async () => undefined },
  ];
  it.each(CASES)("ends the stream on $name", async (c) => {
    const endpoint = await serveApprovals(createApprovalQueue(), { approvers: APPROVERS, console: true, ...(c.ttlMs !== undefined ? { sessionTtlMs: c.ttlMs } : {}) });
    const base = endpoint.consoleUrl!.replace(/\/console$/, "");
    try {
      const s = await signIn(base, TOKENS.ann);
      const stream = openStream(base, s.cookie);
      await expect.poll(() => stream.text()).toContain("event: snapshot");
      await c.end(base, s);
      await expect.poll(() => stream.ended(), { timeout: 4000 }).toBe(true);
      expect(stream.text()).toContain("event: expired");
      // and the cookie no longer opens one
      expect((await call(base, "GET", "/console/events", { cookie: s.cookie })).status).toBe(401);
    } finally {
      await endpoint.close();
    }
  });
});

describe("floods of failed sign-ins", () => {
  type Try = { from: string; token: string; how?: "console" | "bearer" };
  const wrong = (from: string, how: Try["how"] = "console"): Try => ({ from, token: "guess-0000", how });
  const right = (from: string, how: Try["how"] = "console"): Try => ({ from, token: TOKENS.ann, how });
  const times = (n: number, t: Try): Try[] => Array.from({ length: n }, () => t);
  const LIMIT = { perClient: 3, overall: 5, windowMs: 60_000 };
  const CASES: { name: string; tries: Try[]; expect: number[]; windowMs?: number }[] = [
    { name: "a right token after a few wrong ones signs in", tries: [...times(2, wrong("127.0.0.2")), right("127.0.0.2")], expect: [401, 401, 200] },
    { name: "one address past its bound is refused, a right token too", tries: [...times(3, wrong("127.0.0.2")), wrong("127.0.0.2"), right("127.0.0.2")], expect: [401, 401, 401, 429, 429] },
    { name: "another address is not held back by one that guesses", tries: [...times(3, wrong("127.0.0.2")), right("127.0.0.3")], expect: [401, 401, 401, 200] },
    {
      name: "guesses spread over addresses are bounded in all",
      tries: [...times(2, wrong("127.0.0.2")), ...times(2, wrong("127.0.0.3")), wrong("127.0.0.4"), right("127.0.0.5")],
      expect: [401, 401, 401, 401, 401, 429],
    },
    {
      name: "bearer tokens on the approval routes count as sign-ins",
      tries: [...times(3, wrong("127.0.0.2", "bearer")), right("127.0.0.2"), right("127.0.0.2", "bearer")],
      expect: [401, 401, 401, 429, 429],
    },
    { name: "the bound lifts when its window ends", windowMs: 1000, tries: [...times(3, wrong("127.0.0.2")), wrong("127.0.0.2")], expect: [401, 401, 401, 429] },
  ];
  it.each(CASES)("$name", async (c) => {
    const endpoint = await serveApprovals(createApprovalQueue(), { approvers: APPROVERS, console: true, signInLimit: { ...LIMIT, ...(c.windowMs !== undefined ? { windowMs: c.windowMs } : {}) } });
    const base = endpoint.consoleUrl!.replace(/\/console$/, "");
    const attempt = (t: Try) =>
      t.how === "bearer" ? call(base, "GET", "/approvals", { authorization: `Bearer ${t.token}` }, undefined, t.from) : call(base, "POST", "/console/session", {}, { token: t.token }, t.from);
    try {
      const got: Answer[] = [];
      for (const t of c.tries) got.push(await attempt(t));
      expect(got.map((r) => r.status)).toEqual(c.expect);
      for (const r of got.filter((x) => x.status === 429)) {
        expect(code(r)).toBe("too_many_sign_ins");
        const after = Number(r.headers["retry-after"]);
        expect(after).toBeGreaterThanOrEqual(1);
        expect(after).toBeLessThanOrEqual(Math.ceil((c.windowMs ?? LIMIT.windowMs) / 1000));
      }
      if (c.windowMs !== undefined) {
        await new Promise((r) => setTimeout(r, c.windowMs! + 100));
        expect((await attempt(right("127.0.0.2"))).status).toBe(200);
      }
    } finally {
      await endpoint.close();
    }
  });
});

describe.skipIf(skipRedis)("grants shared by replicas on one Redis", () => {
  const GRANTS = `default allow
rule wires when action.type == "wire" require approval from "finance" grant action.to 1h up to 100 of action.amount because "wires need finance"
`;
  let redis: RedisServer;
  const closing: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of closing) await c.close();
    await redis?.dispose();
  });

  /** A replica: an enforcer on the shared Redis whose approver answers what `answer` says (approve and grant, or reject). */
  async function replica(prefix: string, clock?: () => number, options: { reservationTtlMs?: number; failSettle?: { once: boolean } } = {}) {
    const { redisStore } = await import("@agent-armor/store-redis");
    const records: Record<string, unknown>[] = [];
    const state = { grant: true };
    const store = redisStore({ url: redis.url, prefix });
    const fail = options.failSettle;
    if (fail !== undefined) {
      // the grant store's settle fails once when asked to (a connection reset between two calls)
      const real = store.grants;
      const settle = real.settle.bind(real);
      (store as { grants: typeof real }).grants = Object.assign(Object.create(real) as typeof real, {
        settle: async (grantId: string, decisionId: string) => {
          if (fail.once) {
            fail.once = false;
            throw new Error("connection reset");
          }
          return settle(grantId, decisionId);
        },
      });
    }
    const enforcer = await createEnforcer({
      ...(options.reservationTtlMs !== undefined ? { reservationTtlMs: options.reservationTtlMs } : {}),
      policy: { source: GRANTS, fileName: "g.armor" },
      history: store,
      approvals: { request: async () => (state.grant ? { approved: true, approver: "ann", grant: true } : { approved: false, approver: "ann", note: "asked again" }) },
      audit: { callback: (r) => void records.push(r) },
      throwOnDeny: false,
      ...(clock !== undefined ? { clock } : {}),
    });
    closing.push(enforcer, store);
    return { enforcer, records, state };
  }
  const wire = (to: string, amount: number) => ({ type: "wire", to, amount });
  const events = (records: Record<string, unknown>[]) => records.filter((r) => r.kind === "approval").map((r) => r.event);

  it("a grant made at one replica covers the rule's next actions at another, within its amount, for its recipient only", async () => {
    const [a, b] = [await replica("g1"), await replica("g1")];
    b.state.grant = false;
    const first = await a.enforcer.run(wire("acme", 10), { session: "s1" }, () => "sent");
    expect(first.decision.decision).toBe("allow");
    expect(events(a.records)).toContain("grant");
    const CASES: [string, ReturnType<typeof wire>, "allow" | "deny", number | null][] = [
      ["covered, at the other replica", wire("acme", 30), "allow", 70],
      ["another recipient is asked (and rejected)", wire("globex", 1), "deny", null],
      ["more than is left is asked", wire("acme", 70.5), "deny", null],
      ["exactly what is left", wire("acme", 70), "allow", 0],
      ["nothing is left", wire("acme", 0.01), "deny", null],
    ];
    for (const [what, action, expected, remaining] of CASES) {
      const before = b.records.length;
      const { decision } = await b.enforcer.run(action, { session: "s2" }, () => "sent");
      expect([what, decision.decision]).toEqual([what, expected]);
      const used = b.records.slice(before).find((r) => r.event === "grant_used");
      expect([what, used === undefined ? null : used.remaining]).toEqual([what, remaining]);
      if (expected === "allow") expect(decision.grant?.id).toBe(used?.grantId);
    }
  });

  it("two replicas using the last of a grant at once: exactly one gets it, every time", async () => {
    const [a, b] = [await replica("g2"), await replica("g2")];
    for (let round = 0; round < 8; round++) {
      a.state.grant = true;
      const to = `r${round}`;
      expect((await a.enforcer.run(wire(to, 1), { session: "s" }, () => "sent")).decision.decision).toBe("allow");
      a.state.grant = false;
      b.state.grant = false;
      const both = await Promise.all([a.enforcer.run(wire(to, 60), { session: "x" }, () => "sent"), b.enforcer.run(wire(to, 60), { session: "y" }, () => "sent")]);
      expect(both.map((r) => r.decision.decision).sort()).toEqual(["allow", "deny"]);
      expect(both.filter((r) => r.decision.grant !== undefined)).toHaveLength(1);
    }
  });

  it("a tool that fails gives the amount back, and an expired grant is dropped on record", async () => {
    let now = Date.now();
    const [a, b] = [await replica("g3", () => now), await replica("g3", () => now)];
    await a.enforcer.run(wire("acme", 1), { session: "s" }, () => "sent");
    b.state.grant = false;
    await expect(
      b.enforcer.run(wire("acme", 100), { session: "s" }, () => {
        throw new Error("bank down");
      }),
    ).rejects.toThrow(/bank down/);
    expect(events(b.records)).toEqual(expect.arrayContaining(["grant_used", "grant_returned"]));
    expect((await b.enforcer.run(wire("acme", 100), { session: "s" }, () => "sent")).decision.decision).toBe("allow");
    now += 2 * 3_600_000;
    expect((await a.enforcer.run(wire("acme", 0), { session: "s" }, () => "sent")).decision.decision).toBe("allow");
    expect(events(a.records)).toContain("grant_expired");
  });

  it("a reservation's hold outlives it: read at a replica whose clock runs ahead, or after a settle that failed, the amount stays taken", async () => {
    // b's clock is ten minutes ahead of a's (and of Redis's): the hold is measured by Redis's clock
    const [a, b] = [await replica("skew"), await replica("skew", () => Date.now() + 600_000)];
    b.state.grant = false;
    await a.enforcer.run(wire("acme", 0), { session: "s" }, () => "sent");
    a.state.grant = false;
    const d = await a.enforcer.decide(wire("acme", 100), { session: "x" }, { reserve: true });
    expect(d.reserved).toBe(true);
    expect((await b.enforcer.decide(wire("acme", 100), { session: "y" }, { reserve: true })).decision).toBe("require_approval");
    expect(await a.enforcer.record(wire("acme", 100), { session: "x" }, { decisionId: d.id })).toMatchObject({ settled: true });
    expect((await b.enforcer.decide(wire("acme", 1), { session: "y" }, { reserve: true })).decision).toBe("require_approval");
    expect([...events(a.records), ...events(b.records)].filter((e) => e === "grant_returned" || e === "grant_hold_expired")).toEqual([]);

    // the settle of a recorded reservation fails: the record fails naming the store, and the hold past its time stays taken
    const failSettle = { once: false };
    const c = await replica("settle-fails", undefined, { reservationTtlMs: 300, failSettle });
    await c.enforcer.run(wire("acme", 0), { session: "s" }, () => "sent");
    c.state.grant = false;
    const held = await c.enforcer.decide(wire("acme", 100), { session: "x" }, { reserve: true });
    expect(held.reserved).toBe(true);
    failSettle.once = true;
    const refused = await c.enforcer.record(wire("acme", 100), { session: "x" }, { decisionId: held.id }).then(
      () => null,
      (e: Error) => e,
    );
    expect([refused?.name, refused?.message.includes(redis.url)]).toEqual(["HistoryStoreUnavailable", true]);
    await new Promise((r) => setTimeout(r, 450));
    expect((await c.enforcer.decide(wire("acme", 100), { session: "y" }, { reserve: true })).decision).toBe("require_approval");
    expect(c.records.filter((r) => r.event === "grant_hold_expired").map((r) => [r.decisionId, r.session])).toEqual([[held.id, "x"]]);
    expect(events(c.records)).not.toContain("grant_returned");
  });

  it("granting the same decision again (a replay, at any replica) makes nothing and never resets the amount", async () => {
    const memory = await createEnforcer({ policy: { source: GRANTS, fileName: "g.armor" }, throwOnDeny: false });
    closing.push(memory);
    const [a, b] = [await replica("regrant"), await replica("regrant")];
    // [what, where it is decided and granted, where it is granted again]
    const CASES: [string, typeof memory, typeof memory][] = [
      ["in memory", memory, memory],
      ["on Redis, again at another replica", a.enforcer, b.enforcer],
    ];
    for (const [what, first, again] of CASES) {
      const d = await first.decide(wire("acme", 100), { session: "s" });
      expect([what, d.decision]).toEqual([what, "require_approval"]);
      const id = await first.grant(d, ["ann"]);
      expect([what, typeof id]).toEqual([what, "string"]);
      expect([what, (await first.decide(wire("acme", 100), { session: "x" }, { reserve: true })).decision]).toEqual([what, "allow"]);
      expect([what, await again.grant(d, ["ann"]), await first.grant(d, ["ann"])]).toEqual([what, null, null]);
      expect([what, (await again.decide(wire("acme", 1), { session: "y" }, { reserve: true })).decision]).toEqual([what, "require_approval"]);
    }
  });

  /** Two replicas on prefix `p` with a grant up to 100 for wires to acme, made at the first: its id. */
  async function granted(p: string) {
    const [a, b] = [await replica(p), await replica(p)];
    b.state.grant = false;
    await a.enforcer.run(wire("acme", 0), { session: "s" }, () => "sent");
    a.state.grant = false;
    const grantId = a.records.find((r) => r.event === "grant")!.grantId as string;
    return { a, b, grantId };
  }
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => "recorded",
      (e: Error) => e.name,
    );
  // [what, what the hostile caller does, what must be seen]
  const HOSTILE: [string, (g: Awaited<ReturnType<typeof granted>>) => Promise<unknown>, unknown][] = [
    [
      "the last of a grant reserved at two replicas at once",
      async ({ a, b }) => {
        const both = await Promise.all([a.enforcer.decide(wire("acme", 60), { session: "x" }, { reserve: true }), b.enforcer.decide(wire("acme", 60), { session: "y" }, { reserve: true })]);
        return both.map((d) => d.decision).sort();
      },
      ["allow", "require_approval"],
    ],
    [
      "a record without decisionId past the amount left",
      async ({ b }) => [
        await refusal(b.enforcer.record(wire("acme", 500), { session: "x" })),
        await refusal(b.enforcer.record(wire("acme", 5), { session: "x" })),
        // each refusal is on record
        b.records.filter((r) => r.kind === "outcome" && r.outcome === "record_refused" && String(r.error).startsWith("GrantNeedsReservation: ")).length,
      ],
      ["GrantNeedsReservation", "GrantNeedsReservation", 2],
    ],
    [
      "a release replayed at another replica",
      async ({ a, b }) => {
        const d = await a.enforcer.decide(wire("acme", 100), { session: "x" }, { reserve: true });
        const releases = [await b.enforcer.release(d.id, { session: "x" }), await b.enforcer.release(d.id, { session: "x" }), await a.enforcer.release(d.id, { session: "x" })];
        const returned = [...a.records, ...b.records].filter((r) => r.event === "grant_returned" && r.decisionId === d.id).length;
        // the whole 100 is back once: exactly one more 100 fits
        const next = await Promise.all([a.enforcer.decide(wire("acme", 100), { session: "y" }, { reserve: true }), b.enforcer.decide(wire("acme", 100), { session: "z" }, { reserve: true })]);
        return [releases, returned, next.filter((n) => n.decision === "allow").length];
      },
      [[true, false, false], 1, 1],
    ],
    [
      "two releases of one reservation at once, at two replicas",
      async ({ a, b }) => {
        const d = await a.enforcer.decide(wire("acme", 100), { session: "x" }, { reserve: true });
        const both = await Promise.all([a.enforcer.release(d.id, { session: "x" }), b.enforcer.release(d.id, { session: "x" })]);
        const released = [...a.records, ...b.records].filter((r) => r.kind === "outcome" && r.outcome === "released" && r.decisionId === d.id).length;
        return [both.sort(), released];
      },
      [[false, true], 1],
    ],
    [
      "a release by another session",
      async ({ a, b }) => {
        const d = await a.enforcer.decide(wire("acme", 100), { session: "x" }, { reserve: true });
        return [await b.enforcer.release(d.id, { session: "intruder" }), (await b.enforcer.decide(wire("acme", 1), { session: "y" }, { reserve: true })).decision];
      },
      [false, "require_approval"],
    ],
    [
      "a grant for another recipient, and a reservation recorded for another action",
      async ({ a, b }) => {
        const other = (await b.enforcer.decide(wire("globex", 1), { session: "x" }, { reserve: true })).decision;
        const d = await a.enforcer.decide(wire("acme", 10), { session: "x" }, { reserve: true });
        return [other, await refusal(b.enforcer.record(wire("acme", 11), { session: "x" }, { decisionId: d.id }))];
      },
      ["require_approval", "ReservationMismatch"],
    ],
    [
      "a decision made up, or issued at one replica and edited, granted at another",
      async ({ a, b }) => {
        const d = await a.enforcer.decide(wire("globex", 10), { session: "x" });
        const forged = await b.enforcer.grant({ ...d, id: "made-up", action: wire("evil", 1) }, ["ann"]);
        // the real id and action hash: granted as issued (globex, up to 100), whatever the object says
        const edited = await b.enforcer.grant({ ...d, action: wire("evil", 1), session: "intruder" }, ["ann"]);
        const after = async (action: ReturnType<typeof wire>) => (await a.enforcer.decide(action, { session: "y" }, { reserve: true })).decision;
        return [d.decision, forged, edited === `grant-${d.id}`, await after(wire("evil", 1)), await after(wire("globex", 101)), await after(wire("globex", 100))];
      },
      ["require_approval", null, true, "require_approval", "require_approval", "allow"],
    ],
  ];
  it.each(HOSTILE)("%s: the grant's amount is used exactly", async (what, act, expected) => {
    const g = await granted(`hostile-${sha(what).slice(0, 8)}`);
    expect([what, await act(g)]).toEqual([what, expected]);
  });
});
