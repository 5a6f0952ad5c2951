/**
 * The log lines of `armor serve` and `armor mcp`, as text (the default: `armor serve: MESSAGE`)
 * or, with `--log-format json`, one JSON object per line: `time` (ISO-8601), `level` (`info`,
 * `warn` or `error`), `msg` (the text line), `component` (`serve` or `mcp`) and the event's
 * fields (a reload's `result`, `policy`, `version`, `sourceHash`, `error`, `location`). Untrusted
 * text reaches `msg` through log-text.ts as in text lines, and JSON escapes the rest.
 */
export type LogFormat = "text" | "json";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** Writes one log line; `fields` are kept as JSON fields (text lines show only the message). */
export type Logger = (line: string, fields?: Readonly<Record<string, unknown>>) => void;

const RESERVED = new Set(["time", "level", "msg", "component"]);

/** The level of a line that does not say: errors and failures are `error`, losses and refusals `warn`. */
export function levelOf(line: string): "info" | "warn" | "error" {
  if (/^(error|fatal)\b|\bfailed\b|\bcannot\b/i.test(line)) return "error";
  if (/\b(refused|denied until|full|dropped|not shipped|warning|stopped with)\b/i.test(line)) return "warn";
  return "info";
}

export function createLogger(format: LogFormat, component: "serve" | "mcp", write: (text: string) => void = (t) => void process.stderr.write(t)): Logger {
  if (format === "text") return (line) => write(`armor ${component}: ${line}\n`);
  return (line, fields) => {
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: levelOf(line), msg: line, component };
    if (fields !== undefined) {
      for (const [k, v] of Object.entries(fields)) {
        if (k === "level" && (v === "info" || v === "warn" || v === "error")) entry.level = v;
        else if (!RESERVED.has(k)) entry[k] = v;
      }
    }
    write(`${JSON.stringify(entry)}\n`);
  };
}
