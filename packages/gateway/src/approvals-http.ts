/**
 * The approval queue over loopback HTTP, for `armor mcp --approvals queue`:
 *
 *   GET  /approvals        { pending: PendingApproval[] }
 *   GET  /approvals/:id    one pending request, or 404
 *   POST /approvals/:id    { approved: boolean, approver?: string, note?: string, actionHash?: string }
 *                          → 200 { id, resolved: true, approved } | 404 (unknown or settled) | 409 (hash differs)
 *
 * It binds to 127.0.0.1 only: anyone who can reach it can approve actions.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApprovalQueue } from "@agent-armor/runtime";
import { HttpError, isObject, parseJsonBody, readBody, sendError, sendJson } from "./http-util.js";

export interface ApprovalEndpoint {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serveApprovals(queue: ApprovalQueue, options: { port?: number; host?: string; log?: (line: string) => void } = {}): Promise<ApprovalEndpoint> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "http://localhost");
        const parts = url.pathname.split("/").filter(Boolean);
        if (parts[0] !== "approvals" || parts.length > 2) throw new HttpError(404, "not_found", `no route ${url.pathname}`);
        if (parts.length === 1) {
          if (req.method !== "GET") throw Object.assign(new HttpError(405, "method_not_allowed", `${req.method} is not allowed on /approvals; use GET`), { allow: "GET" });
          sendJson(res, 200, { pending: queue.pending() });
          return;
        }
        const id = decodeURIComponent(parts[1]!);
        if (req.method === "GET") {
          const p = queue.get(id);
          if (!p) throw new HttpError(404, "not_found", `no pending approval ${id}`);
          sendJson(res, 200, p);
          return;
        }
        if (req.method !== "POST") throw Object.assign(new HttpError(405, "method_not_allowed", `${req.method} is not allowed on /approvals/:id; use GET or POST`), { allow: "GET, POST" });
        const body = parseJsonBody(await readBody(req, 64 * 1024));
        if (!isObject(body) || typeof body["approved"] !== "boolean") throw new HttpError(400, "invalid_request", "the body must be an object with a boolean `approved`");
        for (const k of ["approver", "note", "actionHash"] as const) {
          if (body[k] !== undefined && typeof body[k] !== "string") throw new HttpError(400, "invalid_request", `\`${k}\` must be a string`);
        }
        const pending = queue.get(id);
        if (!pending) throw new HttpError(404, "not_found", `no pending approval ${id} (unknown, answered or timed out)`);
        if (typeof body["actionHash"] === "string" && body["actionHash"] !== pending.actionHash) throw new HttpError(409, "hash_mismatch", "the action changed: `actionHash` is not the pending request's");
        const ok = queue.resolve(id, {
          approved: body["approved"] as boolean,
          ...(typeof body["approver"] === "string" ? { approver: body["approver"] } : {}),
          ...(typeof body["note"] === "string" ? { note: body["note"] } : {}),
          ...(typeof body["actionHash"] === "string" ? { actionHash: body["actionHash"] } : {}),
        });
        if (!ok) throw new HttpError(404, "not_found", `approval ${id} was settled meanwhile`);
        options.log?.(`approval ${id} ${body["approved"] ? "approved" : "rejected"}${typeof body["approver"] === "string" ? ` by ${body["approver"]}` : ""}`);
        sendJson(res, 200, { id, resolved: true, approved: body["approved"] });
      } catch (e) {
        if (e instanceof HttpError) sendError(res, e, (e as { allow?: string }).allow ? { allow: (e as unknown as { allow: string }).allow } : {});
        else sendJson(res, 500, { error: { code: "internal", message: (e as Error).message } });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host}:${port}/approvals`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
