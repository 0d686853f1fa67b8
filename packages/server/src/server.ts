// Wires one node: LevelDB store -> ZAB runner -> client-facing node, the peer network, and
// the client port (native WebSocket protocol + admin HTTP).
import { mkdirSync } from "node:fs";
import { asServerId, type ZabConfig } from "@keeper/core";
import { formatZxid } from "@keeper/protocol";
import { adminHandler } from "./admin.ts";
import { BackupRoute } from "./backup/route.ts";
import { listen } from "./client/listener.ts";
import { canonicalPeers, parsePeers, resolveServerConfig, type ServerConfig } from "./config.ts";
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
  readonly port: number;
  /** The ZooKeeper wire protocol port, or undefined when it is off. */
  readonly zkPort: number | undefined;
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
  let backups: BackupRoute | undefined;
  const runner = await ZabRunner.open(
    store,
    { zab: zabConfig(config, voters), snapshotEveryTxns: config.snapshotEveryTxns, snapshotEveryBytes: config.snapshotEveryBytes, logRetainTxns: config.logRetainTxns, onFatal: () => process.exit(70) },
    log.child({ component: "zab" }),
    {
      applied: (txn, outcome) => node!.applied(txn, outcome),
      stateReset: (state) => {
        // A backup in progress describes the state being dropped; its reader gets a cut-short file.
        backups?.abortAll("the node's state was replaced by a snapshot from the leader");
        node!.stateReset(state);
      },
      roleChanged: (s) => node?.roleChanged(s),
    },
  );
  node = new KeeperNode(runner, config, log);
  const self = members.find((m) => m.id === config.serverId);
  let network: PeerNetwork | undefined;
  let peerPort: number | undefined;
  if (members.length > 1) {
    network = new PeerNetwork(asServerId(config.serverId), members, canonicalPeers(members), {
      up: (id) => runner.peerUp(id),
      down: (id) => runner.peerDown(id),
      message: (from, msg) => runner.peerMessage(from, msg),
    }, log.child({ component: "peers" }), isWildcard(config.peerHost) ? undefined : config.peerHost, config.syncLimitTicks * config.tickMs, peerFrameBytesMax(config.dataBytesMax));
    peerPort = await network.listen(config.peerHost, config.peerPort || self!.port);
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
  backups = new BackupRoute(() => runner.replica.state, log.child({ component: "backup" }));
  const admin = adminHandler(status, () => node!.serving);
  const adminRoutes: typeof admin = (req, res) => {
    if (!backups!.handle(req, res)) admin(req, res);
  };
  const listener = await listen(node, config.host, config.clientPort, adminRoutes, log.child({ component: "client" }));
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
  const zk: ZkListener | undefined = config.zkPort >= 0 ? await listenZooKeeper(node, config.host, config.zkPort, (word) => answerFourLetterWord(word, report), log.child({ component: "zookeeper" })) : undefined;
  runner.start(network, config.tickMs);
  log.info({ host: config.host, port: listener.port, zkPort: zk?.port, peerPort, voters, dataDir: config.dataDir }, "started");
  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    zkPort: zk?.port,
    peerPort,
    config,
    status,
    close: () =>
      (closing ??= (async () => {
        eventLoop.stop();
        backups?.abortAll("the node is stopping");
        runner.stop();
        await listener.close();
        await zk?.close();
        await network?.close();
        await runner.drain();
        await store.close();
        log.info("stopped");
      })()),
  };
}
