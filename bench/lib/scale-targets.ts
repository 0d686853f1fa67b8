// The two systems the scale benchmark loads, behind one interface: a 3-node Keeper (separate
// `keeper server` processes, bench/lib/keeper-cluster.ts) and a 3-node Apache ZooKeeper
// (bench/lib/zookeeper.ts). Both are reached through the ZooKeeper wire protocol; roles come
// from Keeper's admin /status and ZooKeeper's `srvr`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MemberSample } from "./ensemble-watch.ts";
import { readOnce } from "./jute-session.ts";
import { KEEPER_HOST, KeeperCluster, type LogEvent } from "./keeper-cluster.ts";
import { sleep } from "./stats.ts";
import { ZkEnsemble, fourLetter, zkMode } from "./zookeeper.ts";

export interface ScaleTarget {
  readonly system: "Keeper" | "ZooKeeper";
  /** Spawns every member (they find each other and elect on their own). */
  startAll(): void;
  /** Resolves once every member serves in a settled role and answers a read of `path` on its ZooKeeper port. */
  waitServing(path: string, timeoutMs: number): Promise<void>;
  zkServers(): Array<{ host: string; port: number }>;
  pids(): number[];
  dataDirs(): string[];
  poll(): Promise<MemberSample[]>;
  /** SIGTERM every member and wait; returns the time it took. */
  stopAll(): Promise<number>;
  cleanup(): Promise<void>;
  logEvents(): LogEvent[];
  warnings(): Map<string, number>;
  /** Keeper only: each member's write-pipeline counters from /status (log batches, peer messages and frames). */
  pipeline?(): Promise<PipelineCounters[]>;
}

export interface PipelineCounters {
  id: number;
  leading: boolean;
  /** Synced log batches and the transactions in them. */
  batches: number;
  txns: number;
  /** Peer messages sent, and the WebSocket frames that carried them. */
  messagesOut: number;
  framesOut: number;
}

export async function keeperTarget(opts: { nodeFlags?: string[]; logFile?: string } = {}): Promise<ScaleTarget> {
  const c = await KeeperCluster.create(3, opts);
  return {
    system: "Keeper",
    startAll: () => c.startAll(),
    async waitServing(path, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        for (const m of c.members) if (m.child && !m.running) throw new Error(`keeper ${m.id} exited:\n${c.tail(m.id)}`);
        const sts = await Promise.all(c.members.map((m) => m.status(1_000)));
        last = JSON.stringify(sts.map((s) => s && [s.state, s.serving, s.leader]));
        const leader = sts.find((s) => s?.state === "leading" && s.serving);
        const settled = leader !== undefined && sts.every((s) => s?.serving === true && s.leader === leader.serverId);
        if (settled && (await Promise.all(c.members.map((m) => readOnce(KEEPER_HOST, m.zkPort, path)))).every(Boolean)) return;
        await sleep(50);
      }
      throw new Error(`keeper ensemble not serving after ${timeoutMs} ms: ${last}`);
    },
    zkServers: () => c.members.map((m) => ({ host: KEEPER_HOST, port: m.zkPort })),
    pids: () => c.members.map((m) => m.pid ?? NaN),
    dataDirs: () => c.members.map((m) => c.dataDir(m)),
    poll: () =>
      Promise.all(
        c.members.map(async (m): Promise<MemberSample> => {
          const s = await m.status(1_000);
          if (s === undefined) return { id: m.id, role: "no answer", isLeader: false };
          const role = `${s.state}${s.serving ? "" : " (not serving)"}`;
          return { id: m.id, role, isLeader: s.state === "leading" && s.serving === true, epoch: s.epoch, eventLoopMaxMs: s.eventLoop?.maxMs };
        }),
      ),
    stopAll: () => c.stopAll(),
    cleanup: () => c.cleanupAsync(),
    logEvents: () => c.events,
    warnings: () => c.warnings,
    pipeline: () =>
      Promise.all(
        c.members.map(async (m): Promise<PipelineCounters> => {
          const s = await m.status(1_000);
          const l = s?.log ?? {};
          const n = (v: unknown): number => (typeof v === "number" ? v : NaN);
          return { id: m.id, leading: s?.state === "leading", batches: n(l.batches), txns: n(l.txns), messagesOut: n(l.messagesOut), framesOut: n(l.framesOut) };
        }),
      ),
  };
}

export async function zookeeperTarget(jvmArgs: string[]): Promise<ScaleTarget> {
  const e = await ZkEnsemble.create(3, { jvmArgs });
  return {
    system: "ZooKeeper",
    startAll: () => e.startAll(),
    async waitServing(path, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        for (const n of e.nodes) if (n.child && !n.running) throw new Error(`zookeeper ${n.id} exited:\n${n.output()}`);
        const modes = await Promise.all(e.nodes.map((n) => zkMode(n.clientPort, 1_000)));
        last = modes.join(",");
        const settled = modes.filter((m) => m === "leader").length === 1 && modes.filter((m) => m === "follower").length === e.nodes.length - 1;
        if (settled && (await Promise.all(e.nodes.map((n) => readOnce(KEEPER_HOST, n.clientPort, path)))).every(Boolean)) return;
        await sleep(50);
      }
      throw new Error(`zookeeper ensemble not serving after ${timeoutMs} ms: ${last}\n${e.nodes.map((n) => n.output()).join("\n")}`);
    },
    zkServers: () => e.nodes.map((n) => ({ host: KEEPER_HOST, port: n.clientPort })),
    pids: () => e.nodes.map((n) => n.pid ?? NaN),
    dataDirs: () => e.nodes.map((n) => join(n.dir, "data")),
    poll: () =>
      Promise.all(
        e.nodes.map(async (n): Promise<MemberSample> => {
          const mode = await zkMode(n.clientPort, 1_000);
          const role = mode === "down" ? "no answer" : mode;
          const epoch = zkCurrentEpoch(join(n.dir, "data"));
          return { id: n.id, role, isLeader: mode === "leader", ...(epoch !== undefined ? { epoch } : {}) };
        }),
      ),
    async stopAll() {
      const t0 = performance.now();
      await Promise.all(e.nodes.map((n) => n.stop(30_000)));
      return performance.now() - t0;
    },
    cleanup: () => e.cleanup(),
    logEvents: () =>
      e.nodes.flatMap((n) =>
        n
          .output()
          .split("\n")
          .filter((l) => /WARN|ERROR/.test(l))
          .map((line) => ({ node: n.id, time: NaN, level: /ERROR/.test(line) ? 50 : 40, msg: line.slice(0, 300), line })),
      ),
    warnings: () => new Map(),
  };
}

/**
 * The epoch a ZooKeeper server has acknowledged (version-2/currentEpoch): written when it
 * joins a new leader, so it counts elections even before the new epoch's first write, which
 * `srvr`'s Zxid would wait for.
 */
function zkCurrentEpoch(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(join(dataDir, "version-2", "currentEpoch"), "utf8").trim());
  } catch {
    return undefined;
  }
}

/** The epoch of the member that reports itself leader right now, if one does. */
export async function leaderEpoch(t: ScaleTarget): Promise<number | undefined> {
  return (await t.poll()).find((m) => m.isLeader)?.epoch;
}

/** Times `count` sequential `mntr` calls to `port`; returns each call's time in ms and the last answer. */
export async function timeMntr(port: number, count: number): Promise<{ ms: number[]; last: string }> {
  const ms: number[] = [];
  let last = "";
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    last = await fourLetter(port, "mntr", 10_000);
    ms.push(performance.now() - t0);
  }
  return { ms, last };
}

/** A numeric `mntr` value (zk_znode_count, ...), NaN if absent. */
export function mntrValue(mntr: string, key: string): number {
  const m = new RegExp(`^${key}\\s+(\\S+)`, "m").exec(mntr);
  return m ? Number(m[1]) : NaN;
}
