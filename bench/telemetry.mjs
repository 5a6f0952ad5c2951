// What OpenTelemetry costs the enforcer: compiled decide through the enforcer's decide() and the
// whole run() (no audit), measured in turns in one process:
//   - `telemetry: false` (no telemetry code runs: the floor),
//   - the default with no SDK registered (the fast path: one check of the global providers),
//   - an in-memory SDK (spans to an InMemorySpanExporter, metrics to a MeterProvider),
//   - and, when BASELINE_RUNTIME names a copy of the runtime built from before telemetry (its
//     dist/index.js), that copy: the code before the change.
// Ratios are against `telemetry: false` measured in the same run.
//   node --expose-gc bench/telemetry.mjs [--count 20000] [--repeats 7]
import { pathToFileURL } from "node:url";
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { createEnforcer } from "@agent-armor/runtime";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { makeActions } from "./lib/actions.js";
import handwritten from "./lib/adapters/handwritten.js";
import { prepareInput, specToArmor } from "./lib/gen-armor.js";
import { makeSpec } from "./lib/spec.js";
import { emitResult, median, parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const COUNT = Number(args.count ?? 20000);
const REPEATS = Number(args.repeats ?? 7);
const N = 100;
const gc = globalThis.gc ?? (() => {});

const spec = makeSpec(N);
const module = await loadModule(emit(compileSource("peer-N100.armor", specToArmor(spec))).js);
const ref = (await handwritten.create(spec)).decide;
const pool = makeActions(N, 4242, 4096, (a) => ref(a) === "allow").map(prepareInput);
const tool = (action) => action.amount ?? 0;

const baseline = process.env.BASELINE_RUNTIME ? (await import(pathToFileURL(process.env.BASELINE_RUNTIME).href)).createEnforcer : null;

const spans = new InMemorySpanExporter();
const sdk = {
  tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  // no reader: the instruments aggregate in memory, as an SDK between two exports does
  meterProvider: new MeterProvider(),
};

const ways = [
  ["telemetry: false", createEnforcer, { telemetry: false }],
  ["no SDK registered", createEnforcer, {}],
  ["in-memory SDK", createEnforcer, { telemetry: sdk }],
  ...(baseline !== null ? [["before telemetry (BASELINE_RUNTIME)", baseline, {}]] : []),
];

async function repeat(call, count) {
  gc();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await call(pool[i & 4095]);
  // the exporter keeps every span: emptied between repeats, outside the timing
  const ns = Number(process.hrtime.bigint() - t0) / count;
  spans.reset();
  return ns;
}

async function measure(entry) {
  const made = [];
  for (const [name, create, options] of ways) {
    const enforcer = await create({ policy: module, throwOnDeny: false, audit: false, ...options });
    const call = entry === "run" ? (a) => enforcer.run(a.action, { session: "s1", user: a.user }, tool) : (a) => enforcer.decide(a.action, { session: "s1", user: a.user });
    for (let i = 0; i < 3000; i++) await call(pool[i & 4095]);
    made.push({ name, call, perRepeat: [] });
  }
  spans.reset();
  for (let r = 0; r < REPEATS; r++) for (const m of made) m.perRepeat.push(await repeat(m.call, COUNT));
  const floor = median(made[0].perRepeat);
  return made.map((m) => ({ entry, name: m.name, nsPerAction: median(m.perRepeat), min: Math.min(...m.perRepeat), ratio: median(m.perRepeat) / floor }));
}

const rows = [...(await measure("decide")), ...(await measure("run"))];
for (const r of rows) console.error(`${r.entry.padEnd(7)} ${r.name.padEnd(38)} ${r.nsPerAction.toFixed(0).padStart(7)} ns  x${r.ratio.toFixed(3)}`);
emitResult({ bench: "telemetry", count: COUNT, repeats: REPEATS, rows });
