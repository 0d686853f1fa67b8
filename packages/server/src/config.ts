// Server configuration: one typed record, defaults in one place, relations checked once at start.
import { limits } from "@keeper/protocol";

export interface ServerConfig {
  /** This node's id in the ensemble (1..255). */
  serverId: number;
  /** Directory holding this node's LevelDB store. */
  dataDir: string;
  /** Address the client listeners bind to. */
  host: string;
  /** Native client WebSocket + admin HTTP port (8180 + serverId by default). */
  clientPort: number;
  /** Length of one tick: the unit of session expiry checks and (later) peer heartbeats. */
  tickMs: number;
  /** Negotiated session timeouts are clamped into [min, max]; ZooKeeper's defaults are 2 and 20 ticks. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Take a snapshot after this many transactions have been logged since the last one. */
  snapshotEveryTxns: number;
  /** Log entries kept behind the latest snapshot, so a lagging peer can still be sent a DIFF. */
  logRetainTxns: number;
  /** Largest znode data accepted. */
  dataBytesMax: number;
  /** Most client connections served at once. */
  clientsMax: number;
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: string;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export function defaultServerConfig(serverId = 1): ServerConfig {
  return {
    serverId,
    dataDir: `./data/node${serverId}`,
    host: "0.0.0.0",
    clientPort: 8180 + serverId,
    tickMs: 200,
    minSessionTimeoutMs: 400,
    maxSessionTimeoutMs: 40_000,
    snapshotEveryTxns: 100_000,
    logRetainTxns: 50_000,
    dataBytesMax: limits.dataBytesMax,
    clientsMax: 10_000,
    logLevel: "info",
  };
}

/** Thrown for a configuration that cannot start; the message says which setting and why. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Merges `partial` over the defaults and checks every value and relation. */
export function resolveServerConfig(partial: Partial<ServerConfig>): ServerConfig {
  const serverId = partial.serverId ?? 1;
  const c: ServerConfig = { ...defaultServerConfig(serverId), ...stripUndefined(partial) };
  const problems: string[] = [];
  const int = (name: keyof ServerConfig, min: number, max: number) => {
    const v = c[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  };
  int("serverId", 1, 255);
  int("clientPort", 0, 65535);
  int("tickMs", 10, 60_000);
  int("minSessionTimeoutMs", 1, 3_600_000);
  int("maxSessionTimeoutMs", 1, 3_600_000);
  int("snapshotEveryTxns", 1, 1e9);
  int("logRetainTxns", 0, 1e9);
  int("dataBytesMax", 0, 64 * 1024 * 1024);
  int("clientsMax", 1, 1_000_000);
  if (typeof c.dataDir !== "string" || c.dataDir === "") problems.push("dataDir must be a non-empty path");
  if (typeof c.host !== "string" || c.host === "") problems.push("host must be a non-empty address");
  if (!(LOG_LEVELS as readonly string[]).includes(c.logLevel)) problems.push(`logLevel must be one of ${LOG_LEVELS.join(", ")}, got ${c.logLevel}`);
  if (c.minSessionTimeoutMs > c.maxSessionTimeoutMs) problems.push(`minSessionTimeoutMs (${c.minSessionTimeoutMs}) must not exceed maxSessionTimeoutMs (${c.maxSessionTimeoutMs})`);
  if (c.minSessionTimeoutMs < 2 * c.tickMs) problems.push(`minSessionTimeoutMs (${c.minSessionTimeoutMs}) must be at least two ticks (${2 * c.tickMs})`);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
