// Wires one node: LevelDB store -> ZAB runner -> client-facing node, the peer network, and
// the client port (native WebSocket protocol + admin HTTP).
import { mkdirSync } from "node:fs";
import { asServerId, type ZabConfig } from "@keeper/core";
import { formatZxid } from "@keeper/protocol";
import { adminHandler } from "./admin.ts";
import { listen } from "./client/listener.ts";
import { bindHosts, canonicalPeers, parsePeers, resolveServerConfig, type ServerConfig } from "./config.ts";
import { loadPeerAuth } from "./peers/load-peer-auth.ts";
import { forwardProblem } from "./peers/forward-guard.ts";
import { ConnectionLimits, clientSocketsMax, openFilesLimit } from "./client/connection-limits.ts";
import { loadClientTls } from "./client/client-tls.ts";
import { notWhitelisted, parseFourLetterWhitelist } from "./zookeeper/four-letter-whitelist.ts";
import { EventLoopMonitor } from "./event-loop-monitor.ts";
import { KeeperNode } from "./keeper-node.ts";
import { createNodeLogger, type Logger } from "./logger.ts";
import { PeerNetwork, peerFrameBytesMax } from "./peers/peer-network.ts";
import { ZabRunner } from "./replica/zab-runner.ts";
import { Store } from "./storage/store.ts";
import { listenZooKeeper, type ZkListener } from "./zookeeper/listener.ts";
import { answerFourLetterWord, type NodeReport } from "./zookeeper/four-letter-words.ts";

/** What the ZooKeeper port reports as its version: Keeper serves ZooKeeper 3.8's protocol and features. */
export const ZOOKEEPER_COMPAT_VERSION = "3.8.4-keeper-0.1.0, built on 2026-11-22";

export interface RunningServer {
  /** The address the client listeners are bound to. */
  readonly host: string;
  readonly port: number;
  /** The ZooKeeper wire protocol port, or undefined when it is off. */
  readonly zkPort: number | undefined;
  /** The ZooKeeper wire protocol over TLS, or undefined when it is off. */
  readonly secureZkPort: number | undefined;
  readonly peerPort: number | undefined;
  readonly config: ServerConfig;
  status(): Record<string, unknown>;
  close(): Promise<void>;
}

/** ZAB timing from the server's ticks. */
export function zabConfig(config: ServerConfig, voters: number[]): ZabConfig {
  return {
    self: asServerId(config.serverId),
    voters: voters.map(asServerId),
    dataBytesMax: config.dataBytesMax,
    tickMs: config.tickMs,
    heartbeatTicks: 1,
    syncLimitTicks: config.syncLimitTicks,
    initLimitTicks: config.initLimitTicks,
    finalizeTicks: 1,
    electionResendTicks: 5,
    logWindowTxns: Math.max(1000, config.logRetainTxns),
  };
}

const isWildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === "";

export async function startServer(input: ServerConfig | Partial<ServerConfig>, logger?: Logger): Promise<RunningServer> {
  const config = resolveServerConfig(input);
  const log = logger ?? createNodeLogger(config.serverId, config.logLevel);
  const members = config.peers === "" ? [] : parsePeers(config.peers);
  const voters = members.length > 0 ? members.map((m) => m.id) : [config.serverId];
  if (voters.length > 1 && voters.length % 2 === 0) {
    log.warn({ voters: voters.length }, `an ensemble of ${voters.length} tolerates no more failures than one of ${voters.length - 1}; use an odd size`);
  }
  mkdirSync(config.dataDir, { recursive: true });
  const store = await Store.open(config.dataDir);
  let node: KeeperNode | undefined;
  const runner = await ZabRunner.open(
    store,
    { zab: zabConfig(config, voters), snapshotEveryTxns: config.snapshotEveryTxns, snapshotEveryBytes: config.snapshotEveryBytes, logRetainTxns: config.logRetainTxns, onFatal: () => process.exit(70) },
    log.child({ component: "zab" }),
    {
      applied: (txn, outcome) => node!.applied(txn, outcome),
      stateReset: (state) => node!.stateReset(state),
      roleChanged: (s) => node?.roleChanged(s),
    },
  );
  node = new KeeperNode(runner, config, log);
  const self = members.find((m) => m.id === config.serverId);
  let network: PeerNetwork | undefined;
  let peerPort: number | undefined;
  const bind = bindHosts(config);
  const peerLog = log.child({ component: "peers" });
  if (members.length > 1) {
    network = new PeerNetwork(asServerId(config.serverId), members, canonicalPeers(members), {
      up: (id) => runner.peerUp(id),
      down: (id) => runner.peerDown(id),
      message: (from, msg) => {
        const problem = forwardProblem(msg, config.superDigest);
        if (problem) return peerLog.error({ peer: from, reason: problem }, "refused a forwarded request");
        runner.peerMessage(from, msg);
      },
    }, peerLog, {
      auth: loadPeerAuth(config),
      ...(isWildcard(bind.peerHost) ? {} : { localAddress: bind.peerHost }),
      silenceMsMax: config.syncLimitTicks * config.tickMs,
      frameBytesMax: peerFrameBytesMax(config.dataBytesMax),
    });
    peerPort = await network.listen(bind.peerHost, config.peerPort || self!.port);
    log.info({ secret: network.authenticatesBy.secret, tls: network.authenticatesBy.tls }, "peer links authenticate");
  }
  const startedAt = Date.now();
  const eventLoop = new EventLoopMonitor(log.child({ component: "event-loop" }));
  eventLoop.start();
  // Everything below is counters or per-connection: no status or four-letter word walks the tree.
  const status = () => {
    const r = runner.replica;
    const s = r.status();
    return {
      serverId: config.serverId,
      state: node!.readOnly ? "read-only" : members.length > 1 ? s.role : "standalone",
      role: s.role,
      serving: s.serving,
      activity: node!.readOnly ? `read-only: no quorum; ${s.activity}` : s.activity,
      leader: s.leader ?? null,
      epoch: s.currentEpoch,
      acceptedEpoch: s.acceptedEpoch,
      lastZxid: s.committedZxid,
      lastZxidHex: formatZxid(s.committedZxid),
      lastLoggedZxid: s.lastLoggedZxid,
      digest: r.state.tree.digest(),
      nodes: r.state.tree.size,
      ephemerals: r.state.tree.ephemeralCount,
      approximateDataSize: r.state.tree.approximateDataSize,
      sessions: r.state.sessions.size,
      clients: node!.connections.size,
      zkPort: zk?.port ?? null,
      watches: node!.watches.stats(),
      peers: members.map((m) => ({ id: m.id, address: `${m.host}:${m.port}`, self: m.id === config.serverId, connected: m.id === config.serverId || (network?.connected.includes(asServerId(m.id)) ?? false), refused: network?.refusals.get(asServerId(m.id)) ?? null })),
      pid: process.pid,
      uptimeMs: Date.now() - startedAt,
      eventLoop: eventLoop.stats(),
      counters: node!.counters,
      log: runner.stats,
    };
  };
  const fdLimit = openFilesLimit();
  const sockets = new ConnectionLimits(config.clientsPerIpMax, clientSocketsMax(config.clientsMax, fdLimit));
  if (sockets.totalMax < config.clientsMax) log.warn({ clientsMax: config.clientsMax, openFilesLimit: fdLimit, clientSocketsMax: sockets.totalMax }, "the open-files limit leaves room for fewer client connections than clientsMax");
  const clientTls = loadClientTls(config);
  const listener = await listen(node, bind.host, config.clientPort, adminHandler(status, () => node!.serving), log.child({ component: "client" }), sockets, clientTls);
  const whitelist = parseFourLetterWhitelist(config.fourLetterWords);
  const report = (): NodeReport => {
    const r = runner.replica;
    const s = r.status();
    const tree = r.state.tree;
    const conns = [...node!.connections];
    const watches = node!.watches.stats();
    return {
      version: ZOOKEEPER_COMPAT_VERSION,
      // "leader" only once established: a leader still syncing its followers serves nobody.
      mode: node!.readOnly ? "read-only" : !s.serving ? "not serving" : members.length <= 1 ? "standalone" : s.role === "leading" ? "leader" : "follower",
      serving: s.serving,
      zxid: s.committedZxid,
      nodeCount: tree.size,
      watchCount: watches.watches,
      watchedPaths: watches.paths,
      ephemerals: tree.ephemeralCount,
      approximateDataSize: tree.approximateDataSize,
      received: node!.counters.requests,
      sent: conns.reduce((n, c) => n + c.sent, 0),
      outstanding: conns.reduce((n, c) => n + c.pending, 0),
      connections: conns.map((c) => ({ remote: c.remote, received: c.received, sent: c.sent, queued: c.pending, ...(c.sessionId !== undefined ? { sessionId: c.sessionId } : {}) })),
      ...(s.role === "leading" ? { followers: network?.connected.length ?? 0, syncedFollowers: network?.connected.length ?? 0 } : {}),
      config: { clientPort: zk?.port ?? -1, keeperClientPort: listener.port, dataDir: config.dataDir, tickTime: config.tickMs, syncLimit: config.syncLimitTicks, initLimit: config.initLimitTicks, minSessionTimeout: config.minSessionTimeoutMs, maxSessionTimeout: config.maxSessionTimeoutMs, maxClientCnxns: config.clientsMax, serverId: config.serverId, readOnlyMode: config.readOnlyMode },
    };
  };
  const zk: ZkListener | undefined = config.zkPort >= 0 ? await listenZooKeeper(node, bind.host, config.zkPort, (word) => (whitelist.has(word) ? answerFourLetterWord(word, report) : notWhitelisted(word)), log.child({ component: "zookeeper" }), sockets) : undefined;
  const secureZk: ZkListener | undefined = config.secureZkPort >= 0 ? await listenZooKeeper(node, bind.host, config.secureZkPort, (word) => (whitelist.has(word) ? answerFourLetterWord(word, report) : notWhitelisted(word)), log.child({ component: "zookeeper-tls" }), sockets, clientTls) : undefined;
  runner.start(network, config.tickMs);
  log.info({ host: bind.host, peerHost: members.length > 1 ? bind.peerHost : undefined, port: listener.port, tls: clientTls !== undefined, zkPort: zk?.port, secureZkPort: secureZk?.port, peerPort, voters, dataDir: config.dataDir }, "started");
  let closing: Promise<void> | undefined;
  return {
    host: bind.host,
    port: listener.port,
    zkPort: zk?.port,
    secureZkPort: secureZk?.port,
    peerPort,
    config,
    status,
    close: () =>
      (closing ??= (async () => {
        eventLoop.stop();
        runner.stop();
        await listener.close();
        await zk?.close();
        await secureZk?.close();
        await network?.close();
        await runner.drain();
        await store.close();
        log.info("stopped");
      })()),
  };
}
