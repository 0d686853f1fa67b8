// A real Apache ZooKeeper ensemble on loopback for the baseline: one JVM per server
// (QuorumPeerMain from Debian's /usr/share/java/zookeeper.jar), free ports, a temporary
// data directory, zoo.cfg and myid written per node. Only the PIDs started here are signalled.
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../test/support/processes.ts";
import { HOST, QUORUM_PEER_MAIN, fourLetter, isRunning, spawnZooKeeper, writeZooCfg, zookeeperJarUnavailable } from "../../test/support/zookeeper-server.ts";

export { ZK_JAR, fourLetter } from "../../test/support/zookeeper-server.ts";

/** Why the ZooKeeper baseline cannot run here, or undefined when it can. */
export function zookeeperUnavailable(): string | undefined {
  const why = zookeeperJarUnavailable();
  if (why !== undefined) return why;
  try {
    createRequire(import.meta.url)("node-zookeeper-client");
  } catch (e) {
    return `the node-zookeeper-client package is not installed (npm install -D node-zookeeper-client): ${(e as Error).message}`;
  }
  return undefined;
}

export function zookeeperVersion(): string {
  const r = spawnSync("dpkg-query", ["-W", "-f", "${Version}", "zookeeper"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

export type ZkMode = "leader" | "follower" | "standalone" | "not serving" | "down";

export async function zkMode(port: number, timeoutMs = 1_000): Promise<ZkMode> {
  const out = await fourLetter(port, "srvr", timeoutMs);
  const m = /Mode: (\w+)/.exec(out);
  if (m) return m[1] as ZkMode;
  if (out.includes("not currently serving")) return "not serving";
  return "down";
}

export class ZkNode {
  child: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  private readonly log = { text: "" };
  constructor(
    readonly id: number,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly electionPort: number,
    readonly dir: string,
    /** Extra JVM flags after the defaults (a later -Xmx wins over the default -Xmx256m). */
    readonly jvmArgs: string[] = [],
  ) {}

  get running(): boolean {
    return this.child !== undefined && isRunning(this.child);
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get address(): string {
    return `${HOST}:${this.clientPort}`;
  }

  start(): void {
    if (this.running) throw new Error(`zookeeper ${this.id} already running`);
    const jvm = spawnZooKeeper(QUORUM_PEER_MAIN, join(this.dir, "zoo.cfg"), this.log, this.jvmArgs);
    this.child = jvm.child;
    this.exited = jvm.exited;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) process.kill(this.child!.pid!, sig);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    try {
      process.kill(this.child!.pid!, "SIGCONT");
    } catch {
      // gone
    }
    this.child!.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.signal("SIGTERM");
    const t = setTimeout(() => this.child?.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  mode(): Promise<ZkMode> {
    return zkMode(this.clientPort);
  }

  output(): string {
    return this.log.text;
  }
}

export class ZkEnsemble {
  readonly nodes: ZkNode[] = [];
  private readonly root: string;

  private constructor() {
    this.root = mkdtempSync(join(tmpdir(), "zk-bench-"));
  }

  static async create(size: number, opts: { tickTime?: number; initLimit?: number; syncLimit?: number; jvmArgs?: string[] } = {}): Promise<ZkEnsemble> {
    const e = new ZkEnsemble();
    const ports = new Set<number>();
    while (ports.size < 3 * size) ports.add(await freePort(HOST));
    const p = [...ports];
    for (let i = 1; i <= size; i++) {
      const dir = join(e.root, `zk${i}`);
      mkdirSync(join(dir, "data"), { recursive: true });
      e.nodes.push(new ZkNode(i, p[3 * (i - 1)]!, p[3 * (i - 1) + 1]!, p[3 * (i - 1) + 2]!, dir, opts.jvmArgs));
    }
    for (const n of e.nodes) {
      writeZooCfg(join(n.dir, "zoo.cfg"), {
        tickTime: opts.tickTime ?? 2000,
        settings: [`initLimit=${opts.initLimit ?? 10}`, `syncLimit=${opts.syncLimit ?? 5}`],
        dataDir: join(n.dir, "data"),
        clientPort: n.clientPort,
        extra: e.nodes.map((m) => `server.${m.id}=${HOST}:${m.peerPort}:${m.electionPort}`),
      });
      writeFileSync(join(n.dir, "data", "myid"), `${n.id}\n`);
    }
    return e;
  }

  get connectString(): string {
    return this.nodes.map((n) => n.address).join(",");
  }

  startAll(): void {
    for (const n of this.nodes) n.start();
  }

  async modes(): Promise<ZkMode[]> {
    return Promise.all(this.nodes.map((n) => (n.running ? n.mode() : Promise.resolve<ZkMode>("down"))));
  }

  /** Waits until every node serves, one as leader; returns the leader. */
  async waitAllServing(timeoutMs = 60_000): Promise<ZkNode> {
    const deadline = Date.now() + timeoutMs;
    let last: ZkMode[] = [];
    while (Date.now() < deadline) {
      last = await this.modes();
      const leaders = last.filter((m) => m === "leader").length;
      const followers = last.filter((m) => m === "follower").length;
      if (leaders === 1 && followers === this.nodes.length - 1) return this.nodes[last.indexOf("leader")]!;
      for (const n of this.nodes) if (n.child && !n.running) throw new Error(`zookeeper ${n.id} exited:\n${n.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`zookeeper ensemble not serving after ${timeoutMs} ms (modes ${last.join(",")})\n${this.nodes.map((n) => n.output()).join("\n")}`);
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

// ---- client: node-zookeeper-client behind a small promise API ------------------------------

interface RawZkClient {
  connect(): void;
  close(): void;
  once(ev: string, fn: (...a: unknown[]) => void): void;
  on(ev: string, fn: (...a: unknown[]) => void): void;
  create(path: string, data: Buffer, cb: (err: Error | null, path?: string) => void): void;
  setData(path: string, data: Buffer, version: number, cb: (err: Error | null) => void): void;
}

export interface ZkClient {
  create(path: string, data: string): Promise<void>;
  setData(path: string, data: string): Promise<void>;
  close(): void;
}

/**
 * Connects a node-zookeeper-client. With `keepOrder` the client tries the servers in the
 * order given: it shuffles them with underscore's shuffle, which keeps the order when
 * Math.random returns 0, so Math.random is pinned to 0 while the client is built.
 */
export async function zkConnect(connectString: string, opts: { sessionTimeoutMs?: number; spinDelayMs?: number; connectTimeoutMs?: number; keepOrder?: boolean } = {}): Promise<ZkClient> {
  const zk = createRequire(import.meta.url)("node-zookeeper-client") as { createClient(cs: string, o: object): RawZkClient };
  const random = Math.random;
  if (opts.keepOrder) Math.random = () => 0;
  let c: RawZkClient;
  try {
    c = zk.createClient(connectString, { sessionTimeout: opts.sessionTimeoutMs ?? 10_000, spinDelay: opts.spinDelayMs ?? 50, retries: 0 });
  } finally {
    Math.random = random;
  }
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      c.close();
      reject(new Error(`zookeeper client did not connect to ${connectString} within ${opts.connectTimeoutMs ?? 15_000} ms`));
    }, opts.connectTimeoutMs ?? 15_000);
    c.once("connected", () => {
      clearTimeout(t);
      resolve();
    });
    c.connect();
  });
  return {
    create: (path, data) => new Promise((res, rej) => c.create(path, Buffer.from(data), (err) => (err ? rej(err) : res()))),
    setData: (path, data) => new Promise((res, rej) => c.setData(path, Buffer.from(data), -1, (err) => (err ? rej(err) : res()))),
    close: () => c.close(),
  };
}
