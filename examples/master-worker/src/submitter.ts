// A client of the system: submits tasks as persistent-sequential /tasks/task-… nodes.
// Each submission is a multi that also creates /submissions/<guid>: after CONNECTIONLOSS
// the marker tells whether the submission happened, so a task is never submitted twice.

import { Code, CreateMode, type KeeperClient } from "@keeper/client";
import { encode, isCode, type Layout, type TaskData } from "./layout.ts";

export async function submitTask(client: KeeperClient, layout: Layout, task: TaskData): Promise<void> {
  const marker = `${layout.submissions}/${globalThis.crypto.randomUUID()}`;
  for (;;) {
    try {
      await client.transaction().create(`${layout.tasks}/task-`, encode(task), { mode: CreateMode.PERSISTENT_SEQUENTIAL }).create(marker, String(task.n)).commit();
      return;
    } catch (e) {
      if (!isCode(e, Code.CONNECTIONLOSS)) throw e;
      if (await happened(client, marker)) return;
    }
  }
}

async function happened(client: KeeperClient, marker: string): Promise<boolean> {
  for (;;) {
    try {
      return (await client.exists(marker)) !== null;
    } catch (e) {
      if (!isCode(e, Code.CONNECTIONLOSS)) throw e;
    }
  }
}
