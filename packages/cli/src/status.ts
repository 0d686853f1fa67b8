// `keeper status`: asks every node of a connect string for GET /status on its admin port and
// prints one row per node, in the spirit of ZooKeeper's `srvr` four-letter word.
import { get as httpGet } from "node:http";
import { booleanOption, parseArgv, parseInteger, stringOption } from "./args.ts";
import { outputArg } from "./command-args.ts";
import { DEFAULT_CONNECT } from "./connection.ts";
import { ExitCode, UsageError, reportError } from "./errors.ts";
import type { Io } from "./io.ts";
import type { Env } from "./server-options.ts";

export const STATUS_TIMEOUT_MS = 2_000;

/** What a node's /status holds, as far as the table needs it; the rest is passed through. */
export interface NodeStatus {
  serverId?: number;
  state?: string;
  serving?: boolean;
  leader?: number | null;
  epoch?: number;
  lastZxidHex?: string;
  sessions?: number;
  clients?: number;
  peers?: Array<{ id: number; connected?: boolean; [field: string]: unknown }>;
  pid?: number;
  [field: string]: unknown;
}

export type StatusResult = { address: string; status: NodeStatus } | { address: string; error: string };

/** GET url → parsed JSON; node:http in production (fetch refuses some ports), a fake in tests. */
export type FetchJson = (url: string, timeoutMs: number) => Promise<unknown>;

export const fetchJson: FetchJson = (url, timeoutMs) =>
  new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} ${res.statusMessage ?? ""}`.trim()));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error("/status did not return JSON"));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });

/** "h1:p1,h2:p2/chroot" → ["h1:p1", "h2:p2"]; the chroot is ignored, a missing port is 8181. */
export function statusAddresses(connect: string): string[] {
  const slash = connect.indexOf("/");
  const hostPart = slash < 0 ? connect : connect.slice(0, slash);
  const entries = hostPart.split(",").map((h) => h.trim()).filter((h) => h !== "");
  if (entries.length === 0) throw new UsageError(`--connect: expected host:port[,host:port...], got "${connect}"`);
  return entries.map((entry) => {
    const close = entry.startsWith("[") ? entry.indexOf("]") : -1;
    const colon = entry.lastIndexOf(":");
    const hasPort = colon > close && (close >= 0 || entry.indexOf(":") === colon);
    const host = hasPort ? entry.slice(0, colon) : entry;
    const portText = hasPort ? entry.slice(colon + 1) : "8181";
    const port = Number(portText);
    if (host === "" || host === "[]" || !/^\d+$/.test(portText) || port < 1 || port > 65535) throw new UsageError(`--connect: bad host:port "${entry}"`);
    const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    return `${bracketed}:${port}`;
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Every address's /status, asked concurrently; never throws. */
export async function fetchStatuses(addresses: readonly string[], fetchFn: FetchJson = fetchJson, timeoutMs = STATUS_TIMEOUT_MS): Promise<StatusResult[]> {
  return Promise.all(
    addresses.map(async (address): Promise<StatusResult> => {
      try {
        const body = await fetchFn(`http://${address}/status`, timeoutMs);
        if (typeof body !== "object" || body === null || Array.isArray(body)) return { address, error: "/status did not return a JSON object" };
        return { address, status: body as NodeStatus };
      } catch (err) {
        return { address, error: errorText(err) };
      }
    }),
  );
}

const HEADERS = ["NODE", "ADDRESS", "STATE", "LEADER", "EPOCH", "ZXID", "SESSIONS", "CLIENTS", "PEERS", "PID"] as const;

const show = (v: unknown): string => (v === undefined || v === null ? "-" : String(v));

function row(result: StatusResult): string[] {
  if ("error" in result) return ["-", result.address, "unreachable", "-", "-", "-", "-", "-", "-", "-"];
  const s = result.status;
  const state = show(s.state) + (s.serving === false ? " (not serving)" : "");
  const peers = Array.isArray(s.peers) && s.peers.length > 0 ? `${s.peers.filter((p) => p.connected === true).length}/${s.peers.length}` : "-";
  return [show(s.serverId), result.address, state, show(s.leader), show(s.epoch), show(s.lastZxidHex), show(s.sessions), show(s.clients), peers, show(s.pid)];
}

/** The table `keeper status` prints: a header and one aligned row per node, errors at the end of their row. */
export function formatStatusTable(results: readonly StatusResult[]): string[] {
  const rows = [HEADERS as readonly string[], ...results.map(row)];
  const widths = HEADERS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ");
    const result = i === 0 ? undefined : results[i - 1]!;
    return result !== undefined && "error" in result ? `${line}  ${result.error}` : line.trimEnd();
  });
}

/** Exit code rule: 0 when some node answered and some node is serving clients, else 1. */
export function statusExitCode(results: readonly StatusResult[]): number {
  return results.some((r) => "status" in r && r.status.serving === true) ? ExitCode.OK : ExitCode.FAILED;
}

export function statusHelp(): string {
  return [
    "usage: keeper status [--connect HOSTS] [--json | -o json] [--timeout-ms N]",
    "",
    "Asks every node in HOSTS for its status (GET http://host:port/status on the admin port,",
    "concurrently) and prints one row per node:",
    "  NODE ADDRESS STATE LEADER EPOCH ZXID SESSIONS CLIENTS PEERS PID",
    "STATE is leading, following, looking or standalone, marked (not serving) when the node",
    "cannot serve writes; PEERS counts the ensemble members the node is connected to, itself",
    "included, out of all members. A node that does not answer shows `unreachable` and why.",
    "",
    `  --connect HOSTS  host:port[,host:port...] (a /chroot is ignored); default $KEEPER_CONNECT, else ${DEFAULT_CONNECT}`,
    "  --json           print a JSON array instead: one element per host, in order, holding the",
    "                   node's /status object, or {\"address\", \"error\"} for one that did not answer",
    `  --timeout-ms N   time allowed to each node (default ${STATUS_TIMEOUT_MS})`,
    "",
    "Exit codes: 0 if at least one node answered and some node is serving, 1 otherwise,",
    "2 for a bad flag.",
  ].join("\n");
}

/** `keeper status ARGV`. */
export async function runStatus(argv: readonly string[], env: Env, io: Io, fetchFn: FetchJson = fetchJson): Promise<number> {
  let addresses: string[];
  let json: boolean;
  let timeoutMs = STATUS_TIMEOUT_MS;
  try {
    const args = parseArgv(argv, { help: { type: "boolean", short: "h" }, connect: { type: "string" }, json: { type: "boolean" }, output: { type: "string", short: "o" }, "timeout-ms": { type: "string" } }, false);
    if (args.values.help === true) {
      io.out(statusHelp());
      return ExitCode.OK;
    }
    addresses = statusAddresses(stringOption(args, "connect") ?? (env.KEEPER_CONNECT || DEFAULT_CONNECT));
    json = booleanOption(args, "json") || outputArg(args) === "json";
    const rawTimeout = stringOption(args, "timeout-ms");
    if (rawTimeout !== undefined) timeoutMs = parseInteger(rawTimeout, "--timeout-ms");
    if (timeoutMs <= 0) throw new UsageError("--timeout-ms: must be positive");
  } catch (err) {
    return reportError(io, err, "keeper status");
  }
  const results = await fetchStatuses(addresses, fetchFn, timeoutMs);
  if (json) io.out(JSON.stringify(results.map((r) => ("status" in r ? r.status : r)), null, 2));
  else for (const line of formatStatusTable(results)) io.out(line);
  return statusExitCode(results);
}
