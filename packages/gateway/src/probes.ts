/**
 * Liveness and readiness of `armor serve`, for an orchestrator's probes (both open: no token,
 * like `/healthz`, which stays as it was):
 *
 *   GET /livez   200 { status: "ok" } while the process answers HTTP (its event loop runs), even
 *                while shutting down: restarting it would not help;
 *   GET /readyz  200 { status: "ready", policy } when the policy is loaded, the decision worker
 *                answers, the history store (with --store) answers and the audit log is not stuck
 *                (and, with `--ship-overflow deny`, the collector is taking records); 503
 *                { status: "not_ready", problems: [...] } otherwise, and while shutting down.
 *
 * The health check runs in the decision worker in turn with decisions, so a worker too busy to
 * start it within the queue timeout is not ready either.
 */
import type { Route } from "./http-dispatch.js";
import { sendJson } from "./http-util.js";

export const PROBE_ROUTES: Readonly<Record<string, readonly string[]>> = {
  "/livez": ["GET"],
  "/readyz": ["GET"],
};

export interface ProbeSources {
  shuttingDown(): boolean;
  policy(): { name: string; version: string | null; sourceHash: string };
  /** What is not ready, each with why (empty when ready); rejects when the worker cannot answer. */
  health(): Promise<string[]>;
}

export function probeRoutes(from: ProbeSources): Record<string, Route> {
  return {
    "/livez": {
      open: true,
      methods: {
        GET: async (_req, res) => sendJson(res, 200, { status: "ok" }),
      },
    },
    "/readyz": {
      open: true,
      methods: {
        GET: async (_req, res) => {
          if (from.shuttingDown()) return sendJson(res, 503, { status: "not_ready", problems: ["shutting down"] });
          const problems = await from.health().catch((e: Error) => [`decision worker: ${e.message}`]);
          if (problems.length > 0) return sendJson(res, 503, { status: "not_ready", problems });
          sendJson(res, 200, { status: "ready", policy: from.policy() });
        },
      },
    },
  };
}
