// Engine registry (the peer harness's adapter interface, /work/shared/bench/peerbench/src/adapters):
//   { name, kind, packages, async, notes, create(spec) -> { decide(action), prepare?(action), info?, timings? } }
export const ENGINES = {
  handwritten: "handwritten.js",
  "handwritten-guarded": "handwritten-guarded.js",
  "agent-armor": "armor-compiled.js",
  "agent-armor-in-process": "armor-in-process.js",
  "agent-armor-interpreter": "armor-interpreter.js",
  "cedar-preparsed": "cedar-preparsed.js",
  "json-rules-engine": "json-rules-engine.js",
  casbin: "casbin.js",
};

export async function loadEngine(name) {
  const file = ENGINES[name];
  if (!file) throw new Error(`no engine ${name}; known: ${Object.keys(ENGINES).join(", ")}`);
  return (await import(new URL(`./${file}`, import.meta.url))).default;
}
