// A 3-node (or N-node) Keeper ensemble as separate `keeper server` processes on loopback, as
// `keeper ensemble` starts them (packages/cli/src/ensemble-plan.ts), but with free ports chosen
// once and kept, so the whole ensemble can be stopped and started again on the same data and
// the same ports. Each node's log (pino JSON lines) is read as it comes: warnings and the lines
// that tell an ensemble's story (role changes, peer links, snapshots, boot) are kept with their
// times. Only the PIDs started here are signalled; cleanup() kills them and removes the data.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT, freePort } from "../../test/support/processes.ts";

export const KEEPER_HOST = "127.0.0.1";
const CLI_MAIN = join(REPO_ROOT, "packages/cli/src/main.ts");
/** Log lines kept per ensemble (every warning and story line up to this many). */
const EVENTS_MAX = 50_000;
/** Info lines worth keeping besides every warning and error. */
const STORY = new Set(["role", "peer link up", "peer link down", "loaded", "snapshot saved", "snapshot abandoned: the state was replaced", "started", "stopped", "this node was paused; its peers' silence during the pause does not count"]);

export interface LogEvent {
  node: number;
  /** Epoch ms, from the line's own `time`. */
  time: number;
  level: number;
  msg: string;
  line: string;
}

export type KeeperStatus = Record<string, any>;

export class KeeperMember {
  child: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  constructor(
    readonly id: number,
    readonly clientPort: number,
    readonly zkPort: number,
    readonly peerPort: number,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async status(timeoutMs = 1_000): Promise<KeeperStatus | undefined> {
    try {
      const res = await fetch(`http://${KEEPER_HOST}:${this.clientPort}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as KeeperStatus;
    } catch {
      return undefined;
    }
  }
}

export class KeeperCluster {
  readonly members: KeeperMember[] = [];
  readonly events: LogEvent[] = [];
  /** Counts of every warning and error message, all of them (events keeps the first EVENTS_MAX). */
  readonly warnings = new Map<string, number>();
  readonly root: string;
  private readonly tailByNode = new Map<number, string[]>();
  /** The ensemble's peer secret, kept across restarts of its nodes. */
  private readonly peerSecret = randomBytes(32).toString("hex");

  /** Every line every node prints, stamped with its arrival time and node, when asked for. */
  private readonly logFile: WriteStream | undefined;

  private constructor(
    readonly logLevel: string,
    readonly extraArgs: string[],
    /** node flags before the CLI (e.g. --trace-gc). */
    readonly nodeFlags: string[],
    logFile: string | undefined,
  ) {
    this.root = mkdtempSync(join(tmpdir(), "keeper-scale-"));
    this.logFile = logFile ? createWriteStream(logFile, { flags: "a" }) : undefined;
  }

  static async create(size: number, opts: { logLevel?: string; extraArgs?: string[]; nodeFlags?: string[]; logFile?: string } = {}): Promise<KeeperCluster> {
    const c = new KeeperCluster(opts.logLevel ?? "info", opts.extraArgs ?? [], opts.nodeFlags ?? [], opts.logFile);
    try {
      const ports = new Set<number>();
      while (ports.size < 3 * size) ports.add(await freePort(KEEPER_HOST));
      const p = [...ports];
      for (let i = 0; i < size; i++) c.members.push(new KeeperMember(i + 1, p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!));
    } catch (err) {
      c.cleanup();
      throw err;
    }
    return c;
  }

  get peers(): string {
    return this.members.map((m) => `${m.id}=${KEEPER_HOST}:${m.peerPort}`).join(",");
  }

  /** The node's own store: --data-dir is the parent, the server appends node<id>. */
  dataDir(m: KeeperMember): string {
    return join(this.root, `node${m.id}`);
  }

  startAll(): void {
    for (const m of this.members) this.start(m);
  }

  start(m: KeeperMember): void {
    if (m.running) throw new Error(`keeper ${m.id} already running`);
    const args = ["server", "--server-id", String(m.id), "--data-dir", this.root, "--host", KEEPER_HOST, "--client-port", String(m.clientPort), `--zk-port=${m.zkPort}`];
    args.push("--peers", this.peers, "--peer-host", KEEPER_HOST, "--peer-port", String(m.peerPort), "--log-level", this.logLevel, ...this.extraArgs);
    let tsx = "tsx";
    try {
      tsx = import.meta.resolve("tsx");
    } catch {
      // resolved from the working directory
    }
    // As `keeper ensemble` runs them: peers authenticated by one secret for this ensemble, and
    // every four-letter word answered (the benchmarks read mntr).
    const env = { ...process.env, KEEPER_PEER_SECRET: process.env.KEEPER_PEER_SECRET ?? this.peerSecret, KEEPER_FOUR_LETTER_WORDS: process.env.KEEPER_FOUR_LETTER_WORDS ?? "*" };
    const child = spawn(process.execPath, [...this.nodeFlags, "--import", tsx, CLI_MAIN, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    m.child = child;
    m.exited = new Promise((r) => child.once("exit", () => r()));
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on("line", (line) => this.onLine(m.id, line));
  }

  private onLine(node: number, line: string): void {
    this.logFile?.write(`${new Date().toISOString()} node ${node} ${line}\n`);
    const tail = this.tailByNode.get(node) ?? [];
    tail.push(line);
    if (tail.length > 50) tail.shift();
    this.tailByNode.set(node, tail);
    let j: { level?: number; time?: number; msg?: string };
    try {
      j = JSON.parse(line) as typeof j;
    } catch {
      // Plain lines come from the CLI around the server ("listening on ...", "SIGTERM, stopping").
      j = { level: 30, time: Date.now(), msg: line };
    }
    const level = j.level ?? 30;
    const msg = j.msg ?? "";
    if (level >= 40) this.warnings.set(msg, (this.warnings.get(msg) ?? 0) + 1);
    if ((level >= 40 || STORY.has(msg)) && this.events.length < EVENTS_MAX) this.events.push({ node, time: j.time ?? Date.now(), level, msg, line });
  }

  /** The last lines a node printed, for an error message. */
  tail(id: number): string {
    return (this.tailByNode.get(id) ?? []).join("\n");
  }

  /** SIGTERM every node and wait (SIGKILL after graceMs); returns how long they took. */
  async stopAll(graceMs = 30_000): Promise<number> {
    const t0 = performance.now();
    await Promise.all(
      this.members.map(async (m) => {
        if (!m.running) return;
        m.child!.kill("SIGTERM");
        const t = setTimeout(() => m.child?.kill("SIGKILL"), graceMs);
        await m.exited;
        clearTimeout(t);
      }),
    );
    return performance.now() - t0;
  }

  /** SIGKILLs every process started here (SIGCONT first, in case one was stopped) and removes the data. */
  async cleanupAsync(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        if (!m.running) return;
        try {
          process.kill(m.child!.pid!, "SIGCONT");
        } catch {
          // gone
        }
        m.child!.kill("SIGKILL");
        await Promise.race([m.exited, new Promise((r) => setTimeout(r, 5_000))]);
      }),
    );
    this.cleanup();
  }

  private cleanup(): void {
    this.logFile?.end();
    rmSync(this.root, { recursive: true, force: true });
  }
}
