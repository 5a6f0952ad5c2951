/** Small node:http helpers shared by the decision service and the approval queue endpoint. */
import type { IncomingMessage, ServerResponse } from "node:http";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Headers the error response carries (`Allow`, `WWW-Authenticate`, ...). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: HttpError, headers: Record<string, string> = {}): void {
  sendJson(res, e.status, { error: { code: e.code, message: e.message, ...e.details } }, { ...e.headers, ...headers });
}

/**
 * Bodies are JSON and only JSON: a web page can send `text/plain` or a form to any address
 * without a CORS preflight, never `application/json`. 415 for anything else.
 */
export function requireJson(req: IncomingMessage): void {
  const type = req.headers["content-type"];
  const [media, ...params] = (type ?? "").split(";").map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith("charset="))
    ?.slice("charset=".length)
    .replace(/^"|"$/g, "");
  if (media === "application/json" && (charset === undefined || charset === "utf-8")) return;
  const what = type === undefined ? "no Content-Type" : `Content-Type ${JSON.stringify(type)}`;
  throw new HttpError(415, "unsupported_media_type", `the request has ${what}; send the body as application/json (UTF-8)`, {}, { "accept-post": "application/json" });
}

/** How deeply a request body may nest arrays and objects; the body itself is level 1. */
export const MAX_JSON_DEPTH = 64;

/**
 * The offset of the first bracket that opens level `MAX_JSON_DEPTH + 1`, or -1. One pass over
 * the text, no recursion, before anything is parsed: a body of 500,000 nested arrays must not
 * reach code that recurses over values (serializing, hashing, the policy).
 */
function tooDeepAt(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return -1;
}

/**
 * The JSON pointer of the first number in `value` that is not finite (`1e400` parses to
 * Infinity, which has no JSON text and would be hashed and logged as `null`), or null. Iterative.
 */
export function nonFiniteAt(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v === "number" && !Number.isFinite(v)) return at;
    if (typeof v !== "object" || v === null) continue;
    for (const k of Object.keys(v)) stack.push([(v as Record<string, unknown>)[k], `${at}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`]);
  }
  return null;
}

/** Line and column (1-based) of a UTF-16 offset in a text. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * The offset of the first syntax error in a JSON text (JSON.parse has failed on it). V8's
 * messages name the position only in some versions, so the text is scanned here.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const str = (): void => {
    if (text[i] !== '"') fail();
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 92) {
        i++;
        const e = text[i];
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? "")) {
              i += k;
              fail();
            }
          }
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const num = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === "" || m[0] === "-") fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") return void i++;
        fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") return void i++;
        fail();
      }
    } else if (c === '"') str();
    else if (c === "t") lit("true");
    else if (c === "f") lit("false");
    else if (c === "n") lit("null");
    else num();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return Math.min(i, text.length);
  } catch (at) {
    return typeof at === "number" ? Math.min(at, text.length) : text.length;
  }
}

/** Parses a request body as JSON; a 400 naming the line, column and offset of the problem. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") throw new HttpError(400, "invalid_json", "the request body is empty; send a JSON object");
  const deep = tooDeepAt(text);
  if (deep >= 0) {
    const { line, column } = lineColumn(text, deep);
    throw new HttpError(400, "too_deep", `the request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (at line ${line}, column ${column}, offset ${deep})`, {
      location: { line, column, offset: deep },
      limit: MAX_JSON_DEPTH,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const offset = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, offset);
    const what = offset >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(String.fromCodePoint(text.codePointAt(offset)!))}`;
    throw new HttpError(400, "invalid_json", `the request body is not valid JSON: ${what} at line ${line}, column ${column} (offset ${offset})`, {
      location: { line, column, offset },
      detail: (e as Error).message,
    });
  }
  // what JSON.parse would read differently from what was sent: refused rather than guessed
  const problem = ambiguityIn(text);
  if (problem !== null) {
    const { line, column } = lineColumn(text, problem.offset);
    throw new HttpError(400, "invalid_json", `the request body ${problem.what} at line ${line}, column ${column} (offset ${problem.offset})`, {
      location: { line, column, offset: problem.offset },
      hint: problem.hint,
    });
  }
  return parsed;
}

const NUMBER = /-?(\d+)(?:\.(\d+))?(?:[eE][+-]?\d+)?/y;

/**
 * In valid JSON, what JSON.parse would not read as sent: a key repeated in one object (the last
 * would win), an integer beyond 2^53 (rounded), or a non-zero number too small for a double
 * (read as 0). Null when there is none.
 */
export function ambiguityIn(text: string): { offset: number; what: string; hint: string } | null {
  // the keys of each open object (null for an array)
  const open: (Set<string> | null)[] = [];
  let key = false;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === "{" || c === "[") {
      open.push(c === "{" ? new Set() : null);
      key = c === "{";
      i++;
    } else if (c === "}" || c === "]") {
      open.pop();
      key = false;
      i++;
    } else if (c === ",") {
      key = open.at(-1) != null;
      i++;
    } else if (c === '"') {
      // the string's end: the first quote no backslash escapes (the text is valid JSON)
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const quoted = text.slice(i, j + 1);
      if (key) {
        const name = JSON.parse(quoted) as string;
        const keys = open.at(-1)!;
        if (keys.has(name)) return { offset: i, what: `repeats the key ${quoted.length > 80 ? `${quoted.slice(0, 80)}…` : quoted} in one object`, hint: "send each key once" };
        keys.add(name);
        key = false;
      }
      i = j + 1;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text)!;
      const n = Number(m[0]);
      const integer = m[2] === undefined && !/[eE]/.test(m[0]);
      if (integer && !Number.isSafeInteger(n))
        return { offset: i, what: `holds the integer ${m[0].slice(0, 40)}, beyond 2^53, which would be read rounded`, hint: "send a large integer as a string, or one within ±9007199254740991" };
      if (n === 0 && /[1-9]/.test(`${m[1]}${m[2] ?? ""}`))
        return { offset: i, what: `holds the number ${m[0].slice(0, 40)}, too small to be read as anything but 0`, hint: "send 0, or a number a double holds" };
      i += m[0].length;
    } else i++;
  }
  return null;
}

/**
 * Reads a request body of at most `maxBytes`; rejects with a 413 as soon as the declared length
 * or the bytes received exceed it (and stops reading).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = req.headers["content-length"];
    const tooLarge = (): HttpError => new HttpError(413, "payload_too_large", `the request body is larger than the limit of ${maxBytes} bytes`, { limit: maxBytes });
    if (declared !== undefined && Number(declared) > maxBytes) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        done = true;
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      const buf = Buffer.concat(chunks);
      try {
        resolve(new TextDecoder("utf-8", { fatal: true }).decode(buf));
      } catch {
        reject(new HttpError(400, "invalid_encoding", "the request body is not valid UTF-8"));
      }
    });
    req.on("error", (e) => {
      if (done) return;
      done = true;
      reject(e);
    });
  });
}

/** An own property of a parsed body: fields are never read from `Object.prototype`. */
export const own = (o: Record<string, unknown>, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
