// The workload as an .armor policy. Adapted from the peer benchmark harness
// (/work/shared/bench/peerbench/src/gen-armor.js, "peerbench"); the text it writes is the same.
// The peer workload's action { type, amount, recipient, user, hour } becomes the decision input
// { action: { type, amount, recipient, hour }, user } (see prepareInput).
const q = (s) => JSON.stringify(String(s));
const lit = (v) => (typeof v === "string" ? q(v) : String(v));
const OPS = { eq: "==", ne: "!=", gt: ">", gte: ">=", lt: "<", lte: "<=" };

function path(p) {
  if (p === "type") return "action.type";
  if (p.startsWith("user.")) return p; // the principal
  return `action.${p}`;
}

function cond(c) {
  if (c.any) return `(${c.any.map(cond).join(" or ")})`;
  if (c.all) return `(${c.all.map(cond).join(" and ")})`;
  if (c.op === "in_set") return `${path(c.path)} in ${c.set}`;
  // a JavaScript regex source has its slashes escaped, so it is also the text of an .armor regex literal
  if (c.op === "matches") return `${path(c.path)} matches /${c.pattern}/${c.flags ?? ""}`;
  return `${path(c.path)} ${OPS[c.op]} ${lit(c.value)}`;
}

const EFFECT = { deny: "deny", require_approval: "require approval", allow: "allow" };

export function specToArmor(spec) {
  const lines = [`policy ${spec.name.replace(/[^A-Za-z0-9_]/g, "_")}`, `default ${spec.default}`, ""];
  for (const [name, values] of Object.entries(spec.sets ?? {})) lines.push(`let ${name} = [${values.map(q).join(", ")}]`);
  lines.push("");
  for (const r of spec.rules) lines.push(`rule ${r.id} when ${r.when.map(cond).join(" and ")} ${EFFECT[r.effect]}`);
  return `${lines.join("\n")}\n`;
}

export function prepareInput(a) {
  return { action: { type: a.type, amount: a.amount, recipient: a.recipient, hour: a.hour }, user: a.user };
}

/** The pattern workload's action (bench/lib/patterns.js) as a decision input. */
export function preparePatternInput(a) {
  return { action: { type: a.type, command: a.command, url: a.url, path: a.path, body: a.body, arg: a.arg }, user: a.user };
}

/** The conversion to the decision input for a spec's workload. */
export function prepareFor(spec) {
  return spec.workload === "patterns" ? preparePatternInput : prepareInput;
}
