// (d2) The history predicates beyond count/seen with a window, through the runtime's trackers, as
// the session grows from 10 to 100,000 executed actions: `sum(... within D)`, `count(...)` over
// the whole session, `seen(A since B)`, `max(... within D)`, and `seen(... ticker == current.ticker)`
// (a tracker keyed by ticker). For each construct and size, a
// session runs N actions (enforcer.run, recorded into the trackers), then enforcer.decide in that
// session is timed (decide does not record, so the history stays at N). The floor is the same
// enforcer.decide on a policy without history predicates, timed in the same run; the ratio to it
// is what the figures mean on another machine. In the same run, compiled `decide` on the peer
// workload (bench/lib/spec.js at N = 100) against the hand-written floor, so a slower `decide`
// shows here too.
//   node --expose-gc bench/history-kinds.mjs [--sizes 10,1000,100000] [--iters 20000]
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { createEnforcer } from "@agent-armor/runtime";
import { makeActions } from "./lib/actions.js";
import handwritten from "./lib/adapters/handwritten.js";
import { prepareFor, specToArmor } from "./lib/gen-armor.js";
import { makeSpec } from "./lib/spec.js";
import { emitResult, median, parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const SIZES = String(args.sizes ?? "10,100,1000,10000,100000")
  .split(",")
  .map(Number);
const ITERS = Number(args.iters ?? 20000);
const gc = globalThis.gc ?? (() => {});

const CONSTRUCTS = {
  floor: `rule r when action.type == "wire" and amount > 1e12 deny`,
  "sum within 24h": `rule r when action.type == "wire" and sum(amount where type == "wire" within 24h) > 1e12 deny`,
  "count over the session": `rule r when count(type == "wire") >= 1e9 deny`,
  "seen since": `rule r when action.type == "read" and not seen(type == "login" since type == "logout") deny`,
  "max within 1h": `rule r when action.type == "wire" and max(amount where type == "wire" within 1h) > 1e12 deny`,
  "keyed seen within 1d": `rule r when action.type == "wire" and not seen(type == "approve" and ticker == current.ticker within 1d) deny`,
};

async function load(name, rules, text = `policy bench\ndefault allow\n${rules}\n`) {
  const c = compileSource(`${name}.armor`, text);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => d.message).join("; "));
  return loadModule(emit(c).js);
}

// the session: wires with amounts, logins and logouts (ending logged in), reads, approvals of
// one of 1,000 tickers; 10 ms apart
const historyAction = (i) =>
  i % 4 === 0
    ? { type: "wire", amount: (i * 37) % 1000, ticker: `T${i % 1000}` }
    : i % 4 === 1
      ? { type: i % 8 === 1 ? "logout" : "login" }
      : i % 4 === 2
        ? { type: "approve", ticker: `T${i % 1000}` }
        : { type: "read" };
const probes = [{ type: "wire", amount: 5, ticker: "T2" }, { type: "read" }];

async function timeDecide(enforcer) {
  for (let i = 0; i < 2000; i++) await enforcer.decide(probes[i & 1], { session: "s" });
  const reps = [];
  for (let r = 0; r < 5; r++) {
    gc();
    const s = process.hrtime.bigint();
    for (let i = 0; i < ITERS; i++) await enforcer.decide(probes[i & 1], { session: "s" });
    reps.push(Number(process.hrtime.bigint() - s) / ITERS);
  }
  return median(reps);
}

const rows = [];
// the floor runs first and last: the first pass warms the enforcer's code up, and the ratio uses the faster of the two
for (const [construct, rules] of [...Object.entries(CONSTRUCTS), ["floor", CONSTRUCTS.floor]]) {
  const module = await load(construct.replace(/\W+/g, "_"), rules);
  for (const size of SIZES) {
    let now = 1_700_000_000_000;
    const enforcer = await createEnforcer({ policy: module, clock: () => now, throwOnDeny: false, audit: false });
    for (let i = 0; i < size; i++) {
      now += 10;
      await enforcer.run(historyAction(i), { session: "s" }, () => null);
    }
    now += 1000;
    const ns = await timeDecide(enforcer);
    await enforcer.close();
    rows.push({ construct, size, decideNs: ns });
    process.stderr.write(`  ${construct} @ ${size}: ${ns.toFixed(0)} ns\n`);
  }
}
const floor = new Map();
for (const r of rows) if (r.construct === "floor") floor.set(r.size, Math.min(r.decideNs, floor.get(r.size) ?? Infinity));
for (const r of rows) r.ratioToFloor = r.decideNs / floor.get(r.size);

// compiled decide on the peer workload, against the hand-written function, in the same run
const spec = makeSpec(100);
const peer = await load("peer", null, specToArmor(spec));
const prepare = prepareFor(spec);
const pool = makeActions(100, 7, 4096).map(prepare);
const raw = makeActions(100, 7, 4096);
const hw = (await handwritten.create(spec)).decide;
function timeLoop(fn, items) {
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += fn(items[i & 4095]) ? 1 : 0;
  const reps = [];
  for (let r = 0; r < 5; r++) {
    gc();
    const s = process.hrtime.bigint();
    for (let i = 0; i < 500_000; i++) sink += fn(items[i & 4095]) ? 1 : 0;
    reps.push(Number(process.hrtime.bigint() - s) / 500_000);
  }
  return { ns: median(reps), sink };
}
const compiled = timeLoop((x) => peer.decide(x), pool);
const floorPeer = timeLoop(hw, raw);
const peerRow = { workload: "peer N=100", compiledNs: compiled.ns, handwrittenNs: floorPeer.ns, ratio: compiled.ns / floorPeer.ns };
process.stderr.write(`  peer N=100: compiled ${compiled.ns.toFixed(1)} ns, hand-written ${floorPeer.ns.toFixed(1)} ns (x${peerRow.ratio.toFixed(2)})\n`);
emitResult({ kind: "history-kinds", rows, peer: peerRow });
