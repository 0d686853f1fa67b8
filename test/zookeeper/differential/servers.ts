// The two servers of the differential test: a real Apache ZooKeeper 3.8 standalone (Debian's
// jar, same approach as bench/lib/zookeeper.ts: one JVM, a temporary directory, zoo.cfg, a free
// port) and one Keeper node speaking ZooKeeper's wire protocol. Only PIDs started here are signalled.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startNodeProcess, tempDir, type NodeProcess } from "../../support/processes.ts";

export const HOST = "127.0.0.1";
const ZK_JAR = "/usr/share/java/zookeeper.jar";
const SLF4J_SIMPLE = "/usr/share/java/slf4j-simple.jar";

/** Why the ZooKeeper side cannot run here, or undefined when it can. */
export function zookeeperUnavailable(): string | undefined {
  if (!existsSync(ZK_JAR)) return `${ZK_JAR} not found (apt-get install -y zookeeper)`;
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (java.error || java.status !== 0) return `java is not runnable: ${java.error?.message ?? java.stderr}`;
  return undefined;
}

function fourLetter(port: number, word: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const s = netConnect(port, HOST);
    const t = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, timeoutMs);
    s.on("connect", () => s.write(word));
    s.on("data", (d) => (out += d.toString()));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

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
  writeFileSync(
    join(root, "zoo.cfg"),
    [
      "tickTime=2000",
      "maxSessionTimeout=120000",
      `dataDir=${join(root, "data")}`,
      `clientPort=${port}`,
      `clientPortAddress=${HOST}`,
      "4lw.commands.whitelist=*",
      "admin.enableServer=false",
      "forceSync=no",
      "",
    ].join("\n"),
  );
  let out = "";
  const child: ChildProcess = spawn(
    "java",
    [
      "-Xms64m",
      "-Xmx256m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      "-Dzookeeper.jmx.log4j.disable=true",
      "-Dzookeeper.extendedTypesEnabled=true",
      "-Dznode.container.checkIntervalMs=600000",
      "-cp",
      `${ZK_JAR}:${SLF4J_SIMPLE}`,
      "org.apache.zookeeper.server.ZooKeeperServerMain",
      join(root, "zoo.cfg"),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
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
      throw new Error(`zookeeper exited during startup:\n${out}`);
    }
    if ((await fourLetter(port, "ruok", 500)) === "imok" && /Mode: standalone/.test(await fourLetter(port, "srvr", 500))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`zookeeper not serving after 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: "zookeeper", port, output: () => out, stop };
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
