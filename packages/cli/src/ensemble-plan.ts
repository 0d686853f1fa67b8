// `keeper ensemble` options and the plan they make: which ports, peer list and `keeper server`
// arguments each node gets. Pure functions; ensemble.ts carries the plan out.
import { resolve } from "node:path";
import { parseArgv, parseInteger, stringOption } from "./args.ts";
import { UsageError } from "./errors.ts";

export const ENSEMBLE_DEFAULTS = {
  nodes: 3,
  dataDir: "./data",
  host: "127.0.0.1",
  logLevel: "warn",
  baseClientPort: 8181,
  basePeerPort: 2888,
  baseZkPort: 2181,
} as const;

export const ENSEMBLE_SIZE_MAX = 7;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export interface EnsembleOptions {
  nodes: number;
  dataDir: string;
  host: string;
  logLevel: string;
  baseClientPort: number;
  basePeerPort: number;
  /** ZooKeeper wire protocol ports start here; -1 turns them off. */
  baseZkPort: number;
  /** ZooKeeper's superDigest, handed to every node (--super-digest). */
  superDigest?: string;
}

export interface NodePlan {
  id: number;
  clientPort: number;
  zkPort: number;
  peerPort: number;
  /** The parent handed to --data-dir; the server stores node i in <dataDir>/node<i>. */
  dataDir: string;
  /** Arguments after `keeper`: `server --server-id i ...`. */
  args: string[];
}

export interface EnsemblePlan {
  options: EnsembleOptions;
  nodes: NodePlan[];
  peers: string;
  /** Where clients reach the nodes: host:clientPort,... */
  connectString: string;
  /** Where ZooKeeper clients (zkCli, kazoo, Curator) reach them: host:zkPort,... ("" when off). */
  zkConnectString: string;
  /** Warnings to print before starting (an even size, for one). */
  warnings: string[];
}

export type EnsembleInvocation = { help: true } | { help: false; options: EnsembleOptions };

/** Parses `keeper ensemble ARGV`; throws UsageError for anything wrong. */
export function parseEnsembleArgs(argv: readonly string[]): EnsembleInvocation {
  const args = parseArgv(
    argv,
    {
      help: { type: "boolean", short: "h" },
      nodes: { type: "string", short: "n" },
      "data-dir": { type: "string" },
      host: { type: "string" },
      "log-level": { type: "string" },
      "base-client-port": { type: "string" },
      "base-peer-port": { type: "string" },
      "base-zk-port": { type: "string" },
      "super-digest": { type: "string" },
    },
    false,
  );
  if (args.values.help === true) return { help: true };
  const int = (name: string, fallback: number) => {
    const raw = stringOption(args, name);
    return raw === undefined ? fallback : parseInteger(raw, `--${name}`);
  };
  const options: EnsembleOptions = {
    nodes: int("nodes", ENSEMBLE_DEFAULTS.nodes),
    dataDir: stringOption(args, "data-dir") ?? ENSEMBLE_DEFAULTS.dataDir,
    host: stringOption(args, "host") ?? ENSEMBLE_DEFAULTS.host,
    logLevel: stringOption(args, "log-level") ?? ENSEMBLE_DEFAULTS.logLevel,
    baseClientPort: int("base-client-port", ENSEMBLE_DEFAULTS.baseClientPort),
    basePeerPort: int("base-peer-port", ENSEMBLE_DEFAULTS.basePeerPort),
    baseZkPort: int("base-zk-port", ENSEMBLE_DEFAULTS.baseZkPort),
  };
  const superDigest = stringOption(args, "super-digest");
  if (superDigest !== undefined) options.superDigest = superDigest;
  validateOptions(options);
  return { help: false, options };
}

function validateOptions(o: EnsembleOptions): void {
  if (o.nodes < 1 || o.nodes > ENSEMBLE_SIZE_MAX) throw new UsageError(`--nodes: must be 1..${ENSEMBLE_SIZE_MAX} (3 or 5 recommended), got ${o.nodes}`);
  if (o.dataDir.trim() === "") throw new UsageError("--data-dir: must not be empty");
  if (o.host.trim() === "") throw new UsageError("--host: must not be empty");
  if (!LOG_LEVELS.includes(o.logLevel)) throw new UsageError(`--log-level: must be one of ${LOG_LEVELS.join(", ")}, got "${o.logLevel}"`);
  const range = (name: string, base: number) => {
    if (base < 1 || base + o.nodes - 1 > 65535) throw new UsageError(`--${name}: ports ${base}..${base + o.nodes - 1} are not all in 1..65535`);
  };
  range("base-client-port", o.baseClientPort);
  range("base-peer-port", o.basePeerPort);
  if (o.baseZkPort !== -1) range("base-zk-port", o.baseZkPort);
  const overlap = o.baseClientPort < o.basePeerPort + o.nodes && o.basePeerPort < o.baseClientPort + o.nodes;
  if (overlap) throw new UsageError(`client ports ${o.baseClientPort}.. and peer ports ${o.basePeerPort}.. overlap`);
}

/** The address to dial for a node bound to `host`: a wildcard bind is reached on loopback. */
export function dialHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "[::1]";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** "1=host:2888,2=host:2889,..." for `n` nodes. */
export function peerList(n: number, host: string, basePeerPort: number): string {
  const h = dialHost(host);
  return Array.from({ length: n }, (_, i) => `${i + 1}=${h}:${basePeerPort + i}`).join(",");
}

export function planEnsemble(options: EnsembleOptions, cwd: string): EnsemblePlan {
  const dataDir = resolve(cwd, options.dataDir);
  const peers = peerList(options.nodes, options.host, options.basePeerPort);
  const nodes = Array.from({ length: options.nodes }, (_, i): NodePlan => {
    const id = i + 1;
    const clientPort = options.baseClientPort + i;
    const peerPort = options.basePeerPort + i;
    const zkPort = options.baseZkPort === -1 ? -1 : options.baseZkPort + i;
    const args = ["server", "--server-id", String(id), "--data-dir", dataDir, "--host", options.host, "--client-port", String(clientPort), `--zk-port=${zkPort}`];
    if (options.nodes > 1) args.push("--peers", peers, "--peer-host", options.host, "--peer-port", String(peerPort));
    if (options.superDigest !== undefined) args.push("--super-digest", options.superDigest);
    args.push("--log-level", options.logLevel);
    return { id, clientPort, zkPort, peerPort, dataDir, args };
  });
  const h = dialHost(options.host);
  const warnings: string[] = [];
  if (options.nodes % 2 === 0) {
    const quorum = Math.floor(options.nodes / 2) + 1;
    const tolerated = options.nodes - quorum;
    warnings.push(`warning: ${options.nodes} nodes need a quorum of ${quorum} and tolerate ${tolerated} failure${tolerated === 1 ? "" : "s"}, no more than ${options.nodes - 1} would; use an odd size`);
  }
  const zkConnectString = options.baseZkPort === -1 ? "" : nodes.map((n) => `${h}:${n.zkPort}`).join(",");
  return { options, nodes, peers: options.nodes > 1 ? peers : "", connectString: nodes.map((n) => `${h}:${n.clientPort}`).join(","), zkConnectString, warnings };
}

export function ensembleHelp(): string {
  const d = ENSEMBLE_DEFAULTS;
  return [
    "usage: keeper ensemble [--nodes N] [--data-dir DIR] [--host ADDR] [--log-level LEVEL]",
    "                       [--base-client-port N] [--base-peer-port N]",
    "",
    "Starts a local ensemble of N `keeper server` processes, waits until they answer and a",
    "leader serves, prints the connect string and the status table, and runs until Ctrl-C or",
    "SIGTERM, which stop every node (SIGKILL after 5 s) and exit 0.",
    "",
    `  -n, --nodes N           ensemble size, 1..${ENSEMBLE_SIZE_MAX}; 3 or 5 recommended (default ${d.nodes})`,
    `  --data-dir DIR          parent of the stores: node i keeps its data in DIR/node<i> (default ${d.dataDir})`,
    `  --host ADDR             address every listener binds to (default ${d.host})`,
    `  --log-level LEVEL       the nodes' log level: fatal, error, warn, info, debug, trace, silent (default ${d.logLevel})`,
    `  --base-client-port N    node i serves clients and admin HTTP on N+i-1 (default ${d.baseClientPort})`,
    `  --base-zk-port N        node i speaks ZooKeeper's wire protocol on N+i-1 (default ${d.baseZkPort}; -1: off)`,
    `  --base-peer-port N      node i talks to its peers on N+i-1 (default ${d.basePeerPort})`,
    "  --super-digest DIGEST   ZooKeeper's superDigest super:<base64 sha1(super:password)>, for every node",
    "",
    "Peer links are authenticated: the nodes share a random secret made for this run (or",
    "KEEPER_PEER_SECRET / KEEPER_PEER_SECRET_FILE when set), handed to them in the environment.",
    "",
    "Ports of node i with the defaults: client WebSocket + admin HTTP (/status, /metrics) 8180+i,",
    "peers 2887+i, ZooKeeper wire protocol 2180+i.",
    "",
    "Every node's output goes to stderr prefixed with [node i]. Kill a node (kill -9 PID, the",
    "PIDs are in the table) to watch the others elect a new leader; `keeper status` shows it.",
    "A node that exits is reported and not restarted; the others keep running.",
    "Settings not named here (tick length, session bounds, ...) come from KEEPER_* variables,",
    "as for `keeper server`.",
    "",
    "Exit codes: 0 after Ctrl-C or SIGTERM, 1 if the ensemble does not come up (a port in use,",
    "a node that exits or does not answer within 20 s) or every node has exited, 2 for a bad flag.",
  ].join("\n");
}
