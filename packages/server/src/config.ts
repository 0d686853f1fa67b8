// Server configuration: one typed record, defaults in one place, relations checked once at start.
import { limits } from "@keeper/protocol";
import { PEER_SECRET_CHARS_MIN } from "./peers/peer-auth.ts";

/** ZooKeeper's superDigest: user:base64(sha1(user:password)). */
const SUPER_DIGEST = /^[^:\s]+:[A-Za-z0-9+/]{27}=$/;

export interface ServerConfig {
  /** This node's id in the ensemble (1..255). */
  serverId: number;
  /** Directory holding this node's LevelDB store. */
  dataDir: string;
  /**
   * Address the client listeners bind to. Empty: this node's own address in `peers`, or
   * 127.0.0.1 for a standalone node; 0.0.0.0 (what the container image sets) binds every one.
   */
  host: string;
  /** Native client WebSocket + admin HTTP port (8180 + serverId by default). */
  clientPort: number;
  /** ZooKeeper wire protocol (TCP) port, 2180 + serverId by default; -1 turns it off. */
  zkPort: number;
  /** ZooKeeper wire protocol over TLS (ZooKeeper's secureClientPort); -1 (the default) turns it off. Needs clientTlsCert and clientTlsKey. */
  secureZkPort: number;
  /**
   * PEM certificate and key for clients: with them the native client port speaks HTTPS and
   * wss:// (admin included), and secureZkPort may be opened.
   */
  clientTlsCert: string;
  clientTlsKey: string;
  /**
   * PEM CA for clients' certificates. With it the TLS listeners ask each client for a
   * certificate (ZooKeeper's ssl.clientAuth=want): one this CA signed gives the connection the
   * identity x509:<subject DN>, as ZooKeeper's X509AuthenticationProvider; a client without
   * one is served as before.
   */
  clientTlsCa: string;
  /**
   * The ensemble's voting members as "id=host:peerPort,..." (every node must be given the same
   * list). Empty: a standalone node, an ensemble of one.
   */
  peers: string;
  /** Address the peer listener binds to. Empty: this node's own address in `peers`. */
  peerHost: string;
  /**
   * The ensemble's shared secret: peers prove they hold it (an HMAC challenge both ways) before
   * any other message counts. Every node gets the same one. Or from a file: `peerSecretFile`.
   */
  peerSecret: string;
  /** A file holding the peer secret (a compose or Kubernetes secret); surrounding whitespace is ignored. */
  peerSecretFile: string;
  /**
   * Mutual TLS on peer links: this node's certificate (subject CN "server.<id>"), its key, and the
   * ensemble's CA, as PEM files. All three or none.
   */
  peerTlsCert: string;
  peerTlsKey: string;
  peerTlsCa: string;
  /**
   * ZooKeeper's superDigest, "super:<base64 sha1(super:password)>": a client that authenticates
   * with digest super:password may do anything, whatever the ACLs say. Empty: no super user.
   */
  superDigest: string;
  /** Peer WebSocket port; 0 takes this node's port from `peers` (2887 + serverId by default). */
  peerPort: number;
  /** Serve reads to canBeReadOnly clients while this node has no quorum. */
  readOnlyMode: boolean;
  /** Length of one tick: leaders heartbeat every tick; session expiry is counted in ticks. */
  tickMs: number;
  /** A follower that hears nothing from its leader for this many ticks looks for a new one. */
  syncLimitTicks: number;
  /** Discovery and synchronisation with a new leader may take this many ticks. */
  initLimitTicks: number;
  /** Negotiated session timeouts are clamped into [min, max]; ZooKeeper's defaults are 2 and 20 ticks. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Take a snapshot after about this many transactions have been logged since the last one (a random point in its upper half). */
  snapshotEveryTxns: number;
  /** ...or after about this many bytes of log, whichever comes first. */
  snapshotEveryBytes: number;
  /** Log entries kept behind the oldest retained snapshot, so a lagging peer can still be sent a DIFF. */
  logRetainTxns: number;
  /** Snapshots kept; boot falls back to an older one when the newest fails its checks. */
  snapshotsRetained: number;
  /** Free space under the data dir below which a warning is logged and /status shows lowSpace. */
  diskLowSpaceBytes: number;
  /** Largest znode data accepted. */
  dataBytesMax: number;
  /** Most client connections served at once, both client ports together (also bounded by the open-files limit). */
  clientsMax: number;
  /** Web pages (origins, comma-separated, or *) whose scripts may open a WebSocket to the native port; pages of the node itself always may. */
  allowedOrigins: string;
  /** Most connections from one address, both client ports together: ZooKeeper's maxClientCnxns. 0: no limit. */
  clientsPerIpMax: number;
  /** Four-letter words answered, comma-separated, or * for all: ZooKeeper's 4lw.commands.whitelist (default srvr, as ZooKeeper's). */
  fourLetterWords: string;
  /**
   * Largest reply built for a client, in bytes (ZooKeeper's jute.maxbuffer on the client's side):
   * a read whose reply would be larger (getChildren of a huge node, a multiRead of many big
   * results) is answered BADARGUMENTS instead. At least dataBytesMax + 1 KiB, so that every
   * znode stays readable; by default the larger of 1 MiB + 64 KiB and dataBytesMax + 64 KiB.
   */
  replyBytesMax: number;
  /**
   * Requests in flight on this node (received, not yet answered), all connections together,
   * beyond which it stops reading from the connections that send more until half have been
   * answered (ZooKeeper's globalOutstandingLimit).
   */
  globalOutstandingMax: number;
  /** A request answered later than this after it arrived is logged with its operation and time (at most one line a second); 0: never. */
  slowRequestMs: number;
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: string;
}

/** Room a getData reply needs beyond its data: header, Stat and framing, rounded up. */
const REPLY_OVERHEAD_BYTES = 1024;

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export function defaultServerConfig(serverId = 1): ServerConfig {
  return {
    serverId,
    dataDir: `./data/node${serverId}`,
    host: "",
    clientPort: 8180 + serverId,
    zkPort: 2180 + serverId,
    secureZkPort: -1,
    clientTlsCert: "",
    clientTlsKey: "",
    clientTlsCa: "",
    peers: "",
    peerHost: "",
    peerSecret: "",
    peerSecretFile: "",
    peerTlsCert: "",
    peerTlsKey: "",
    peerTlsCa: "",
    superDigest: "",
    peerPort: 0,
    readOnlyMode: true,
    tickMs: 100,
    // 2 s of silence before a peer is given up: ZooKeeper waits 10 s (syncLimit 5 x tick 2 s),
    // etcd 1 s. At 500 ms (the earlier default) a CPU-starved or GC-paused node looked dead: the
    // throughput benchmark re-elected 16 times in one run, and none at 10 s (docs/performance.md).
    syncLimitTicks: 20,
    initLimitTicks: 20,
    minSessionTimeoutMs: 1000,
    maxSessionTimeoutMs: 60_000,
    snapshotEveryTxns: 100_000,
    snapshotEveryBytes: 256 * 1024 * 1024,
    logRetainTxns: 50_000,
    snapshotsRetained: 3,
    diskLowSpaceBytes: 1024 * 1024 * 1024,
    dataBytesMax: limits.dataBytesMax,
    clientsMax: 10_000,
    clientsPerIpMax: 60,
    allowedOrigins: "",
    fourLetterWords: "srvr",
    replyBytesMax: limits.replyBytesMax,
    globalOutstandingMax: limits.globalOutstandingMax,
    slowRequestMs: 1000,
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
  // Unless set, the reply limit follows a raised data limit, as the listeners' frame limit does.
  if (partial.replyBytesMax === undefined && typeof c.dataBytesMax === "number") c.replyBytesMax = Math.max(limits.replyBytesMax, c.dataBytesMax + 64 * 1024);
  const problems: string[] = [];
  const int = (name: keyof ServerConfig, min: number, max: number) => {
    const v = c[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  };
  int("serverId", 1, 255);
  int("clientPort", 0, 65535);
  int("zkPort", -1, 65535);
  int("secureZkPort", -1, 65535);
  if ((c.clientTlsCert === "") !== (c.clientTlsKey === "")) problems.push("clientTlsCert and clientTlsKey go together: give both or neither");
  if (c.secureZkPort >= 0 && c.clientTlsCert === "") problems.push("secureZkPort needs clientTlsCert and clientTlsKey");
  if (c.clientTlsCa !== "" && c.clientTlsCert === "") problems.push("clientTlsCa needs clientTlsCert and clientTlsKey: client certificates are only asked for over TLS");
  if (c.secureZkPort > 0 && (c.secureZkPort === c.zkPort || c.secureZkPort === c.clientPort)) problems.push(`secureZkPort ${c.secureZkPort} is taken by another listener: each listener needs its own port`);
  if (c.zkPort > 0 && c.zkPort === c.clientPort) problems.push(`zkPort and clientPort are both ${c.zkPort}: each listener needs its own port`);
  int("tickMs", 10, 60_000);
  int("peerPort", 0, 65535);
  int("syncLimitTicks", 2, 10_000);
  int("initLimitTicks", 2, 10_000);
  int("minSessionTimeoutMs", 1, 3_600_000);
  int("maxSessionTimeoutMs", 1, 3_600_000);
  int("snapshotEveryTxns", 1, 1e9);
  int("snapshotEveryBytes", 1024, 2 ** 48);
  int("logRetainTxns", 0, 1e9);
  int("snapshotsRetained", 1, 100);
  int("diskLowSpaceBytes", 0, 2 ** 52);
  int("dataBytesMax", 0, 64 * 1024 * 1024);
  int("clientsMax", 1, 1_000_000);
  int("clientsPerIpMax", 0, 1_000_000);
  if (typeof c.fourLetterWords !== "string" || !/^\s*(\*|[a-z]{4}(\s*,\s*[a-z]{4})*)?\s*$/.test(c.fourLetterWords)) problems.push(`fourLetterWords must be a comma-separated list of four-letter words, or *, got "${String(c.fourLetterWords)}"`);
  int("replyBytesMax", 1024, 64 * 1024 * 1024 + 64 * 1024);
  int("globalOutstandingMax", 1, 1_000_000);
  int("slowRequestMs", 0, 3_600_000);
  if (c.replyBytesMax < c.dataBytesMax + REPLY_OVERHEAD_BYTES) {
    problems.push(`replyBytesMax (${c.replyBytesMax}) must be at least dataBytesMax + ${REPLY_OVERHEAD_BYTES} (${c.dataBytesMax + REPLY_OVERHEAD_BYTES}): a znode holding the largest data must stay readable`);
  }
  if (typeof c.readOnlyMode !== "boolean") problems.push(`readOnlyMode must be true or false, got ${String(c.readOnlyMode)}`);
  if (typeof c.dataDir !== "string" || c.dataDir === "") problems.push("dataDir must be a non-empty path");
  for (const k of ["allowedOrigins", "clientTlsCert", "clientTlsKey", "clientTlsCa", "host", "peerHost", "peerSecret", "peerSecretFile", "peerTlsCert", "peerTlsKey", "peerTlsCa", "superDigest"] as const) {
    if (typeof c[k] !== "string") problems.push(`${k} must be a string`);
  }
  if (c.peerSecret !== "" && c.peerSecretFile !== "") problems.push("peerSecret and peerSecretFile are both set: give one");
  if (typeof c.peerSecret === "string" && c.peerSecret !== "" && c.peerSecret.length < PEER_SECRET_CHARS_MIN) problems.push(`peerSecret must be at least ${PEER_SECRET_CHARS_MIN} characters (a random one: openssl rand -base64 32)`);
  const tlsFiles = [c.peerTlsCert, c.peerTlsKey, c.peerTlsCa].filter((f) => f !== "").length;
  if (tlsFiles !== 0 && tlsFiles !== 3) problems.push("peerTlsCert, peerTlsKey and peerTlsCa go together: give all three or none");
  if (typeof c.superDigest === "string" && c.superDigest !== "" && !SUPER_DIGEST.test(c.superDigest)) problems.push(`superDigest must be "super:<base64 sha1(super:password)>" as ZooKeeper's (28 characters after the colon), got "${c.superDigest}"`);
  if (!(LOG_LEVELS as readonly string[]).includes(c.logLevel)) problems.push(`logLevel must be one of ${LOG_LEVELS.join(", ")}, got ${c.logLevel}`);
  if (c.minSessionTimeoutMs > c.maxSessionTimeoutMs) problems.push(`minSessionTimeoutMs (${c.minSessionTimeoutMs}) must not exceed maxSessionTimeoutMs (${c.maxSessionTimeoutMs})`);
  if (c.minSessionTimeoutMs < 2 * c.tickMs) problems.push(`minSessionTimeoutMs (${c.minSessionTimeoutMs}) must be at least two ticks (${2 * c.tickMs})`);
  if (typeof c.peers !== "string") problems.push("peers must be a string like 1=host:2888,2=host:2889,3=host:2890");
  else if (c.peers !== "") {
    try {
      const members = parsePeers(c.peers);
      const self = members.find((m) => m.id === c.serverId);
      if (!self) problems.push(`serverId ${c.serverId} is not in the peer list ${c.peers}`);
      if (members.length > 1 && c.peerSecret === "" && c.peerSecretFile === "" && tlsFiles === 0) {
        problems.push("an ensemble's peer port needs authentication: give every node the same peerSecret (KEEPER_PEER_SECRET, e.g. from openssl rand -base64 32) or peerSecretFile, or peer TLS certificates (peerTlsCert, peerTlsKey, peerTlsCa)");
      }
      const peerPort = c.peerPort || self?.port;
      if (peerPort !== undefined && peerPort === c.clientPort && c.clientPort !== 0) problems.push(`clientPort and peerPort are both ${c.clientPort}: each listener needs its own port`);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface PeerAddress {
  id: number;
  host: string;
  port: number;
}

/** Parses "1=host:2888,2=host:2889": ids 1..255, each once, each address once. */
export function parsePeers(spec: string): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (const part of spec.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const m = /^(\d+)=(\[[^\]]+\]|[^:=\s]+):(\d+)$/.exec(part);
    if (!m) throw new ConfigError(`peers: "${part}" is not id=host:port`);
    const id = Number(m[1]);
    const port = Number(m[3]);
    if (id < 1 || id > 255) throw new ConfigError(`peers: id ${id} must be in 1..255`);
    if (port < 1 || port > 65535) throw new ConfigError(`peers: port ${port} of server ${id} is out of range`);
    if (out.some((p) => p.id === id)) throw new ConfigError(`peers: server ${id} is listed twice`);
    if (out.some((p) => p.host === m[2] && p.port === port)) throw new ConfigError(`peers: ${m[2]}:${port} is given to two servers`);
    out.push({ id, host: m[2]!, port });
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * Where the listeners bind when not told: the node's own address in the peer list (a wildcard
 * would face every network the machine is on), or loopback for a standalone node.
 */
export function bindHosts(c: ServerConfig): { host: string; peerHost: string } {
  const own = c.peers === "" ? undefined : parsePeers(c.peers).find((m) => m.id === c.serverId)?.host.replace(/^\[(.*)\]$/, "$1");
  const peerHost = c.peerHost !== "" ? c.peerHost : (own ?? "127.0.0.1");
  return { host: c.host !== "" ? c.host : (own ?? "127.0.0.1"), peerHost };
}

/** The canonical form every member must agree on (compared when peers connect). */
export function canonicalPeers(peers: PeerAddress[]): string {
  return peers.map((p) => `${p.id}=${p.host}:${p.port}`).join(",");
}
