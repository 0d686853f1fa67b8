// A worker: registers an ephemeral /workers/worker-N, watches /assign/worker-N, runs each
// assigned task (simulated work) and finishes it with one multi that creates
// /status/task-… and deletes the assignment. The status create is the duplicate check:
// it succeeds once per task, whoever runs the task how many times.

import { Code, CreateMode, type KeeperClient } from "@keeper/client";
import { decode, encode, isCode, Serial, type Layout, type Log, type TaskData, type TaskStatus } from "./layout.ts";

export interface WorkerStats {
  /** Tasks this worker ran to the end. */
  executed: number;
  /** Tasks whose status another run had written first (duplicates detected). */
  duplicates: number;
  /** Tasks taken away (reassigned) before this worker finished them. */
  revoked: number;
}

export class Worker {
  readonly stats: WorkerStats = { executed: 0, duplicates: 0, revoked: 0 };
  private readonly running = new Set<string>();
  private readonly scan: Serial;
  private dead = false;

  constructor(
    private readonly client: KeeperClient,
    private readonly layout: Layout,
    readonly name: string,
    private readonly logLine: Log,
    private readonly workMs: number,
  ) {
    this.scan = new Serial(() => this.pass(), (e) => {
      if (!this.dead && !isCode(e, Code.CONNECTIONLOSS)) this.log(this.name, `scan failed: ${String(e)}`);
    });
    client.on("state", (s) => {
      if (this.dead) return;
      if (s === "expired") {
        this.log(this.name, "session expired: stopping (the master reassigns my tasks)");
        this.dead = true;
      } else if (s === "connected") {
        this.scan.trigger();
      }
    });
  }

  /** A crashed process prints nothing more. */
  private log(who: string, line: string): void {
    if (!this.dead) this.logLine(who, line);
  }

  async start(): Promise<void> {
    const c = this.client;
    await c.create(this.layout.assignDir(this.name)).catch((e: unknown) => {
      if (!isCode(e, Code.NODEEXISTS)) throw e;
    });
    for (;;) {
      try {
        await c.create(this.layout.worker(this.name), this.name, { mode: CreateMode.EPHEMERAL });
        break;
      } catch (e) {
        if (isCode(e, Code.CONNECTIONLOSS)) continue;
        if (!isCode(e, Code.NODEEXISTS)) throw e;
        const stat = await c.exists(this.layout.worker(this.name));
        if (stat !== null && Number(stat.ephemeralOwner) === c.sessionId) break; // our create, reply lost
        throw new Error(`${this.name} is registered by another live session`);
      }
    }
    this.log(this.name, "registered");
    this.scan.trigger();
  }

  /** A crash: stops at once, cleans nothing up. */
  kill(): void {
    this.dead = true;
  }

  private async pass(): Promise<void> {
    if (this.dead) return;
    const { children } = await this.client.getChildren(this.layout.assignDir(this.name), { watch: () => this.scan.trigger() });
    for (const task of children.sort()) {
      if (this.running.has(task)) continue;
      this.running.add(task);
      void this.run(task).then(
        () => this.running.delete(task),
        (e: unknown) => {
          // Connection loss before the task started: forget it, the next scan picks it up again.
          this.running.delete(task);
          if (!this.dead && !isCode(e, Code.CONNECTIONLOSS)) this.log(this.name, `${task} failed: ${String(e)}`);
          if (!this.dead) setTimeout(() => this.scan.trigger(), 100);
        },
      );
    }
  }

  private async run(task: string): Promise<void> {
    const c = this.client;
    const assignment = this.layout.assignment(this.name, task);
    let input: TaskData;
    try {
      input = decode<TaskData>((await c.getData(assignment)).data);
    } catch (e) {
      if (isCode(e, Code.NONODE)) return; // finished or reassigned already
      throw e;
    }
    this.log(this.name, `running ${task} (#${input.n})`);
    await new Promise((r) => setTimeout(r, this.workMs * (0.5 + Math.random())));
    if (this.dead) return; // crashed mid-task: the result is lost, the task will run again
    this.stats.executed++;
    const status: TaskStatus = { state: "done", worker: this.name, output: input.input * input.input };
    for (;;) {
      try {
        await c.transaction().create(this.layout.statusOf(task), encode(status)).delete(assignment).commit();
        this.log(this.name, `finished ${task} (#${input.n}) -> ${status.output}`);
        return;
      } catch (e) {
        if (this.dead) return;
        if (isCode(e, Code.CONNECTIONLOSS)) continue; // maybe done: the retry tells (NODEEXISTS)
        if (isCode(e, Code.NODEEXISTS)) {
          this.stats.duplicates++;
          this.log(this.name, `${task} already has a status: duplicate run, result dropped`);
          await c.delete(assignment).catch(() => undefined);
          return;
        }
        if (isCode(e, Code.NONODE)) {
          this.stats.revoked++;
          this.log(this.name, `${task} was reassigned meanwhile: result dropped`);
          return;
        }
        throw e;
      }
    }
  }
}
