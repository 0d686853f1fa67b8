// Runs the whole system in one process, each part with its own session: masters, workers
// and a client submitting tasks. Optionally crashes the active master and a busy worker
// mid-run, and returns once every task has its final status.

import { connect, type KeeperClient } from "@keeper/client";
import { CrashLink } from "./crash-link.ts";
import { decode, Layout, type Log, type TaskStatus } from "./layout.ts";
import { Master } from "./master.ts";
import { submitTask } from "./submitter.ts";
import { Worker } from "./worker.ts";

export interface RunOptions {
  /** Connect string of the ensemble, e.g. "127.0.0.1:8181,127.0.0.1:8182,127.0.0.1:8183". */
  connect: string;
  root?: string;
  tasks?: number;
  masters?: number;
  workers?: number;
  /** Mean simulated work per task. */
  workMs?: number;
  /** Session timeout of masters and workers: how long a crash goes unnoticed. */
  sessionTimeoutMs?: number;
  /** Crash the active master and a busy worker once a quarter of the tasks are done. */
  chaos?: boolean;
  /** Give up after this long. */
  timeoutMs?: number;
  log?: Log;
}

export interface RunResult {
  /** Final status of every task, by task name. */
  statuses: Map<string, TaskStatus>;
  crashedMaster: string | undefined;
  crashedWorker: string | undefined;
  /** Task runs finished by workers (more than the task count when crashes forced re-runs). */
  executions: number;
  duplicatesDetected: number;
  elapsedMs: number;
}

interface Part {
  link: CrashLink;
  client: KeeperClient;
}

export async function runMasterWorker(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const layout = new Layout(options.root);
  const log: Log = options.log ?? ((who, line) => console.log(`${String(Date.now() - started).padStart(6)} ms  [${who}] ${line}`));
  const taskCount = options.tasks ?? 12;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 2_000;
  const parts: Part[] = [];
  const admin = await connect(options.connect, { sessionTimeoutMs: 10_000 });
  const open = async (): Promise<Part> => {
    const link = await CrashLink.open(options.connect.split("/")[0]!);
    const client = await connect(link.address, { sessionTimeoutMs });
    const part = { link, client };
    parts.push(part);
    return part;
  };
  try {
    await layout.wipe(admin);
    await layout.setup(admin);
    log("setup", `tree ready under ${layout.root}`);
    const masters: Array<Master & { part: Part }> = [];
    for (let i = 1; i <= (options.masters ?? 2); i++) {
      const part = await open();
      const m = Object.assign(new Master(part.client, layout, `master-${i}`, log), { part });
      masters.push(m);
      m.start();
    }
    const workers: Array<Worker & { part: Part }> = [];
    for (let i = 1; i <= (options.workers ?? 3); i++) {
      const part = await open();
      const w = Object.assign(new Worker(part.client, layout, `worker-${i}`, log, options.workMs ?? 150), { part });
      workers.push(w);
      await w.start();
    }
    const submitter = await open();
    for (let n = 1; n <= taskCount; n++) await submitTask(submitter.client, layout, { n, input: n });
    log("client", `submitted ${taskCount} tasks`);

    let crashedMaster: string | undefined;
    let crashedWorker: string | undefined;
    const deadline = started + (options.timeoutMs ?? 120_000);
    for (;;) {
      const done = (await admin.getChildren(layout.status)).children.length;
      if (done >= taskCount) break;
      if (Date.now() > deadline) throw new Error(`only ${done} of ${taskCount} tasks finished in time`);
      if (options.chaos === true && crashedMaster === undefined && done >= Math.ceil(taskCount / 4)) {
        const masterId = new TextDecoder().decode((await admin.getData(layout.master)).data);
        const victim = await busyWorker(admin, layout, workers.map((w) => w.name));
        const m = masters.find((x) => x.id === masterId)!;
        const w = workers.find((x) => x.name === victim)!;
        log("chaos", `crashing the active master ${m.id} and ${w.name} (${done}/${taskCount} done)`);
        m.kill();
        m.part.link.cut();
        w.kill();
        w.part.link.cut();
        crashedMaster = m.id;
        crashedWorker = w.name;
      }
      await waitForStatusChange(admin, layout, 500);
    }
    const statuses = new Map<string, TaskStatus>();
    for (const t of (await admin.getChildren(layout.status)).children.sort()) statuses.set(t, decode<TaskStatus>((await admin.getData(layout.statusOf(t))).data));
    const executions = workers.reduce((s, w) => s + w.stats.executed, 0);
    const duplicatesDetected = workers.reduce((s, w) => s + w.stats.duplicates, 0);
    log("done", `${statuses.size} tasks have a final status; ${executions} runs finished, ${duplicatesDetected} duplicate(s) detected`);
    return { statuses, crashedMaster, crashedWorker, executions, duplicatesDetected, elapsedMs: Date.now() - started };
  } finally {
    for (const p of parts) {
      await p.link.close();
      await p.client.close();
    }
    await admin.close();
  }
}

/** A worker with assigned tasks right now (the first worker when none has any). */
async function busyWorker(admin: KeeperClient, layout: Layout, names: string[]): Promise<string> {
  for (const name of names) {
    const { children } = await admin.getChildren(layout.assignDir(name)).catch(() => ({ children: [] as string[] }));
    if (children.length > 0) return name;
  }
  return names[0]!;
}

/** Waits for the next change of /status, at most `ms`. */
function waitForStatusChange(admin: KeeperClient, layout: Layout, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    admin.getChildren(layout.status, { watch: () => (clearTimeout(timer), resolve()) }).catch(() => (clearTimeout(timer), resolve()));
  });
}
