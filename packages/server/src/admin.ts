// Admin HTTP on the client port: the dashboard (/ and /dashboard.js), /status (JSON), /healthz,
// /readyz, /metrics (Prometheus text, rendered from the same status snapshot). /status answers
// any origin, so a dashboard served by one node can show all of them.
import type { IncomingMessage, ServerResponse } from "node:http";
import { dashboardPage, dashboardScript, type Asset } from "./dashboard/assets.ts";

export type StatusSource<S> = () => S;

export interface AdminOptions<S> {
  status: StatusSource<S>;
  ready: () => boolean;
  /** Renders one status snapshot as Prometheus text. */
  metrics: (status: S) => Promise<string>;
  metricsContentType: string;
}

export function adminHandler<S>(opts: AdminOptions<S>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n");
    switch (url.pathname) {
      case "/":
        return sendAsset(res, dashboardPage());
      case "/dashboard.js":
        return sendAsset(res, dashboardScript());
      case "/status":
        res.setHeader("access-control-allow-origin", "*");
        return send(res, 200, "application/json", JSON.stringify(opts.status(), null, 2) + "\n");
      case "/healthz":
        return send(res, 200, "text/plain", "ok\n");
      case "/readyz":
        return opts.ready() ? send(res, 200, "text/plain", "ready\n") : send(res, 503, "text/plain", "not ready\n");
      case "/metrics":
        opts.metrics(opts.status()).then(
          (text) => send(res, 200, opts.metricsContentType, text),
          (err: Error) => send(res, 500, "text/plain", `metrics failed: ${err.message}\n`),
        );
        return;
      default:
        return send(res, 404, "text/plain", "not found: try /, /status, /healthz, /readyz or /metrics\n");
    }
  };
}

function sendAsset(res: ServerResponse, asset: Promise<Asset>): void {
  asset.then(
    (a) => send(res, 200, a.contentType, a.body),
    (err: Error) => send(res, 500, "text/plain", `dashboard unavailable: ${err.message}\n`),
  );
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}
