// The tree the master-worker system lives in, under one root (default /master-worker):
//
//   /master                 ephemeral, data = the active master's id
//   /workers/worker-N       ephemeral, one per live worker
//   /tasks/task-0000000007  persistent-sequential, submitted and not yet assigned
//   /assign/worker-N/task-… persistent, assigned to worker-N (data = the task's data)
//   /status/task-…          persistent, the task's final status (created once, never changed)
//   /submissions/<guid>     persistent marker created with each task, so a submission
//                           interrupted by connection loss can tell whether it happened

import { Code, KeeperError, type KeeperClient } from "@keeper/client";

export class Layout {
  constructor(readonly root = "/master-worker") {}
  get master(): string {
    return `${this.root}/master`;
  }
  get workers(): string {
    return `${this.root}/workers`;
  }
  get tasks(): string {
    return `${this.root}/tasks`;
  }
  get assign(): string {
    return `${this.root}/assign`;
  }
  get status(): string {
    return `${this.root}/status`;
  }
  get submissions(): string {
    return `${this.root}/submissions`;
  }
  worker(name: string): string {
    return `${this.workers}/${name}`;
  }
  task(name: string): string {
    return `${this.tasks}/${name}`;
  }
  assignDir(worker: string): string {
    return `${this.assign}/${worker}`;
  }
  assignment(worker: string, task: string): string {
    return `${this.assign}/${worker}/${task}`;
  }
  statusOf(task: string): string {
    return `${this.status}/${task}`;
  }

  /** Creates the persistent directories (and the root's parents); existing ones are fine. */
  async setup(client: KeeperClient): Promise<void> {
    const parts = this.root.split("/").filter((p) => p !== "");
    const dirs = parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
    for (const dir of [...dirs, this.workers, this.tasks, this.assign, this.status, this.submissions]) {
      await client.create(dir).catch((e: unknown) => {
        if (!isCode(e, Code.NODEEXISTS)) throw e;
      });
    }
  }

  /** Deletes the whole tree of an earlier run. */
  async wipe(client: KeeperClient): Promise<void> {
    await deleteTree(client, this.root);
  }
}

export async function deleteTree(client: KeeperClient, path: string): Promise<void> {
  let children: string[];
  try {
    ({ children } = await client.getChildren(path));
  } catch (e) {
    if (isCode(e, Code.NONODE)) return;
    throw e;
  }
  for (const c of children) await deleteTree(client, `${path}/${c}`);
  await client.delete(path).catch((e: unknown) => {
    if (!isCode(e, Code.NONODE)) throw e;
  });
}

export function isCode(e: unknown, code: Code): boolean {
  return e instanceof KeeperError && e.code === code;
}

export const encode = (v: unknown): string => JSON.stringify(v);
export const decode = <T>(b: Uint8Array): T => JSON.parse(new TextDecoder().decode(b)) as T;

export type Log = (who: string, line: string) => void;

/** Runs `pass` one at a time; a trigger during a pass queues one more pass. */
export class Serial {
  private running = false;
  private again = false;
  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}
  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (e) {
          this.onError(e);
        }
      } while (this.again);
      this.running = false;
    })();
  }
}

export interface TaskData {
  /** Submission order, for the printout. */
  n: number;
  /** What the worker computes: here, the square of `n`. */
  input: number;
}

export interface TaskStatus {
  state: "done";
  worker: string;
  output: number;
}
