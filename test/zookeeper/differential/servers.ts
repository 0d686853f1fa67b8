// The two servers of the differential test: a real Apache ZooKeeper 3.8 standalone (Debian's
// jar, started with ../../support/zookeeper-server.ts like bench/lib/zookeeper.ts: one JVM, a
// temporary directory, zoo.cfg, a free port) and one Keeper node speaking ZooKeeper's wire
// protocol. Only PIDs started here are signalled.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startNodeProcess, tempDir, type NodeProcess } from "../../support/processes.ts";
import { HOST, STANDALONE_MAIN, fourLetter, isRunning, spawnZooKeeper, writeZooCfg, zookeeperJarUnavailable } from "../../support/zookeeper-server.ts";

export { HOST };

/** Why the ZooKeeper side cannot run here, or undefined when it can. */
export const zookeeperUnavailable = zookeeperJarUnavailable;

export interface Server {
  readonly name: string;
  readonly port: number;
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
  return { name: "zookeeper", port, output: () => log.text, stop };
}

/**
 * One Keeper node with its ZooKeeper port. A long tick keeps its container/TTL reaper (every 10
 * ticks) out of the test's lifetime, as for ZooKeeper above.
 */
export async function startKeeper(): Promise<Server> {
  const dir = tempDir("keeper-diff-");
  const zkPort = await freePort(HOST);
  let node: NodeProcess;
  try {
    node = await startNodeProcess({ dataDir: dir.path, zkPort, extraArgs: ["--tick-ms", "20000", "--min-session-timeout-ms", "60000", "--max-session-timeout-ms", "600000"] });
  } catch (e) {
    dir.cleanup();
    throw e;
  }
  return {
    name: "keeper",
    port: zkPort,
    output: () => node.output(),
    stop: async () => {
      await node.stop();
      dir.cleanup();
    },
  };
}
