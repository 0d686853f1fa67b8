// A real multi-process Keeper ensemble for fault tests and benchmarks: N `keeper server`
// processes on 127.0.0.1 with free client and peer ports and one temporary parent data
// directory (node i stores in <dir>/node<i>). Only the PIDs started here are ever signalled;
// cleanup() kills them all and removes the directory, also after a failed test.
import { connect, type ClientOptions, type KeeperClient } from "@keeper/client";
import { fetchStatus, freePort, startNodeProcess, tempDir, type NodeProcess } from "./processes.ts";

export const HOST = "127.0.0.1";

export type NodeStatus = Record<string, any>;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until it returns a truthy value (which is returned) or `timeoutMs` passes. */
export async function poll<T>(cond: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const what = typeof opts.what === "function" ? opts.what() : (opts.what ?? "condition");
      throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(opts.intervalMs ?? 25);
  }
}

/** /status with a short timeout; undefined when the node does not answer (dead or stopped). */
export async function tryStatus(port: number, timeoutMs = 1_000): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`http://${HOST}:${port}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    return (await res.json()) as NodeStatus;
  } catch {
    return undefined;
  }
}

export class EnsembleNode {
  proc: NodeProcess | undefined;
  /** Every process this node has run, for diagnostics (output of killed incarnations). */
  readonly history: NodeProcess[] = [];
  constructor(
    readonly ensemble: Ensemble,
    readonly id: number,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  get address(): string {
    return `${HOST}:${this.clientPort}`;
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }
  get running(): boolean {
    const c = this.proc?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Starts the process and resolves once its admin port answers (not necessarily serving). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`node ${this.id} is already running`);
    const e = this.ensemble;
    const proc = await startNodeProcess({
      serverId: this.id,
      dataDir: e.dataDir,
      port: this.clientPort,
      // The ZooKeeper wire listener on an OS-chosen port: never a fixed default that two
      // ensembles running side by side would both want.
      zkPort: 0,
      host: HOST,
      // Every member's dashboard page may reach every member from the browser, as `keeper ensemble` allows.
      extraArgs: ["--peers", e.peers, "--peer-host", HOST, "--allowed-origins", e.nodes.map((n) => `http://${HOST}:${n.clientPort}`).join(","), ...e.extraArgs],
      healthTimeoutMs: e.healthTimeoutMs,
    });
    this.proc = proc;
    this.history.push(proc);
    e.track(proc);
  }

  /** Sends `signal` (SIGKILL by default); waits for the exit unless the signal only pauses it. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    if (signal === "SIGSTOP" || signal === "SIGCONT") {
      process.kill(p.pid, signal);
      return;
    }
    p.kill(signal);
    await p.exited;
  }

  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  async stop(graceMs = 8_000): Promise<void> {
    if (!this.proc || !this.running) return;
    await this.proc.stop(graceMs);
  }

  status(timeoutMs?: number): Promise<NodeStatus | undefined> {
    return tryStatus(this.clientPort, timeoutMs);
  }

  output(): string {
    return this.history.map((p, i) => `--- node ${this.id} process #${i + 1} (pid ${p.pid}) ---\n${p.output()}`).join("\n");
  }
}

export interface EnsembleOptions {
  size: number;
  /** Extra `keeper server` flags for every node, e.g. ["--snapshot-every-txns", "50"]. */
  extraArgs?: string[];
  /** Start the processes but do not wait for a serving leader. */
  noWait?: boolean;
  leaderTimeoutMs?: number;
}

export class Ensemble {
  readonly nodes: EnsembleNode[] = [];
  readonly extraArgs: string[];
  readonly dataDir: string;
  /** How long a starting node may take to answer /healthz (it boots its store first). */
  healthTimeoutMs = 20_000;
  peers = "";
  private readonly procs = new Set<NodeProcess>();
  private readonly clients = new Set<KeeperClient>();
  private readonly dir: { path: string; cleanup: () => void };

  constructor(extraArgs: string[] = []) {
    this.extraArgs = extraArgs;
    this.dir = tempDir("keeper-ensemble-");
    this.dataDir = this.dir.path;
  }

  track(p: NodeProcess): void {
    this.procs.add(p);
  }

  node(id: number): EnsembleNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get connectString(): string {
    return this.nodes.map((n) => n.address).join(",");
  }

  running(): EnsembleNode[] {
    return this.nodes.filter((n) => n.running);
  }

  /** Picks the ports; call once. */
  async allocate(size: number): Promise<void> {
    const ports = new Set<number>();
    while (ports.size < 2 * size) ports.add(await freePort(HOST));
    const [clientPorts, peerPorts] = [[...ports].slice(0, size), [...ports].slice(size)];
    for (let i = 0; i < size; i++) this.nodes.push(new EnsembleNode(this, i + 1, clientPorts[i]!, peerPorts[i]!));
    this.peers = this.nodes.map((n) => `${n.id}=${HOST}:${n.peerPort}`).join(",");
  }

  async startAll(nodes: EnsembleNode[] = this.nodes): Promise<void> {
    // Every start settles before a failure is reported: with Promise.all, a node still starting
    // when another failed was tracked only after cleanup() had run, and outlived the test.
    const results = await Promise.allSettled(nodes.map((n) => n.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  /** Statuses of the running nodes that answered. */
  async statuses(nodes: EnsembleNode[] = this.running()): Promise<Array<{ node: EnsembleNode; status: NodeStatus }>> {
    const all = await Promise.all(nodes.map(async (node) => ({ node, status: await node.status() })));
    return all.filter((x): x is { node: EnsembleNode; status: NodeStatus } => x.status !== undefined);
  }

  /**
   * Waits until exactly one running node is a serving leader that a quorum of running nodes
   * follows (each reports state following/leading, serving, same leader); returns it.
   */
  async waitForLeader(opts: { timeoutMs?: number; notId?: number } = {}): Promise<{ node: EnsembleNode; status: NodeStatus }> {
    let last: unknown;
    return poll(
      async () => {
        const sts = await this.statuses();
        last = sts.map((s) => ({ id: s.node.id, state: s.status.state, serving: s.status.serving, leader: s.status.leader, epoch: s.status.epoch }));
        const leaders = sts.filter((s) => s.status.state === "leading" && s.status.serving);
        if (leaders.length !== 1) return undefined;
        const leader = leaders[0]!;
        if (opts.notId !== undefined && leader.node.id === opts.notId) return undefined;
        const followers = sts.filter((s) => s.status.state === "following" && s.status.serving && s.status.leader === leader.node.id);
        if (1 + followers.length < Math.floor(this.nodes.length / 2) + 1) return undefined;
        return leader;
      },
      { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 25, what: () => `a serving leader (statuses ${JSON.stringify(last)})` },
    );
  }

  /**
   * Waits until every given node (default: all running) is serving and reports the same
   * lastZxid and digest; returns that common status.
   */
  async waitConverged(opts: { nodes?: EnsembleNode[]; timeoutMs?: number } = {}): Promise<{ lastZxid: number; digest: unknown; nodes: number; statuses: NodeStatus[] }> {
    let last: unknown;
    return poll(
      async () => {
        const nodes = opts.nodes ?? this.running();
        const sts = await this.statuses(nodes);
        last = sts.map((s) => ({ id: s.node.id, state: s.status.state, serving: s.status.serving, lastZxid: s.status.lastZxidHex, digest: s.status.digest, nodes: s.status.nodes }));
        if (sts.length !== nodes.length || sts.length === 0) return undefined;
        const first = sts[0]!.status;
        const same = sts.every((s) => s.status.serving && s.status.lastZxid === first.lastZxid && JSON.stringify(s.status.digest) === JSON.stringify(first.digest));
        return same ? { lastZxid: first.lastZxid as number, digest: first.digest, nodes: first.nodes as number, statuses: sts.map((s) => s.status) } : undefined;
      },
      { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 50, what: () => `convergence (statuses ${JSON.stringify(last)})` },
    );
  }

  /** A client closed in cleanup unless the test closed it. */
  async connect(options: ClientOptions & { hosts?: EnsembleNode[] } = {}): Promise<KeeperClient> {
    const { hosts, ...rest } = options;
    const cs = (hosts ?? this.nodes).map((n) => n.address).join(",");
    const client = await connect(cs, { connectTimeoutMs: 10_000, ...rest });
    this.clients.add(client);
    return client;
  }

  /** All output of every process, for failure messages. */
  output(): string {
    return this.nodes.map((n) => n.output()).join("\n");
  }

  /** Closes clients, SIGCONTs and SIGKILLs every process started here, removes the data directory. */
  async cleanup(): Promise<void> {
    for (const p of this.procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        try {
          process.kill(p.pid, "SIGCONT");
        } catch {
          // already gone
        }
      }
    }
    await Promise.all([...this.clients].map((c) => Promise.race([c.close().catch(() => {}), sleep(2_000)])));
    this.clients.clear();
    await Promise.all(
      [...this.procs].map(async (p) => {
        p.kill("SIGKILL");
        await Promise.race([p.exited, sleep(5_000)]);
      }),
    );
    this.procs.clear();
    this.dir.cleanup();
  }
}

/** Starts an N-node ensemble and (unless noWait) waits for a serving leader with a quorum behind it. */
export async function startEnsemble(opts: EnsembleOptions): Promise<Ensemble> {
  const e = new Ensemble(opts.extraArgs ?? []);
  try {
    await e.allocate(opts.size);
    await e.startAll();
    if (!opts.noWait) await e.waitForLeader({ timeoutMs: opts.leaderTimeoutMs ?? 30_000 });
  } catch (err) {
    await e.cleanup();
    throw err;
  }
  return e;
}

export { fetchStatus };
