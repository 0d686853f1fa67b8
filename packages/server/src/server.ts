// Wires one node: LevelDB store -> replica -> node logic -> client listener, plus ticks.
import { mkdirSync } from "node:fs";
import { formatZxid } from "@keeper/protocol";
import { adminHandler } from "./admin.ts";
import { listen } from "./client/listener.ts";
import { resolveServerConfig, type ServerConfig } from "./config.ts";
import { KeeperNode } from "./keeper-node.ts";
import { createNodeLogger, type Logger } from "./logger.ts";
import { SoloReplica } from "./replica/solo-replica.ts";
import { Store } from "./storage/store.ts";

export interface RunningServer {
  readonly port: number;
  readonly config: ServerConfig;
  status(): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startServer(input: ServerConfig | Partial<ServerConfig>, logger?: Logger): Promise<RunningServer> {
  const config = resolveServerConfig(input);
  const log = logger ?? createNodeLogger(config.serverId, config.logLevel);
  mkdirSync(config.dataDir, { recursive: true });
  const store = await Store.open(config.dataDir);
  const replica = await SoloReplica.recover(
    store,
    {
      dataBytesMax: config.dataBytesMax,
      snapshotEveryTxns: config.snapshotEveryTxns,
      logRetainTxns: config.logRetainTxns,
      onFatal: () => process.exit(70),
    },
    log.child({ component: "replica" }),
  );
  const node = new KeeperNode(replica, config, log);
  const startedAt = Date.now();
  const status = () => {
    const tree = replica.state.tree;
    return {
      serverId: config.serverId,
      state: "standalone",
      epoch: replica.epoch,
      lastZxid: tree.lastZxid,
      lastZxidHex: formatZxid(tree.lastZxid),
      digest: tree.digest(),
      nodes: tree.size,
      sessions: replica.state.sessions.size,
      clients: listener.connections.size,
      watches: node.watches.stats(),
      peers: [],
      pid: process.pid,
      uptimeMs: Date.now() - startedAt,
      counters: node.counters,
      log: replica.stats,
    };
  };
  const listener = await listen(node, config.host, config.clientPort, adminHandler(status, () => true), log.child({ component: "client" }));
  const ticker = setInterval(() => node.tick(), config.tickMs);
  log.info({ host: config.host, port: listener.port, dataDir: config.dataDir, lastZxid: formatZxid(replica.state.tree.lastZxid) }, "serving clients");
  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    config,
    status,
    close: () =>
      (closing ??= (async () => {
        clearInterval(ticker);
        await listener.close();
        await replica.drain();
        await store.close();
        log.info("stopped");
      })()),
  };
}
