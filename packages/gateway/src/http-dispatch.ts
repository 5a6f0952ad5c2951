/**
 * One request, from the socket to a route's handler, for `armor serve` and the approval queue:
 * `Host` and `Origin` (403), the route (404), CORS preflights, the method (405), the bearer
 * token (401), `application/json` bodies (415), then the handler; every error is a JSON body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Access } from "./http-access.js";
import { HttpError, parseJsonBody, readBody, requireJson, sendError, sendJson } from "./http-util.js";
import { logText } from "./log-text.js";

/** A route's handler; `body()` reads and parses the JSON body (400, 413 on failure). */
export type Handler = (req: IncomingMessage, res: ServerResponse, body: () => Promise<unknown>) => Promise<void>;

export interface Route {
  methods: Partial<Record<string, Handler>>;
  /** Answered without the bearer token (liveness probes). Host and Origin are still checked. */
  open?: boolean;
}

export interface DispatchOptions {
  access: Access;
  /** The route at a path, or undefined for a 404 with `notFound(path)` as its message. */
  find(path: string): Route | undefined;
  notFound(path: string): string;
  maxBody: number;
  log: (line: string) => void;
}

async function route(req: IncomingMessage, res: ServerResponse, options: DispatchOptions, cors: Record<string, string>): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  const found = options.find(path);
  if (!found) throw new HttpError(404, "not_found", options.notFound(path));
  const methods = Object.keys(found.methods);
  const method = req.method ?? "GET";
  if (method === "OPTIONS") {
    res.writeHead(204, { ...options.access.preflight(req, methods), "cache-control": "no-store" });
    res.end();
    return;
  }
  const handler = Object.hasOwn(found.methods, method) ? found.methods[method] : undefined;
  if (!handler) throw new HttpError(405, "method_not_allowed", `${method} is not allowed on ${path}; use ${methods.join(", ")}`, {}, { allow: methods.join(", ") });
  if (!found.open) options.access.authenticate(req);
  if (method === "POST") requireJson(req);
  for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
  await handler(req, res, async () => parseJsonBody(await readBody(req, options.maxBody)));
}

/** Answers one request; never rejects. */
export async function dispatch(req: IncomingMessage, res: ServerResponse, options: DispatchOptions): Promise<void> {
  let cors: Record<string, string> = {};
  try {
    cors = options.access.screen(req);
    await route(req, res, options, cors);
  } catch (e) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // a body we did not read to its end: the connection cannot be reused
    const close: Record<string, string> = req.complete ? {} : { connection: "close" };
    if (e instanceof HttpError) sendError(res, e, { ...cors, ...close });
    else {
      options.log(`internal error: ${logText((e as Error)?.stack ?? String(e))}`);
      sendJson(res, 500, { error: { code: "internal", message: "internal error" } }, { ...cors, ...close });
    }
  }
}

/**
 * A request node:http could not parse (malformed, headers too large): answered with a JSON
 * error, as every other refusal is, and the connection closed.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  const [status, reason, message] =
    err.code === "HPE_HEADER_OVERFLOW" ? [431, "Request Header Fields Too Large", "the request's headers are too large"] : [400, "Bad Request", "the request is not valid HTTP/1.1"];
  const body = `${JSON.stringify({ error: { code: "bad_http", message } })}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
