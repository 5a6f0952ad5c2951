/**
 * The approval console's live updates: server-sent events from the queue's `subscribe`.
 *
 *   event: snapshot   { now, pending: [ ...requests the approver may answer, with expiresAt ] }
 *   event: requested  one such request, when it arrives
 *   event: settled    { id } of a request this stream showed, when it is answered or times out
 *   event: expired    {} when the approver's session ends: its time is up, it signed out, or it
 *                     was pushed out by newer sign-ins (the stream then closes)
 *
 * Streams are bounded, overall and per approver (429 past either), send a comment every
 * `heartbeatMs` so that proxies keep them open, and end with the session that opened them.
 * Event data is JSON on one line (JSON escapes line breaks), so no request text can start a
 * field or an event of its own.
 */
import type { ServerResponse } from "node:http";
import type { ApprovalQueue, PendingApproval } from "@agent-armor/runtime";
import { HttpError } from "./http-util.js";

export interface EventStreamOptions {
  maxStreams?: number;
  maxPerApprover?: number;
  heartbeatMs?: number;
}

export interface EventStreams {
  /**
   * Starts a stream on `res` for `approver`, showing the requests `visible` accepts, until
   * `until` (epoch ms), the client leaves, or `endSession(session)` for the console session that
   * opened it; 429 when too many are open.
   */
  open(res: ServerResponse, approver: string, visible: (p: PendingApproval) => boolean, until: number, session?: string): void;
  /** Ends the streams the console session `session` opened (it signed out, or was pushed out), each with an `expired` event. */
  endSession(session: string): void;
  /** How many streams are open. */
  readonly size: number;
  /** Ends every stream. */
  close(): void;
}

/** A pending request as the console reads it: with the instant it times out, when it does. */
export function consoleView(p: PendingApproval): PendingApproval & { expiresAt: string | null } {
  const at = Date.parse(p.requestedAt);
  return { ...p, expiresAt: p.timeoutMs === null || Number.isNaN(at) ? null : new Date(at + p.timeoutMs).toISOString() };
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function createEventStreams(queue: ApprovalQueue, options: EventStreamOptions = {}): EventStreams {
  const maxStreams = options.maxStreams ?? 32;
  const maxPerApprover = options.maxPerApprover ?? 4;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const open = new Map<ServerResponse, string>();
  const enders = new Set<() => void>();
  /** The enders of the streams each console session opened. */
  const bySession = new Map<string, Set<() => void>>();

  return {
    get size() {
      return open.size;
    },
    open(res, approver, visible, until, session) {
      if (open.size >= maxStreams)
        throw new HttpError(429, "too_many_streams", `${maxStreams} console event streams are open, the most this endpoint keeps; close a console tab and retry`, {}, { "retry-after": "5" });
      let mine = 0;
      for (const a of open.values()) if (a === approver) mine++;
      if (mine >= maxPerApprover)
        throw new HttpError(
          429,
          "too_many_streams",
          `${approver} has ${maxPerApprover} console event streams open, the most one approver may; close a console tab and retry`,
          {},
          { "retry-after": "5" },
        );
      open.set(res, approver);
      const shown = new Set<string>();
      const send = (text: string): void => void res.write(text);
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no", "x-content-type-options": "nosniff" });
      const first = queue.pending().filter(visible);
      for (const p of first) shown.add(p.id);
      send(`retry: 2000\n\n${frame("snapshot", { now: new Date().toISOString(), pending: first.map(consoleView) })}`);
      const unsubscribe = queue.subscribe((e) => {
        if (e.type === "settled") {
          if (shown.delete(e.id)) send(frame("settled", { id: e.id }));
          return;
        }
        const p = queue.get(e.id);
        if (p === undefined || !visible(p)) return;
        shown.add(p.id);
        send(frame("requested", consoleView(p)));
      });
      const heartbeat = setInterval(() => send(": keep-alive\n\n"), heartbeatMs);
      heartbeat.unref();
      const expiry = setTimeout(() => end(true), Math.max(0, until - Date.now()));
      expiry.unref();
      const end = (expired: boolean): void => {
        if (!open.delete(res)) return;
        enders.delete(finish);
        if (session !== undefined) {
          const mine = bySession.get(session);
          mine?.delete(expire);
          if (mine?.size === 0) bySession.delete(session);
        }
        unsubscribe();
        clearInterval(heartbeat);
        clearTimeout(expiry);
        if (expired) send(frame("expired", {}));
        res.end();
      };
      const finish = (): void => end(false);
      const expire = (): void => end(true);
      enders.add(finish);
      if (session !== undefined) bySession.set(session, (bySession.get(session) ?? new Set()).add(expire));
      res.on("close", finish);
    },
    endSession(session) {
      for (const expire of [...(bySession.get(session) ?? [])]) expire();
    },
    close() {
      for (const end of [...enders]) end();
    },
  };
}
