/**
 * docs/grafana/agent-armor.json: every PromQL expression of the dashboard parses (Prometheus's
 * own grammar, @prometheus-io/lezer-promql) and names only metrics that `armor serve` exports,
 * compared against a scrape of its `/metrics`; the panels the docs promise are there.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, fixtures, repoRoot, type Served, startServe } from "./support.js";

let svc: Served;

beforeAll(async () => {
  assertBuilt();
  svc = await startServe(["--policy", join(fixtures, "serve.armor")]);
});

afterAll(async () => {
  await svc?.stop();
});

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { query?: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(join(repoRoot, "docs", "grafana", "agent-armor.json"), "utf8")) as Dashboard;

/** Grafana's variables replaced by values PromQL accepts. */
const promql = (expr: string): string => expr.replaceAll("$__rate_interval", "5m").replaceAll("$__range", "1h").replaceAll("$__interval", "1m");

/** The metric names an expression selects; throws on a syntax error. */
export function metricNames(expr: string): string[] {
  const text = promql(expr);
  const tree = parser.parse(text);
  const names: string[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new Error(`not PromQL at ${cursor.from}: ${text}`);
    if (cursor.name === "Identifier" && cursor.node.parent?.name === "VectorSelector") names.push(text.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return names;
}

/** Every series name a scrape can hold: a histogram's `_bucket`, `_sum` and `_count` included. */
function exported(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const m of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
    else if (type === "summary") for (const s of ["", "_sum", "_count"]) names.add(name + s);
    else names.add(name);
  }
  return names;
}

describe("the Grafana dashboard", () => {
  it("reads every metric name out of PromQL (the parser is checked on known expressions)", () => {
    expect(metricNames('sum by (decision) (rate(armor_decisions_total{job=~"$job"}[$__rate_interval]))')).toEqual(["armor_decisions_total"]);
    expect(metricNames("a_total / on(job) b_total + rate(c_bucket[5m])")).toEqual(["a_total", "b_total", "c_bucket"]);
    expect(() => metricNames("sum by (x (broken")).toThrow(/not PromQL/);
  });

  it("names only metrics that armor serve exports", async () => {
    const res = await fetch(`${svc.url}/metrics`);
    expect(res.status).toBe(200);
    const known = exported(await res.text());
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(5);
    const used = new Set(exprs.flatMap(metricNames));
    // the variables' queries name metrics too
    for (const v of dashboard.templating.list) {
      const m = typeof v.query === "string" ? /label_values\((\w+)/.exec(v.query) : null;
      if (m) used.add(m[1]!);
    }
    expect([...used].filter((n) => !known.has(n))).toEqual([]);
    expect(used.size).toBeGreaterThanOrEqual(6);
  });

  it("has the panels docs/telemetry.md describes", () => {
    expect(dashboard.panels.map((p) => p.title)).toEqual(
      expect.arrayContaining(["Decisions per second by decision", "Top denying rules", "Approval wait p95", "Fail-closed errors by cause", "Decision latency p99"]),
    );
  });
});
