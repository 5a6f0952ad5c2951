/**
 * `armor serve --store redis://...`: three replicas on one real Redis share their limits. 500
 * concurrent reserved decisions in one session against "at most 20 an hour" allow exactly 20;
 * a replica killed (SIGKILL) in the middle of a burst over-admits nothing; replicas started again
 * still see the counts; 500 concurrent reserved decisions of one user over 50 sessions against "at
 * most 20 an hour per user" (`per user.id`) allow exactly 20; a grant made by an approval at one
 * replica is used at the others, and concurrent reserved decisions across replicas use its amount
 * exactly (a replica killed in the middle over-admits nothing); each replica keeps its own audit
 * chain, and `armorc audit verify FOLDER` checks them all.
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, skipWithoutRedis, startRedis } from "../support/redis-server.js";
import { repoRoot, type Served, startServe } from "./support.js";

const POLICY = `default allow
rule hourly when action.type == "send" and count(type == "send" within 1h) >= 20 deny because "at most 20 an hour"
rule hourly_per_user when action.type == "pay" and count(type == "pay" within 1h per user.id) >= 20 deny because "at most 20 an hour per user"
rule wires when action.type == "wire" require approval from "finance" timeout 1m grant action.to 1h up to 50000 of action.amount because "wires need finance"
`;
const ANN = "ann-replicas-token-3f9e";

const skip = skipWithoutRedis("armor serve --store");

interface Answer {
  status: number;
  body: { decision?: string; reserved?: boolean; decisionId?: string; id?: string; errors?: { message: string }[]; rules?: { id: string }[] } | null;
}

async function post(url: string, path: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

describe("armor serve --store", () => {
  it.each([
    ["a host and port without scheme", "127.0.0.1:6379"],
    ["another scheme", "http://127.0.0.1:6379"],
    ["the empty text", ""],
  ])("refuses %s with a usage error (exit 2) naming the option", (_what, store) => {
    const r = spawnSync(process.execPath, [join(repoRoot, "packages", "cli", "bin", "armor.js"), "serve", "--policy", "x.armor", "--store", store], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--store must be a redis://HOST:PORT (or rediss://) URL");
  });
});

describe.skipIf(skip)("armor serve replicas on one Redis", () => {
  let redis: RedisServer;
  let dir: string;
  let policy: string;
  let replicas: Served[] = [];
  const start = async (n: number): Promise<Served[]> => Promise.all(Array.from({ length: n }, () => startOne()));
  const startOne = (): Promise<Served> => startServe(["--policy", policy, "--store", redis.url, "--approvers", join(dir, "approvers.json"), "--audit", join(dir, "audit", "serve-{host}-{pid}.jsonl")]);

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), "armor-replicas-"));
    policy = join(dir, "limits.armor");
    writeFileSync(policy, POLICY);
    const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
    writeFileSync(join(dir, "approvers.json"), JSON.stringify({ approvers: [{ name: "ann", groups: ["finance"], tokenSha256: sha(ANN) }] }));
    spawnSync("mkdir", ["-p", join(dir, "audit")]);
    replicas = await start(3);
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await redis?.dispose();
  });

  const decide = (r: Served, session: string, n: number) => post(r.url, "/v1/decide", { action: { type: "send", n }, session, reserve: true });

  it("allows exactly 20 of 500 concurrent reserved decisions in one session", async () => {
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => decide(replicas[i % 3]!, "burst", i)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const allowed = answers.filter((a) => a.body?.decision === "allow");
    expect(allowed).toHaveLength(20);
    expect(allowed.every((a) => a.body?.reserved === true)).toBe(true);
    expect(answers.filter((a) => a.body?.decision === "deny").every((a) => a.body?.rules?.[0]?.id === "hourly")).toBe(true);
  });

  it("allows exactly 20 of 500 concurrent reserved decisions of one user over many sessions (per user.id)", async () => {
    const pay = (r: Served, user: string, session: string, n: number) => post(r.url, "/v1/decide", { action: { type: "pay", n }, session, user: { id: user }, reserve: true });
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => pay(replicas[i % 3]!, "ann", `ann-${i % 50}`, i)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const allowed = answers.filter((a) => a.body?.decision === "allow");
    expect(allowed).toHaveLength(20);
    expect(answers.filter((a) => a.body?.decision === "deny").every((a) => a.body?.rules?.[0]?.id === "hourly_per_user")).toBe(true);
    // another user's limit is their own, in any session (ann's too); a release on another replica gives a place back
    const bob = [];
    for (let i = 0; i < 20; i++) bob.push(await pay(replicas[i % 3]!, "bob", i === 0 ? "ann-0" : `bob-${i}`, i));
    expect(bob.map((a) => a.body?.decision)).toEqual(Array(20).fill("allow"));
    expect((await pay(replicas[0]!, "bob", "bob-new", 20)).body?.decision).toBe("deny");
    const released = await post(replicas[2]!.url, "/v1/release", { decisionId: bob[5]!.body?.id, session: "bob-5" });
    expect(released.body).toMatchObject({ released: true });
    expect((await pay(replicas[1]!, "bob", "bob-new", 21)).body?.decision).toBe("allow");
    expect((await pay(replicas[0]!, "bob", "bob-other", 22)).body?.decision).toBe("deny");
  });

  it("over-admits nothing when a replica is killed in the middle, and keeps the counts across restarts", async () => {
    const sent = Array.from({ length: 500 }, (_, i) => decide(replicas[i % 3]!, "killed", i).catch(() => ({ status: 0, body: null }) as Answer));
    // the third replica dies while the burst is in flight
    await new Promise((r) => setTimeout(r, 20));
    await replicas[2]!.stop("SIGKILL");
    const answers = await Promise.all(sent);
    const allowed = answers.filter((a) => a.body?.decision === "allow").length;
    expect(allowed).toBeLessThanOrEqual(20);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(300);
    // the kill did land in the middle: some requests to the killed replica got no answer
    expect(answers.some((a) => a.status === 0)).toBe(true);
    // every replica stops and starts again: the counts are in Redis
    await Promise.all(replicas.slice(0, 2).map((r) => r.stop()));
    replicas = await start(3);
    for (const session of ["burst", "killed"]) {
      const again = await decide(replicas[1]!, session, -1);
      expect(again.body?.decision, `${session}: ${JSON.stringify(again.body)}`).toBe("deny");
    }
    // a session the replicas never saw starts from zero
    expect((await decide(replicas[0]!, "fresh", 0)).body?.decision).toBe("allow");
  });

  it("settles and releases a reservation on any replica", async () => {
    const d = await decide(replicas[0]!, "moving", 1);
    expect(d.body?.decision).toBe("allow");
    const id = d.body?.id as string;
    const released = await post(replicas[1]!.url, "/v1/release", { decisionId: id, session: "moving" });
    expect(released.body).toMatchObject({ released: true });
    const d2 = await decide(replicas[2]!, "moving", 2);
    const recorded = await post(replicas[0]!.url, "/v1/record", { action: { type: "send", n: 2 }, session: "moving", decisionId: d2.body?.id });
    expect(recorded.body).toMatchObject({ recorded: true, settled: true });
  });

  const wire = (r: Served, to: string, amount: number, session: string) => post(r.url, "/v1/decide", { action: { type: "wire", to, amount }, session, reserve: true });
  const grantBy = (a: Answer) => (a.body as { grant?: { id?: string } } | null)?.grant?.id ?? null;

  /** "Approve and grant" for wires to `to`: opened at replica 0, answered at replica 1, the grant's id as replica 0 reports it. */
  async function grantFor(to: string): Promise<string> {
    const d = await post(replicas[0]!.url, "/v1/decide", { action: { type: "wire", to, amount: 1 }, session: `open-${to}` });
    expect(d.body?.decision).toBe("require_approval");
    const id = d.body?.id as string;
    expect((await post(replicas[0]!.url, "/v1/approvals", { decisionId: id, session: `open-${to}` })).status).toBe(202);
    let answered = 0;
    for (let i = 0; i < 50 && answered !== 200; i++) {
      const res = await fetch(`${replicas[1]!.url}/approvals/${encodeURIComponent(id)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ANN}`, "content-type": "application/json" },
        body: JSON.stringify({ approved: true, grant: true }),
      });
      answered = res.status;
      if (answered !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(answered).toBe(200);
    const state = await fetch(`${replicas[0]!.url}/v1/approvals/${encodeURIComponent(id)}?wait=10`);
    const json = (await state.json()) as { status?: string; grantId?: string };
    expect(json.status).toBe("approved");
    return json.grantId!;
  }

  it("uses a grant made at one replica at the others, and its amount exactly under 30 concurrent reserved wires", async () => {
    const grantId = await grantFor("acme");
    expect(grantId).toMatch(/^grant-/);
    // each replica sees it: without reserve, a deny naming it and `reserve` (its amount governs the wire)
    for (const r of replicas) {
      const named = await post(r.url, "/v1/decide", { action: { type: "wire", to: "acme", amount: 10 }, session: "look" });
      expect([named.body?.decision, JSON.stringify(named.body?.errors).includes(`grant ${grantId} of rule`)]).toEqual(["deny", true]);
    }
    // 50,000 in 5,000 wires: exactly 10 of 30 concurrent ones, over three replicas
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => wire(replicas[i % 3]!, "acme", 5_000, `w-${i}`)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const granted = answers.filter((a) => a.body?.decision === "allow");
    expect(granted).toHaveLength(10);
    expect(granted.every((a) => grantBy(a) === grantId && a.body?.reserved === true)).toBe(true);
    expect(answers.filter((a) => a.body?.decision === "require_approval")).toHaveLength(20);
    // released at another replica than the one that reserved: the amount is back for exactly one more
    const back = granted[0]!;
    const released = await post(replicas[(answers.indexOf(back) + 1) % 3]!.url, "/v1/release", { decisionId: back.body?.id, session: `w-${answers.indexOf(back)}` });
    expect(released.body).toMatchObject({ released: true });
    const again = await Promise.all([0, 1, 2].map((i) => wire(replicas[i]!, "acme", 5_000, `again-${i}`)));
    expect(again.filter((a) => a.body?.decision === "allow")).toHaveLength(1);
    // a record without the reservation, at any replica, is refused
    const refused = await post(replicas[2]!.url, "/v1/record", { action: { type: "wire", to: "acme", amount: 5_000 }, session: "late" });
    expect(refused.status).toBe(409);
  });

  it("over-admits nothing of a grant when a replica is killed in the middle of concurrent reserved wires", async () => {
    await grantFor("globex");
    const sent = Array.from({ length: 60 }, (_, i) => wire(replicas[i % 3]!, "globex", 5_000, `k-${i}`).catch(() => ({ status: 0, body: null }) as Answer));
    await new Promise((r) => setTimeout(r, 20));
    await replicas[2]!.stop("SIGKILL");
    const answers = await Promise.all(sent);
    const allowed = answers.filter((a) => a.body?.decision === "allow").length;
    expect(allowed).toBeLessThanOrEqual(10);
    // what the killed replica took and never answered is held, not handed out again: the survivors allow the rest only
    const after = await Promise.all(Array.from({ length: 12 }, (_, i) => wire(replicas[i % 2]!, "globex", 5_000, `after-${i}`)));
    // and a replica started again finds nothing more left either
    replicas[2] = await startOne();
    const restarted = await wire(replicas[2]!, "globex", 5_000, "restarted");
    expect(restarted.status).toBe(200);
    expect(allowed + [...after, restarted].filter((a) => a.body?.decision === "allow").length).toBeLessThanOrEqual(10);
  });

  it("keeps one audit chain per replica, each of which verifies", async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
    const files = readdirSync(join(dir, "audit"));
    // 3 first replicas, 3 restarted ones, and one more restarted after a kill: a file each (a killed one's last line may be torn)
    expect(files.length).toBe(7);
    const r = spawnSync(process.execPath, [join(repoRoot, "packages", "cli", "bin", "armorc.js"), "audit", "verify", join(dir, "audit")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\n7 files: 7 verified\n$/);
  });
});
