/**
 * Who may call the gateway's HTTP endpoints (`armor serve`, the approval queue of `armor mcp`).
 *
 * A service on loopback is reachable from every web page the user opens: a page can send a
 * "simple" cross-origin POST without a preflight, and a DNS-rebinding page can even read the
 * answers. So every request is screened before it is routed:
 *
 * - `Host` must name the service: `localhost`, a loopback or bound address with the bound port,
 *   or a name given with `allowedHosts` (any port: a reverse proxy may forward its own). This
 *   defeats DNS rebinding, where the browser sends the attacker's name.
 * - A request with a browser `Origin` is refused unless the origin is in `allowedOrigins` or is
 *   the service's own (the host the request names: a page it serves, the approval console);
 *   CORS preflights are answered only for allowed origins, and only they get `Access-Control-Allow-*`.
 * - With a `token`, every route except the ones marked open needs `Authorization: Bearer TOKEN`
 *   (compared in constant time); otherwise 401 with `WWW-Authenticate`.
 *
 * Content types are checked where bodies are read (http-util.ts `requireJson`).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { HttpError } from "./http-util.js";

export interface AccessOptions {
  /** Host names accepted in `Host` besides localhost and the bound address. */
  allowedHosts?: readonly string[];
  /** Browser origins (`scheme://host[:port]`) allowed to call; any other `Origin` is refused. */
  allowedOrigins?: readonly string[];
  /** The bearer token requests must carry (see `readTokenFile`). */
  token?: string;
}

export interface Access {
  /**
   * Checks `Host` and `Origin` (403 otherwise) and returns the CORS headers the response must
   * carry (empty without an allowed `Origin`).
   */
  screen(req: IncomingMessage): Record<string, string>;
  /** The headers of a CORS preflight's answer for a route with these methods; 403 if not allowed. */
  preflight(req: IncomingMessage, methods: readonly string[]): Record<string, string>;
  /** Throws 401 unless the request carries the token (always passes without one). */
  authenticate(req: IncomingMessage): void;
  /** Whether requests need a token. */
  readonly tokenRequired: boolean;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);
const REALM = 'Bearer realm="agent-armor"';

/** A host as URL.hostname spells it: lower case, IPv6 in brackets. */
function hostName(host: string): string {
  const h = host.toLowerCase();
  return isIP(h) === 6 ? `[${h}]` : h;
}

/** The host names that mean this service when it listens on `bound`. */
function ownNames(bound: string): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  if (!WILDCARDS.has(bound)) names.add(hostName(bound));
  else {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(hostName(a.address.replace(/%.*$/, "")));
  }
  return names;
}

/** An origin in the form browsers send it (`scheme://host[:port]`, default port left out), or null. */
function normalOrigin(text: string): string | null {
  try {
    const u = new URL(text);
    return u.origin === "null" ? null : u.origin;
  } catch {
    return null;
  }
}

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** Reads a bearer token from a file: the first line, without surrounding white space. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read the token file ${path}: ${(e as Error).message}`);
  }
  const token = (text.split(/\r?\n/)[0] ?? "").trim();
  if (token === "") throw new Error(`the token file ${path} is empty; put the token on its first line`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(`the token in ${path} must be printable ASCII without spaces`);
  return token;
}

export function createAccess(options: AccessOptions, bound: { host: string; port: number }): Access {
  const own = ownNames(bound.host);
  const extra = new Set<string>();
  for (const h of options.allowedHosts ?? []) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(`http://${h}`);
    } catch {
      parsed = null;
    }
    if (parsed === null || parsed.hostname !== hostName(h)) throw new Error(`not a host name: \`${h}\` (give the name alone, e.g. armor.internal, without a scheme or port)`);
    extra.add(parsed.hostname);
  }
  const origins = new Set<string>();
  for (const o of options.allowedOrigins ?? []) {
    const n = normalOrigin(o);
    if (n === null) throw new Error(`not an origin: \`${o}\` (write it as scheme://host[:port], e.g. http://localhost:3000)`);
    origins.add(n);
  }
  const expected = options.token === undefined ? null : digest(options.token);

  function checkHost(req: IncomingMessage): void {
    const header = req.headers.host;
    if (header === undefined || header === "") throw new HttpError(400, "missing_host", "the request has no Host header");
    // HTTP/1.1 requires exactly one Host (RFC 9112 §3.2); Node keeps the first of several
    if ((req.headersDistinct.host?.length ?? 0) > 1) throw new HttpError(400, "invalid_host", "the request has more than one Host header");
    // the origin form only (`/v1/decide`): an absolute target names a host of its own
    if (!(req.url ?? "/").startsWith("/")) throw new HttpError(400, "invalid_target", "the request target must be a path such as /v1/decide");
    let url: URL;
    try {
      url = new URL(`http://${header}`);
    } catch {
      throw new HttpError(400, "invalid_host", "the Host header is not a host name with an optional port");
    }
    if (url.username !== "" || url.password !== "" || url.pathname !== "/" || url.search !== "") throw new HttpError(400, "invalid_host", "the Host header is not a host name with an optional port");
    if (extra.has(url.hostname)) return;
    const port = url.port === "" ? 80 : Number(url.port);
    if (own.has(url.hostname) && port === bound.port) return;
    throw new HttpError(403, "host_not_allowed", `this service does not answer to the host ${JSON.stringify(header)}; add it with --allowed-host if it is a name of this service`, {
      hint: "requests must name the service by localhost, its address and port, or an --allowed-host (this refuses DNS rebinding)",
    });
  }

  function allowedOrigin(req: IncomingMessage): string | null {
    const header = req.headers.origin;
    if (header === undefined) return null;
    const n = normalOrigin(header);
    if (n !== null && origins.has(n)) return n;
    // the service's own pages (the approval console): the origin names the host the request
    // names, which checkHost accepted; same-origin needs no CORS headers
    if (n !== null && req.headers.host !== undefined && (n === normalOrigin(`http://${req.headers.host}`) || n === normalOrigin(`https://${req.headers.host}`))) return null;
    throw new HttpError(403, "origin_not_allowed", `requests from the web origin ${JSON.stringify(header)} are refused; allow it with --allowed-origin if it is yours`);
  }

  return {
    tokenRequired: expected !== null,
    screen(req): Record<string, string> {
      checkHost(req);
      const origin = allowedOrigin(req);
      return origin === null ? {} : { "access-control-allow-origin": origin, vary: "Origin" };
    },
    preflight(req, methods) {
      const origin = allowedOrigin(req);
      const all = [...methods, "OPTIONS"].join(", ");
      if (origin === null) return { allow: all };
      const headers: Record<string, string> = {
        allow: all,
        "access-control-allow-origin": origin,
        "access-control-allow-methods": methods.join(", "),
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
        vary: "Origin",
      };
      // Chrome's Private Network Access: a public page calling a loopback service asks first
      if (req.headers["access-control-request-private-network"] === "true") headers["access-control-allow-private-network"] = "true";
      return headers;
    },
    authenticate(req) {
      if (expected === null) return;
      const header = req.headers.authorization;
      const m = header === undefined ? null : /^bearer +(\S+) *$/i.exec(header);
      if (m === null) throw new HttpError(401, "unauthorized", "this service needs `Authorization: Bearer TOKEN` (the token of --token-file)", {}, { "www-authenticate": REALM });
      // digests of equal length, so the comparison takes the same time whatever the token is
      if (!timingSafeEqual(digest(m[1]!), expected))
        throw new HttpError(401, "unauthorized", "the bearer token is not the one this service was given", {}, { "www-authenticate": `${REALM}, error="invalid_token"` });
    },
  };
}
