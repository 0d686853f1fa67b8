// Recipes against a real server process that is killed (SIGKILL) and restarted on the
// same port and data directory while a leader leads and a lock waiter waits: the sessions
// survive (they are replicated state), the clients reconnect, and the recipes carry on.
import { connect, LeaderElection, Lock, type KeeperClient } from "@keeper/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startNodeProcess, tempDir, type NodeProcess } from "../support/processes.ts";

let server: NodeProcess;
const dir = tempDir("keeper-recipes-restart-");
const clients: KeeperClient[] = [];
const args = ["--tick-ms", "50", "--min-session-timeout-ms", "200"];

beforeAll(async () => {
  server = await startNodeProcess({ dataDir: dir.path, extraArgs: args });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await server?.stop();
  dir.cleanup();
});

async function client(): Promise<KeeperClient> {
  const c = await connect(`${server.host}:${server.port}`, { sessionTimeoutMs: 10_000 });
  clients.push(c);
  return c;
}

async function killAndRestart(): Promise<void> {
  const port = server.port;
  server.kill("SIGKILL");
  await server.exited;
  server = await startNodeProcess({ dataDir: dir.path, port, extraArgs: args });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("recipes across a server crash and restart", () => {
  it("LeaderElection and Lock: leader and holder keep their roles, waiters take over after the restart", async () => {
    const leader = new LeaderElection(await client(), "/restart/election", { id: "a" });
    const follower = new LeaderElection(await client(), "/restart/election", { id: "b" });
    await leader.start();
    await follower.start();
    const holder = new Lock(await client(), "/restart/lock");
    const waiter = new Lock(await client(), "/restart/lock");
    await holder.acquire();
    const acquired = waiter.acquire({ timeoutMs: 20_000 });
    const lost: string[] = [];
    holder.on("lost", () => lost.push("holder"));
    leader.on("follower", () => lost.push("leader"));

    await killAndRestart();
    await until(() => clients.every((c) => c.state === "connected"), "clients to reconnect");
    expect(leader.isLeader).toBe(true);
    expect(follower.isLeader).toBe(false);
    expect(holder.isHeld).toBe(true);
    expect(lost).toEqual([]);

    await leader.stop();
    await until(() => follower.isLeader, "the follower to lead");
    await holder.release();
    await acquired;
    expect(waiter.isHeld).toBe(true);
    await waiter.release();
    await follower.stop();
  }, 45_000);
});
