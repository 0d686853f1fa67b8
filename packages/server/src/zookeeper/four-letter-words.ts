// ZooKeeper's four-letter words, answered on the ZooKeeper client port in ZooKeeper's formats
// so that existing monitoring (nc, zkCli's srvr checks, exporters reading mntr) keeps working.
import { hostname, platform, release } from "node:os";

/** What this node reports; the server builds it fresh for each word, from counters (no tree walk). */
export interface NodeReport {
  version: string;
  /** "not serving": looking, or leading or following but not yet established (see NOT_SERVING). */
  mode: "leader" | "follower" | "standalone" | "read-only" | "not serving";
  serving: boolean;
  zxid: number;
  nodeCount: number;
  watchCount: number;
  watchedPaths: number;
  ephemerals: number;
  /** ZooKeeper's approximate data size: path lengths plus data bytes over all nodes. */
  approximateDataSize: number;
  received: number;
  sent: number;
  outstanding: number;
  /** Request latency in ms since start (arrival to reply), over every timed request. */
  latency: { minMs: number; avgMs: number; maxMs: number };
  /** From /proc/self/fd; undefined where there is none. */
  openFileDescriptors: number | undefined;
  globalSessions: number;
  localSessions: number;
  quorumSize: number;
  uptimeMs: number;
  connections: Array<{ remote: string; received: number; sent: number; queued: number; sessionId?: number }>;
  /** On a leader: learners connected to it, and those synced and taking proposals. */
  followers?: number;
  syncedFollowers?: number;
  config: Record<string, string | number | boolean>;
}

const hex = (n: number) => "0x" + n.toString(16);
/** ZooKeeper prints min and max as whole ms and the average with 0.1 ms precision (in srvr; mntr: as is). */
const wholeMs = (ms: number) => Math.round(ms);
const tenthMs = (ms: number) => (Math.round(ms * 10) / 10).toFixed(1);

function srvr(r: NodeReport): string {
  return [
    `Zookeeper version: ${r.version}`,
    `Latency min/avg/max: ${wholeMs(r.latency.minMs)}/${tenthMs(r.latency.avgMs)}/${wholeMs(r.latency.maxMs)}`,
    `Received: ${r.received}`,
    `Sent: ${r.sent}`,
    `Connections: ${r.connections.length}`,
    `Outstanding: ${r.outstanding}`,
    `Zxid: ${hex(r.zxid)}`,
    `Mode: ${r.mode}`,
    `Node count: ${r.nodeCount}`,
  ].join("\n") + "\n";
}

function cons(r: NodeReport): string {
  return r.connections.map((c) => ` /${c.remote}[1](queued=${c.queued},recved=${c.received},sent=${c.sent}${c.sessionId !== undefined ? `,sid=${hex(c.sessionId)}` : ""})`).join("\n") + "\n\n";
}

function mntr(r: NodeReport): string {
  const rows: Array<[string, string | number]> = [
    ["zk_version", r.version],
    ["zk_server_state", r.mode],
    ["zk_avg_latency", tenthMs(r.latency.avgMs)],
    ["zk_max_latency", wholeMs(r.latency.maxMs)],
    ["zk_min_latency", wholeMs(r.latency.minMs)],
    ["zk_packets_received", r.received],
    ["zk_packets_sent", r.sent],
    ["zk_num_alive_connections", r.connections.length],
    ["zk_outstanding_requests", r.outstanding],
    ["zk_znode_count", r.nodeCount],
    ["zk_watch_count", r.watchCount],
    ["zk_ephemerals_count", r.ephemerals],
    ["zk_approximate_data_size", r.approximateDataSize],
    ["zk_global_sessions", r.globalSessions],
    ["zk_local_sessions", r.localSessions],
    ["zk_quorum_size", r.quorumSize],
    ["zk_uptime", r.uptimeMs],
  ];
  if (r.openFileDescriptors !== undefined) rows.push(["zk_open_file_descriptor_count", r.openFileDescriptors]);
  if (r.followers !== undefined) rows.push(["zk_followers", r.followers], ["zk_synced_followers", r.syncedFollowers ?? 0]);
  return rows.map(([k, v]) => `${k}\t${v}`).join("\n") + "\n";
}

/**
 * ZooKeeper's answer to the words that describe a server while it serves nobody (electing, or a
 * leader or follower not yet established): it has no mode to report, so no monitor may read one.
 */
export const NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n";

/** Words ZooKeeper answers with NOT_SERVING while it is not serving (ruok, isro, envi, cons still answer). */
const NEED_SERVING = new Set(["srvr", "stat", "mntr", "conf", "wchs"]);

export function answerFourLetterWord(word: string, build: () => NodeReport): string {
  let built: NodeReport | undefined;
  const report = () => (built ??= build());
  if (NEED_SERVING.has(word) && report().mode === "not serving") return NOT_SERVING;
  switch (word) {
    case "ruok":
      return "imok";
    case "isro": {
      // ZooKeeper prints "null" when no server is running (electing).
      const mode = report().mode;
      return mode === "not serving" ? "null" : mode === "read-only" ? "ro" : "rw";
    }
    case "srvr":
      return srvr(report());
    case "stat": {
      const r = report();
      const [first, ...rest] = srvr(r).split("\n");
      return `${first}\nClients:\n${cons(r)}${rest.join("\n")}`;
    }
    case "cons":
      return cons(report());
    case "mntr":
      return mntr(report());
    case "conf":
      return Object.entries(report().config).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
    case "envi":
      return [
        "Environment:",
        `zookeeper.version=${report().version}`,
        `host.name=${hostname()}`,
        `java.version=node ${process.version}`,
        `os.name=${platform()}`,
        `os.version=${release()}`,
        `user.dir=${process.cwd()}`,
      ].join("\n") + "\n";
    case "wchs": {
      const r = report();
      return `${r.connections.length} connections watching ${r.watchedPaths} paths\nTotal watches:${r.watchCount}\n`;
    }
    default:
      return `${word} is not executed because it is not in the whitelist.\n`;
  }
}
