// Admin HTTP on the client port: /status (JSON), /healthz, /readyz, /metrics (Prometheus text).
import type { IncomingMessage, ServerResponse } from "node:http";

export type StatusSource = () => Record<string, unknown>;

export function adminHandler(status: StatusSource, ready: () => boolean) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n");
    switch (url.pathname) {
      case "/status":
        return send(res, 200, "application/json", JSON.stringify(status(), null, 2) + "\n");
      case "/healthz":
        return send(res, 200, "text/plain", "ok\n");
      case "/readyz":
        return ready() ? send(res, 200, "text/plain", "ready\n") : send(res, 503, "text/plain", "not ready\n");
      case "/metrics":
        return send(res, 200, "text/plain; version=0.0.4", metrics(status()));
      default:
        return send(res, 404, "text/plain", "not found: try /status, /healthz, /readyz or /metrics\n");
    }
  };
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

/** Every numeric field of the status, flattened, as a Prometheus gauge. */
function metrics(status: Record<string, unknown>): string {
  const lines: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === "number" && Number.isFinite(v)) lines.push(`keeper_${prefix} ${v}`);
    else if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}_${snake(k)}` : snake(k), x);
  };
  walk("", status);
  return lines.join("\n") + "\n";
}

function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}
