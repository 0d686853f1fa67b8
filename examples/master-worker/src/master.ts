// A master: competes for the ephemeral /master node; the winner assigns tasks to live
// workers and moves the tasks of dead workers back to /tasks. Backups watch /master and
// compete again when it disappears. Every decision is re-derived from the tree in one
// serialized "reconcile" pass, so a new master needs no other recovery than running it,
// and a pass interrupted by connection loss is simply run again.

import { Code, CreateMode, type KeeperClient } from "@keeper/client";
import { decode, isCode, Serial, type Layout, type Log, type TaskData } from "./layout.ts";

export class Master {
  private active = false;
  private dead = false;
  private readonly reconcile: Serial;
  private nextWorker = 0;

  constructor(
    private readonly client: KeeperClient,
    private readonly layout: Layout,
    readonly id: string,
    private readonly logLine: Log,
  ) {
    this.reconcile = new Serial(() => this.pass(), (e) => this.onPassError(e));
    client.on("state", (s) => {
      if (this.dead) return;
      if (s === "expired") {
        this.log(this.id, this.active ? "session expired: no longer master" : "session expired");
        this.dead = true;
        this.active = false;
      } else if (s === "connected" && this.active) {
        this.reconcile.trigger(); // re-read after a reconnect
      }
    });
  }

  /** A crashed process prints nothing more. */
  private log(who: string, line: string): void {
    if (!this.dead) this.logLine(who, line);
  }

  get isActive(): boolean {
    return this.active && !this.dead;
  }

  /** Starts competing for /master in the background. */
  start(): void {
    this.compete().catch((e: unknown) => {
      if (!this.dead) this.log(this.id, `stopped competing: ${String(e)}`);
    });
  }

  /** A crash: stops acting at once and cleans nothing up (its session is left to expire). */
  kill(): void {
    this.dead = true;
    this.active = false;
  }

  /** Runs for /master; on NODEEXISTS watches it and runs again when it goes. */
  private async compete(): Promise<void> {
    while (!this.dead) {
      try {
        await this.client.create(this.layout.master, this.id, { mode: CreateMode.EPHEMERAL });
        return this.takeOver();
      } catch (e) {
        if (isCode(e, Code.CONNECTIONLOSS)) continue; // the create may have happened; NODEEXISTS will tell
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      }
      let gone!: () => void;
      const deleted = new Promise<void>((r) => (gone = r));
      const stat = await this.client.exists(this.layout.master, { watch: () => gone() }).catch(() => undefined);
      if (stat === undefined || stat === null) continue;
      // Our own create whose reply was lost: we are master.
      if (Number(stat.ephemeralOwner) === this.client.sessionId) return this.takeOver();
      this.log(this.id, "backup: another master is active, watching /master");
      await deleted;
      if (!this.dead) this.log(this.id, "/master is gone: competing");
    }
  }

  private takeOver(): void {
    if (this.dead) return;
    this.active = true;
    this.log(this.id, "I am the master: recovering state from the tree");
    this.reconcile.trigger();
  }

  private onPassError(e: unknown): void {
    if (this.dead) return;
    // Connection loss mid-pass: the reconnect triggers a new pass. Anything else: retry soon.
    if (!isCode(e, Code.CONNECTIONLOSS)) this.log(this.id, `reconcile failed, retrying: ${String(e)}`);
    setTimeout(() => this.isActive && this.reconcile.trigger(), 200);
  }

  /** One look at the tree: requeue the tasks of dead workers, assign every unassigned task. */
  private async pass(): Promise<void> {
    if (!this.isActive) return;
    const c = this.client;
    const trigger = (): void => {
      if (this.isActive) this.reconcile.trigger();
    };
    const workers = (await c.getChildren(this.layout.workers, { watch: trigger })).children.sort();
    const live = new Set(workers);
    for (const dir of (await c.getChildren(this.layout.assign)).children) {
      if (!this.isActive) return;
      if (!live.has(dir)) await this.requeue(dir);
    }
    const tasks = (await c.getChildren(this.layout.tasks, { watch: trigger })).children.sort();
    for (const task of tasks) {
      if (!this.isActive) return;
      if (workers.length === 0) {
        this.log(this.id, `${tasks.length} task(s) wait for a worker`);
        return;
      }
      await this.assign(task, workers[this.nextWorker++ % workers.length]!);
    }
  }

  /** Moves every task assigned to a dead worker back to /tasks, then removes its directory. */
  private async requeue(worker: string): Promise<void> {
    const c = this.client;
    const { children } = await c.getChildren(this.layout.assignDir(worker));
    for (const task of children) {
      const assignment = this.layout.assignment(worker, task);
      if ((await c.exists(this.layout.statusOf(task))) !== null) {
        await c.delete(assignment).catch(ignore(Code.NONODE));
        continue;
      }
      const { data } = await c.getData(assignment);
      try {
        await c.transaction().create(this.layout.task(task), data).delete(assignment).commit();
        this.log(this.id, `${worker} is dead: ${task} goes back to /tasks`);
      } catch (e) {
        if (!isCode(e, Code.NODEEXISTS) && !isCode(e, Code.NONODE)) throw e;
      }
    }
    await c.delete(this.layout.assignDir(worker)).catch(ignore(Code.NONODE, Code.NOTEMPTY));
  }

  /**
   * Moves a task to a worker in one multi: the worker must still be registered, the task
   * still unassigned. A task whose status exists already (a duplicate) is just removed.
   */
  private async assign(task: string, worker: string): Promise<void> {
    const c = this.client;
    if ((await c.exists(this.layout.statusOf(task))) !== null) {
      await c.delete(this.layout.task(task)).catch(ignore(Code.NONODE));
      return;
    }
    let data: Uint8Array;
    try {
      data = (await c.getData(this.layout.task(task))).data;
    } catch (e) {
      if (isCode(e, Code.NONODE)) return;
      throw e;
    }
    try {
      await c
        .transaction()
        .check(this.layout.worker(worker), -1)
        .create(this.layout.assignment(worker, task), data)
        .delete(this.layout.task(task))
        .commit();
      this.log(this.id, `assigned ${task} (#${decode<TaskData>(data).n}) to ${worker}`);
    } catch (e) {
      // The worker died or the task moved meanwhile: the watches bring another pass.
      if (!isCode(e, Code.NONODE) && !isCode(e, Code.NODEEXISTS)) throw e;
      this.reconcile.trigger();
    }
  }
}

function ignore(...codes: Code[]): (e: unknown) => void {
  return (e) => {
    if (!codes.some((code) => isCode(e, code))) throw e;
  };
}
