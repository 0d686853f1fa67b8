// Starting a real Apache ZooKeeper on loopback from Debian's /usr/share/java/zookeeper.jar: the
// availability check, zoo.cfg, the java command line and four-letter words. Shared by the
// benchmark baseline (bench/lib/zookeeper.ts, a QuorumPeerMain ensemble) and the differential
// test (test/zookeeper/differential/servers.ts, one ZooKeeperServerMain). Only the PIDs started
// by the callers are signalled.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";

export const HOST = "127.0.0.1";
export const ZK_JAR = "/usr/share/java/zookeeper.jar";
/** slf4j binding so the server logs to stderr (the jar's manifest brings slf4j-api and the rest). */
const SLF4J_SIMPLE = "/usr/share/java/slf4j-simple.jar";

export const QUORUM_PEER_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
export const STANDALONE_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain";

/** Why the ZooKeeper jar cannot be run here, or undefined when it can. */
export function zookeeperJarUnavailable(): string | undefined {
  if (!existsSync(ZK_JAR)) return `${ZK_JAR} not found (install Debian's zookeeper package: apt-get install -y zookeeper)`;
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (java.error || java.status !== 0) return `java is not runnable: ${java.error?.message ?? java.stderr}`;
  return undefined;
}

/** Sends a four-letter word and returns the whole answer ("" if the server does not answer). */
export function fourLetter(port: number, word: string, timeoutMs = 1_000): Promise<string> {
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

/**
 * Writes `path` (a zoo.cfg): tickTime, then `settings`, then the data directory, the client port
 * on HOST, every four-letter word allowed, no admin server, then `extra` (server.N lines, ...).
 */
export function writeZooCfg(path: string, opts: { tickTime?: number; settings?: string[]; dataDir: string; clientPort: number; extra?: string[] }): void {
  const cfg = [
    `tickTime=${opts.tickTime ?? 2000}`,
    ...(opts.settings ?? []),
    `dataDir=${opts.dataDir}`,
    `clientPort=${opts.clientPort}`,
    `clientPortAddress=${HOST}`,
    "4lw.commands.whitelist=*",
    "admin.enableServer=false",
    ...(opts.extra ?? []),
  ];
  writeFileSync(path, cfg.join("\n") + "\n");
}

export interface ZooKeeperJvm {
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/**
 * Spawns `java ... mainClass cfgPath` with a small heap and warn-level logging to stderr, plus
 * `jvmArgs`. The last 20,000 characters of its stdout and stderr are kept in `log.text`.
 */
export function spawnZooKeeper(mainClass: string, cfgPath: string, log: { text: string }, jvmArgs: string[] = []): ZooKeeperJvm {
  const child = spawn(
    "java",
    [
      "-Xms64m",
      "-Xmx256m",
      ...jvmArgs,
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      "-Dzookeeper.jmx.log4j.disable=true",
      "-cp",
      `${ZK_JAR}:${SLF4J_SIMPLE}`,
      mainClass,
      cfgPath,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const keep = (d: Buffer): void => {
    log.text = (log.text + d.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { child, exited };
}

/** Whether `child` has neither exited nor been killed by a signal. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
