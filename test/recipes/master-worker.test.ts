// The master-worker example against a real server process: the active master and a busy
// worker crash mid-run (their connections cut, no closeSession), and every task must still
// end with exactly one final status.
import { connect } from "@keeper/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Layout } from "../../examples/master-worker/src/layout.ts";
import { runMasterWorker } from "../../examples/master-worker/src/run.ts";
import { startNodeProcess, tempDir, type NodeProcess } from "../support/processes.ts";

let server: NodeProcess;
const dir = tempDir("keeper-master-worker-");

beforeAll(async () => {
  server = await startNodeProcess({ dataDir: dir.path, extraArgs: ["--tick-ms", "50", "--min-session-timeout-ms", "200"] });
});

afterAll(async () => {
  await server?.stop();
  dir.cleanup();
});

describe("master-worker example", () => {
  it("master-worker: with the active master and a worker crashed mid-run, every task gets exactly one final status", async () => {
    const lines: string[] = [];
    const address = `${server.host}:${server.port}`;
    const taskCount = 16;
    const result = await runMasterWorker({
      connect: address,
      root: "/mw-test",
      tasks: taskCount,
      masters: 2,
      workers: 3,
      workMs: 120,
      sessionTimeoutMs: 1_000,
      chaos: true,
      timeoutMs: 40_000,
      log: (who, line) => lines.push(`[${who}] ${line}`),
    });
    expect(result.crashedMaster).toBeDefined();
    expect(result.crashedWorker).toBeDefined();
    expect(lines.some((l) => l.includes("I am the master") && !l.startsWith(`[${result.crashedMaster}]`))).toBe(true);
    // One status per task, and each one is the right answer for a distinct task.
    expect(result.statuses.size).toBe(taskCount);
    const outputs = [...result.statuses.values()].map((s) => s.output).sort((a, b) => a - b);
    expect(outputs).toEqual(Array.from({ length: taskCount }, (_, i) => (i + 1) * (i + 1)));
    expect([...result.statuses.values()].every((s) => s.state === "done")).toBe(true);
    expect(result.executions).toBeGreaterThanOrEqual(taskCount - 1); // a crashed worker's last run may be lost
    // Nothing is left pending in the tree.
    const admin = await connect(address);
    try {
      const layout = new Layout("/mw-test");
      expect((await admin.getChildren(layout.tasks)).children).toEqual([]);
      for (const w of (await admin.getChildren(layout.assign)).children) {
        expect((await admin.getChildren(layout.assignDir(w))).children).toEqual([]);
      }
      expect((await admin.getChildren(layout.status)).children).toHaveLength(taskCount);
      expect((await admin.getChildren(layout.submissions)).children).toHaveLength(taskCount);
    } finally {
      await admin.close();
    }
  }, 60_000);
});
