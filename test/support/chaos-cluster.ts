// A real Keeper ensemble for chaos tests: N `keeper server` processes, each on its own
// loopback address (127.0.0.X: client port, peer listener and the source address of its peer
// dials), so iptables rules (chaos-net.ts) can cut links between particular nodes. Nodes are
// SIGKILLed and restarted on the same data directory, SIGSTOPped and SIGCONTed. Only the
// PIDs started here are ever signalled; cleanup() (and, synchronously, process exit) kills
// them and removes the temporary data directory.
import { rmSync } from "node:fs";
import { Store } from "@keeper/server";
import type { Txn } from "@keeper/core";
import { poll, sleep } from "./ensemble.ts";
import { freePort, startNodeProcess, tempDir, type NodeProcess } from "./processes.ts";

export type NodeStatus = Record<string, any>;

const liveClusters = new Set<ChaosCluster>();
let exitHook = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const c of [...liveClusters]) c.killAllSync();
  });
}

export class ChaosNode {
  proc: NodeProcess | undefined;
  readonly incarnations: NodeProcess[] = [];
  paused = false;

  constructor(
    readonly cluster: ChaosCluster,
    readonly id: number,
    readonly ip: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  get address(): string {
    return `${this.ip}:${this.clientPort}`;
  }

  get running(): boolean {
    const c = this.proc?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.proc!.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`node ${this.id} is already running`);
    const c = this.cluster;
    const proc = await startNodeProcess({
      serverId: this.id,
      dataDir: c.dataDir,
      host: this.ip,
      port: this.clientPort,
      zkPort: -1,
      extraArgs: ["--peers", c.peers, "--peer-host", this.ip, ...c.extraArgs],
    });
    this.proc = proc;
    this.paused = false;
    this.incarnations.push(proc);
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    p.kill("SIGKILL");
    await p.exited;
    this.paused = false;
  }

  pause(): void {
    if (!this.running || this.paused) return;
    process.kill(this.proc!.pid, "SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    if (!this.running || !this.paused) return;
    process.kill(this.proc!.pid, "SIGCONT");
    this.paused = false;
  }

  /** SIGTERM (after SIGCONT) and wait; SIGKILL after graceMs. */
  async stop(graceMs = 8_000): Promise<void> {
    if (!this.running) return;
    this.resume();
    await this.proc!.stop(graceMs);
  }

  async status(timeoutMs = 1_000): Promise<NodeStatus | undefined> {
    if (!this.running || this.paused) return undefined;
    try {
      const res = await fetch(`http://${this.address}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as NodeStatus;
    } catch {
      return undefined;
    }
  }

  output(): string {
    return this.incarnations.map((p, i) => `--- node ${this.id} (${this.ip}) process #${i + 1} pid ${p.pid} ---\n${p.output()}`).join("\n");
  }
}

export interface ChaosClusterOptions {
  /** One loopback address per node, e.g. ["127.0.0.21", "127.0.0.22", "127.0.0.23"]. */
  ips: string[];
  extraArgs?: string[];
}

export class ChaosCluster {
  readonly nodes: ChaosNode[] = [];
  readonly extraArgs: string[];
  readonly dataDir: string;
  peers = "";
  private readonly dir: { path: string; cleanup: () => void };

  private constructor(opts: ChaosClusterOptions) {
    this.extraArgs = opts.extraArgs ?? [];
    this.dir = tempDir("keeper-chaos-");
    this.dataDir = this.dir.path;
    installExitHook();
    liveClusters.add(this);
  }

  /** Allocates ports, starts every node and waits for a serving leader with a quorum. */
  static async start(opts: ChaosClusterOptions): Promise<ChaosCluster> {
    const c = new ChaosCluster(opts);
    try {
      for (const [i, ip] of opts.ips.entries()) {
        const clientPort = await freePort(ip);
        let peerPort = await freePort(ip);
        while (peerPort === clientPort) peerPort = await freePort(ip);
        c.nodes.push(new ChaosNode(c, i + 1, ip, clientPort, peerPort));
      }
      c.peers = c.nodes.map((n) => `${n.id}=${n.ip}:${n.peerPort}`).join(",");
      await Promise.all(c.nodes.map((n) => n.start()));
      await c.waitForLeader({ timeoutMs: 30_000 });
    } catch (e) {
      await c.cleanup();
      throw e;
    }
    return c;
  }

  node(id: number): ChaosNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  connectString(nodes: ChaosNode[] = this.nodes): string {
    return nodes.map((n) => n.address).join(",");
  }

  /** The node a client connection URL ("ws://ip:port/...") points at. */
  nodeOfUrl(url: string): number | undefined {
    return this.nodes.find((n) => url.includes(`${n.ip}:${n.clientPort}`))?.id;
  }

  async statuses(): Promise<Array<{ node: ChaosNode; status: NodeStatus | undefined }>> {
    return Promise.all(this.nodes.map(async (node) => ({ node, status: await node.status() })));
  }

  /** One line per node: process state and what /status says. */
  async describe(): Promise<string> {
    const sts = await this.statuses();
    return sts
      .map(({ node, status: s }) => {
        const proc = !node.running ? "dead" : node.paused ? "paused" : "running";
        return `node ${node.id} ${node.ip} ${proc}${s ? ` state=${s.state} serving=${s.serving} leader=${s.leader} epoch=${s.epoch} lastZxid=${s.lastZxidHex} logged=0x${Number(s.lastLoggedZxid).toString(16)} digest=${s.digest}` : ""}`;
      })
      .join("\n");
  }

  async waitForLeader(opts: { timeoutMs?: number } = {}): Promise<{ node: ChaosNode; status: NodeStatus }> {
    let last = "";
    return poll(
      async () => {
        const sts = (await this.statuses()).filter((s): s is { node: ChaosNode; status: NodeStatus } => s.status !== undefined);
        last = JSON.stringify(sts.map((s) => ({ id: s.node.id, state: s.status.state, serving: s.status.serving, leader: s.status.leader })));
        const leaders = sts.filter((s) => s.status.state === "leading" && s.status.serving);
        if (leaders.length !== 1) return undefined;
        const leader = leaders[0]!;
        const followers = sts.filter((s) => s.status.state === "following" && s.status.serving && s.status.leader === leader.node.id);
        return 1 + followers.length > this.nodes.length / 2 ? leader : undefined;
      },
      { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 50, what: () => `a serving leader with a quorum (${last})` },
    );
  }

  /**
   * Waits until every node answers, serves, and reports the same lastZxid (committed), the
   * same lastLoggedZxid and the same digest, twice in a row 300 ms apart (so nothing is
   * moving); returns that common status.
   */
  async waitConverged(opts: { timeoutMs?: number } = {}): Promise<{ lastZxid: number; digest: string; statuses: NodeStatus[] }> {
    let last = "";
    let prev: string | undefined;
    return poll(
      async () => {
        const sts = await this.statuses();
        last = JSON.stringify(sts.map(({ node, status: s }) => ({ id: node.id, state: s?.state, serving: s?.serving, lastZxid: s?.lastZxidHex, logged: s?.lastLoggedZxid, digest: s?.digest })));
        const all = sts.map((s) => s.status);
        if (all.some((s) => s === undefined || !s.serving)) return (prev = undefined);
        const first = all[0]!;
        const same = all.every((s) => s!.lastZxid === first.lastZxid && s!.lastLoggedZxid === first.lastLoggedZxid && s!.lastZxid === s!.lastLoggedZxid && String(s!.digest) === String(first.digest));
        if (!same) return (prev = undefined);
        const sig = `${first.lastZxid}/${first.digest}`;
        if (prev !== sig) {
          prev = sig;
          await sleep(300);
          return undefined;
        }
        return { lastZxid: first.lastZxid as number, digest: String(first.digest), statuses: all as NodeStatus[] };
      },
      { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 50, what: () => `convergence of all nodes (${last})` },
    );
  }

  /** Stops every node (SIGTERM) and reads each node's transaction log from its store. */
  async stopAndReadLogs(): Promise<Map<number, Txn[]>> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    const logs = new Map<number, Txn[]>();
    for (const n of this.nodes) {
      const store = await Store.open(`${this.dataDir}/node${n.id}`);
      try {
        const txns: Txn[] = [];
        for await (const t of store.txnsAfter(0 as never)) txns.push(t);
        logs.set(n.id, txns);
      } finally {
        await store.close();
      }
    }
    return logs;
  }

  /** Every node's output, the last `tailChars` of each. */
  output(tailChars = 20_000): string {
    return this.nodes.map((n) => n.output().slice(-tailChars)).join("\n");
  }

  /** SIGCONT + SIGKILL every process started here (synchronous: safe in an exit handler). */
  killAllSync(): void {
    for (const n of this.nodes) {
      for (const p of n.incarnations) {
        if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
        try {
          process.kill(p.pid, "SIGCONT");
          process.kill(p.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    try {
      rmSync(this.dataDir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }

  async cleanup(): Promise<void> {
    for (const n of this.nodes) {
      for (const p of n.incarnations) {
        if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
        try {
          process.kill(p.pid, "SIGCONT");
        } catch {
          // gone
        }
        p.kill("SIGKILL");
      }
    }
    await Promise.all(this.nodes.flatMap((n) => n.incarnations.map((p) => Promise.race([p.exited, sleep(5_000)]))));
    this.dir.cleanup();
    liveClusters.delete(this);
  }
}
