// Wires one node: LevelDB store -> ZAB runner -> client-facing node, the peer network, and
// the client port (native WebSocket protocol + admin HTTP).
import { mkdirSync } from "node:fs";
import { asServerId, quorumSize, type LearnerState, type ZabConfig } from "@keeper/core";
import { formatZxid } from "@keeper/protocol";
import { adminHandler } from "./admin.ts";
import { BackupRoute } from "./backup/route.ts";
import { listen } from "./client/listener.ts";
import { bindHosts, canonicalPeers, parsePeers, resolveServerConfig, type ServerConfig } from "./config.ts";
import { loadPeerAuth } from "./peers/load-peer-auth.ts";
import { credentialCheck } from "./client/auth.ts";
import { ConnectionLimits, clientSocketsMax, openFilesLimit } from "./client/connection-limits.ts";
import { loadClientTls } from "./client/client-tls.ts";
import { notWhitelisted, parseFourLetterWhitelist } from "./zookeeper/four-letter-whitelist.ts";
import { EventLoopMonitor } from "./event-loop-monitor.ts";
import { KeeperNode } from "./keeper-node.ts";
import { NodeMetrics } from "./metrics/node-metrics.ts";
import { openFileDescriptors } from "./metrics/process-facts.ts";
import { RoleTimer } from "./metrics/role-timer.ts";
import { createNodeLogger, type Logger } from "./logger.ts";
import { PeerNetwork, peerFrameBytesMax } from "./peers/peer-network.ts";
import { ZabRunner } from "./replica/zab-runner.ts";
import { DiskWatch } from "./storage/disk-space.ts";
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

/**
 * Committed transactions a follower applies per turn (a few milliseconds of applies): a DIFF
 * of 50,000 committed at once is applied over many turns, between which the node answers its
 * peers, instead of in one pause its leader could take for death.
 */
const APPLY_BATCH_TXNS = 2000;

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
    applyBatchTxns: APPLY_BATCH_TXNS,
    // As leader, this node checks every client credential itself (never an identity a peer names).
    credentials: credentialCheck(config.superDigest),
  };
}

/** ZooKeeper's mntr rows for a leader: learners connected, and those synced and taking proposals. */
function learnerCounts(learners: LearnerState[]): { followers: number; syncedFollowers: number } {
  return { followers: learners.length, syncedFollowers: learners.filter((l) => l.synced).length };
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
  const store = await Store.open(config.dataDir, { snapshotsRetained: config.snapshotsRetained, log: log.child({ component: "store" }) });
  const disk = new DiskWatch(config.dataDir, config.diskLowSpaceBytes, log.child({ component: "disk" }));
  disk.start();
  const metrics = new NodeMetrics(config.dataDir, config.slowRequestMs, log.child({ component: "requests" }));
  const roleTimer = new RoleTimer(metrics, log.child({ component: "zab" }));
  let node: KeeperNode | undefined;
  let backups: BackupRoute | undefined;
  const runner = await ZabRunner.open(
    store,
    {
      zab: zabConfig(config, voters),
      snapshotEveryTxns: config.snapshotEveryTxns,
      snapshotEveryBytes: config.snapshotEveryBytes,
      logRetainTxns: config.logRetainTxns,
      onFatal: () => process.exit(70),
      disk,
      timings: { fsyncMs: metrics.fsyncMs, propagationMs: metrics.propagationMs, snapshotMs: metrics.snapshotMs },
    },
    log.child({ component: "zab" }),
    {
      applied: (txn, outcome) => node!.applied(txn, outcome),
      stateReset: (state) => {
        // A backup in progress describes the state being dropped; its reader gets a cut-short file.
        backups?.abortAll("the node's state was replaced by a snapshot from the leader");
        node!.stateReset(state);
      },
      roleChanged: (s) => {
        roleTimer.roleChanged(s);
        node?.roleChanged(s);
      },
    },
  );
  node = new KeeperNode(runner, config, log, metrics.requests);
  const self = members.find((m) => m.id === config.serverId);
  let network: PeerNetwork | undefined;
  let peerPort: number | undefined;
  const bind = bindHosts(config);
  const peerLog = log.child({ component: "peers" });
  if (members.length > 1) {
    network = new PeerNetwork(asServerId(config.serverId), members, canonicalPeers(members), {
      up: (id) => runner.peerUp(id),
      down: (id) => runner.peerDown(id),
      message: (from, msg) => runner.peerMessage(from, msg),
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
      /** What replicas compare at run time: the tree's digest and the sessions'. */
      stateDigest: r.state.digest(),
      /** "ok", "suspect" (its digest differs from its leader's) or "resyncing" (taking a leader's state). */
      integrity: s.integrity,
      nodes: r.state.tree.size,
      ephemerals: r.state.tree.ephemeralCount,
      approximateDataSize: r.state.tree.approximateDataSize,
      electionReason: s.electionReason ?? null,
      quorumSize: quorumSize(voters.length),
      sessions: r.state.sessions.size,
      localSessions: node!.localSessionCount,
      clients: node!.connections.size,
      outstanding: node!.outstanding.outstanding,
      packetsSent: node!.packetsSent,
      learners: r.learnerStates(),
      zkPort: zk?.port ?? null,
      watches: node!.watches.stats(),
      peers: members.map((m) => ({ id: m.id, address: `${m.host}:${m.port}`, self: m.id === config.serverId, connected: m.id === config.serverId || (network?.connected.includes(asServerId(m.id)) ?? false), refused: network?.refusals.get(asServerId(m.id)) ?? null })),
      pid: process.pid,
      uptimeMs: Date.now() - startedAt,
      eventLoop: eventLoop.stats(),
      disk: disk.status(),
      counters: node!.counters,
      latency: metrics.requests.totals(),
      log: { ...runner.stats, framesOut: network?.framesSent ?? 0 },
    };
  };
  const fdLimit = openFilesLimit();
  const sockets = new ConnectionLimits(config.clientsPerIpMax, clientSocketsMax(config.clientsMax, fdLimit));
  if (sockets.totalMax < config.clientsMax) log.warn({ clientsMax: config.clientsMax, openFilesLimit: fdLimit, clientSocketsMax: sockets.totalMax }, "the open-files limit leaves room for fewer client connections than clientsMax");
  const clientTls = loadClientTls(config);
  backups = new BackupRoute(() => runner.replica.state, log.child({ component: "backup" }), config.superDigest);
  const admin = adminHandler({ status, ready: () => node!.serving, metrics: (facts) => metrics.render(facts), metricsContentType: metrics.contentType });
  const adminRoutes: typeof admin = (req, res) => {
    if (!backups!.handle(req, res)) admin(req, res);
  };
  const listener = await listen(node, bind.host, config.clientPort, adminRoutes, log.child({ component: "client" }), sockets, clientTls);
  const whitelist = parseFourLetterWhitelist(config.fourLetterWords);
  // The four-letter words render the same snapshot as /status and /metrics, plus connections and configuration.
  const report = (): NodeReport => {
    const st = status();
    return {
      version: ZOOKEEPER_COMPAT_VERSION,
      // "leader" only once established: a leader still syncing its followers serves nobody.
      mode: st.state === "read-only" ? "read-only" : !st.serving ? "not serving" : st.state === "standalone" ? "standalone" : st.role === "leading" ? "leader" : "follower",
      serving: st.serving,
      zxid: st.lastZxid,
      nodeCount: st.nodes,
      watchCount: st.watches.watches,
      watchedPaths: st.watches.paths,
      ephemerals: st.ephemerals,
      approximateDataSize: st.approximateDataSize,
      received: st.counters.requests,
      sent: st.packetsSent,
      outstanding: st.outstanding,
      latency: metrics.requests.summary(),
      openFileDescriptors: openFileDescriptors(),
      globalSessions: st.sessions,
      localSessions: st.localSessions,
      quorumSize: st.quorumSize,
      uptimeMs: st.uptimeMs,
      connections: [...node!.connections].map((c) => ({ remote: c.remote, received: c.received, sent: c.sent, queued: c.pending, ...(c.sessionId !== undefined ? { sessionId: c.sessionId } : {}) })),
      // A follower is synced once it acknowledged NEWLEADER and takes proposals, not when its link is up.
      ...(st.role === "leading" ? learnerCounts(st.learners) : {}),
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
