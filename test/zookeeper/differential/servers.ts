// The two servers of the differential test: a real Apache ZooKeeper 3.8 standalone (Debian's
// jar, started with ../../support/zookeeper-server.ts like bench/lib/zookeeper.ts: one JVM, a
// temporary directory, zoo.cfg, a free port) and a 3-node Keeper ensemble of real processes
// (../../support/ensemble.ts) speaking ZooKeeper's wire protocol on each member. Only PIDs
// started here are signalled.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEnsemble } from "../../support/ensemble.ts";
import { freePort } from "../../support/processes.ts";
import { zkPorts } from "../../support/zk-tools.ts";
import { HOST, STANDALONE_MAIN, fourLetter, isRunning, spawnZooKeeper, writeZooCfg, zookeeperJarUnavailable } from "../../support/zookeeper-server.ts";

export { HOST };

/** Why the ZooKeeper side cannot run here, or undefined when it can. */
export const zookeeperUnavailable = zookeeperJarUnavailable;

export interface Server {
  readonly name: string;
  /** ZooKeeper wire-protocol ports: one for ZooKeeper, one per member for Keeper. */
  readonly ports: readonly number[];
  output(): string;
  stop(): Promise<void>;
}

/**
 * ZooKeeper standalone (ZooKeeperServerMain). Extended types are enabled so TTL nodes exist; the
 * container/TTL reaper runs only every 10 minutes (it is timer driven in both servers, see
 * KNOWN DIFFERENCES in ../differential.test.ts), and the log is not fsynced (speed only).
 */
export async function startZooKeeper(): Promise<Server> {
  const root = mkdtempSync(join(tmpdir(), "zk-diff-"));
  const port = await freePort(HOST);
  mkdirSync(join(root, "data"), { recursive: true });
  writeZooCfg(join(root, "zoo.cfg"), { settings: ["maxSessionTimeout=120000"], dataDir: join(root, "data"), clientPort: port, extra: ["forceSync=no"] });
  const log = { text: "" };
  const { child, exited } = spawnZooKeeper(STANDALONE_MAIN, join(root, "zoo.cfg"), log, [
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Dzookeeper.extendedTypesEnabled=true",
    "-Dznode.container.checkIntervalMs=600000",
  ]);
  const running = (): boolean => isRunning(child);
  const stop = async (): Promise<void> => {
    if (running()) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running()) {
      await stop();
      throw new Error(`zookeeper exited during startup:\n${log.text}`);
    }
    if ((await fourLetter(port, "ruok", 500)) === "imok" && /Mode: standalone/.test(await fourLetter(port, "srvr", 500))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`zookeeper not serving after 30 s:\n${log.text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: "zookeeper", ports: [port], output: () => log.text, stop };
}

/** Keeper's session timeouts and tick, as ZooKeeper's maxSessionTimeout above allows. */
export const KEEPER_ARGS = ["--tick-ms", "20000", "--min-session-timeout-ms", "60000", "--max-session-timeout-ms", "600000"];

/** The leader's container/TTL reaper runs every 10 replica ticks: first 200 s after a node starts. */
export const KEEPER_REAPER_FIRST_MS = 10 * 20_000;

/**
 * A 3-node Keeper ensemble; resolves once every member serves at the same zxid. A long tick keeps
 * the leader's container/TTL reaper (KEEPER_REAPER_FIRST_MS) out of the test file's lifetime, as
 * for ZooKeeper above, and sessions never expire: heartbeats (which carry the followers' session
 * touches) come every tick, well inside the 120 s session timeout. The price: an election whose
 * first votes disagree waits a finalize tick (20 s), hence the long wait for a leader.
 */
export async function startKeeper(): Promise<Server> {
  const e = await startEnsemble({ size: 3, extraArgs: KEEPER_ARGS, leaderTimeoutMs: 90_000 });
  try {
    // A member that missed the decision hears the leader's announcement within 5 ticks (100 s).
    await e.waitConverged({ timeoutMs: 150_000 });
    const ports = await zkPorts(e);
    return { name: "keeper", ports: e.nodes.map((n) => ports.get(n.id)!), output: () => e.output(), stop: () => e.cleanup() };
  } catch (err) {
    await e.cleanup();
    throw err;
  }
}
