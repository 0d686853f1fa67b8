// Restarts with real processes: a follower SIGKILLed while the others take 200 writes
// catches up from the leader's log (DIFF); the whole ensemble stopped with SIGTERM and
// started again on the same data keeps every znode; and a follower that missed more than
// the leader's in-memory log window (max(1000, logRetainTxns) transactions) catches up
// from a snapshot (SNAP); a follower with an empty data dir joins an ensemble whose state is
// larger than the peer frame limit (the SNAP streams in pieces).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { KeeperClient } from "@keeper/client";
import { startEnsemble, type Ensemble, type EnsembleNode, type NodeStatus } from "../support/ensemble.ts";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const pad = (n: number): string => String(n).padStart(5, "0");

/** Creates parent/p<from>..p<to-1> with data "v<i>", `window` requests in flight at a time. */
async function createMany(c: KeeperClient, parent: string, from: number, to: number, window = 100): Promise<void> {
  for (let i = from; i < to; i += window) {
    const batch: Array<Promise<string>> = [];
    for (let j = i; j < Math.min(to, i + window); j++) batch.push(c.create(`${parent}/p${pad(j)}`, `v${j}`, { timeoutMs: 10_000 }));
    await Promise.all(batch);
  }
}

/** Reads every znode parent/p<0..count-1> from `node` alone (after a sync) and checks its data. */
async function expectZnodes(e: Ensemble, node: EnsembleNode, parent: string, count: number): Promise<void> {
  const c = await e.connect({ hosts: [node] });
  try {
    await c.sync(parent);
    const { children } = await c.getChildren(parent);
    expect(children.length, `node ${node.id}: children of ${parent}`).toBe(count);
    const want = Array.from({ length: count }, (_, i) => `p${pad(i)}`);
    expect([...children].sort()).toEqual(want);
    // Spot-check data: first, last and a stride through the middle.
    for (let i = 0; i < count; i += Math.max(1, Math.floor(count / 25))) expect(text((await c.getData(`${parent}/p${pad(i)}`)).data)).toBe(`v${i}`);
    expect(text((await c.getData(`${parent}/p${pad(count - 1)}`)).data)).toBe(`v${count - 1}`);
  } finally {
    await c.close();
  }
}

/**
 * Writes parent/p0..p<initial-1> through all nodes but one follower, SIGKILLs that follower,
 * writes `missed` more through the others, restarts it and checks that every node converges on
 * the same lastZxid and digest, the follower following; returns the follower and its status.
 */
async function restartLaggingFollower(e: Ensemble, parent: string, initial: number, missed: number): Promise<{ follower: EnsembleNode; status: NodeStatus }> {
  const leader = await e.waitForLeader();
  const follower = e.nodes.find((n) => n.id !== leader.node.id)!;
  const others = e.nodes.filter((n) => n !== follower);

  const c = await e.connect({ hosts: others });
  await c.create(parent);
  await createMany(c, parent, 0, initial);
  await e.waitConverged();

  await follower.kill("SIGKILL");
  await createMany(c, parent, initial, initial + missed);
  await c.close();
  const before = await e.waitConverged({ nodes: others });

  await follower.start();
  const after = await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
  expect(after.lastZxid).toBe(before.lastZxid);
  expect(after.digest).toBe(before.digest);
  const status = (await follower.status())!;
  expect(status.state).toBe("following");
  return { follower, status };
}

describe("follower restart (DIFF) and whole-ensemble restart", () => {
  let e: Ensemble;
  beforeAll(async () => {
    e = await startEnsemble({ size: 3 });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it("a SIGKILLed follower catches up on 200 writes it missed, from the leader's log", async () => {
    onTestFailed(() => console.error(e.output().slice(-30_000)));
    const { follower, status: fs } = await restartLaggingFollower(e, "/r", 20, 200);
    // DIFF: the follower appended the missing transactions to its own log, one by one.
    expect(fs.log.txns, "transactions the restarted follower logged").toBeGreaterThanOrEqual(200);
    await expectZnodes(e, follower, "/r", 220);
  });

  it("SIGTERM of every node and a restart on the same data keeps every znode and one digest", async () => {
    onTestFailed(() => console.error(e.output().slice(-30_000)));
    const before = await e.waitConverged({ nodes: e.nodes });
    const procs = e.nodes.map((n) => n.proc!);
    await e.stopAll();
    // A clean stop: every process exits 0 on SIGTERM.
    expect(procs.map((p) => p.child.exitCode)).toEqual(procs.map(() => 0));

    await e.startAll();
    await e.waitForLeader();
    const after = await e.waitConverged({ nodes: e.nodes, timeoutMs: 20_000 });
    expect(after.digest).toBe(before.digest);
    expect(after.nodes).toBe(before.nodes);
    expect(after.lastZxid).toBeGreaterThanOrEqual(before.lastZxid);
    for (const n of e.nodes) await expectZnodes(e, n, "/r", 220);
  });
});

describe("follower restart past the leader's log window (SNAP)", () => {
  // The leader keeps max(1000, logRetainTxns) transactions in memory for DIFFs (zabConfig in
  // server.ts); with tiny snapshot/retain settings a follower that missed more than that
  // must be sent a snapshot.
  const WINDOW = 1_000;
  const MISSED = 1_150;
  let e: Ensemble;
  beforeAll(async () => {
    e = await startEnsemble({ size: 3, extraArgs: ["--snapshot-every-txns", "50", "--log-retain-txns", "10"] });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it(`a follower that missed ${MISSED} transactions (> ${WINDOW}) catches up by SNAP`, async () => {
    onTestFailed(() => console.error(e.output().slice(-30_000)));
    const { follower, status: fs } = await restartLaggingFollower(e, "/s", 10, MISSED);
    // SNAP: the follower installed a snapshot instead of logging every missed transaction.
    expect(fs.log.txns, "transactions the restarted follower logged").toBeLessThan(MISSED);
    await expectZnodes(e, follower, "/s", 10 + MISSED);
  }, 60_000);
});

describe("a follower with an empty data dir joins a state larger than any peer frame (streamed SNAP)", () => {
  // 8 MiB is the peer frame limit at the default dataBytesMax (PEER_FRAME_BYTES_MAX): the state
  // here is about 12 MiB, so only a SNAP in pieces can carry it. With a short retained log the
  // leader keeps 1000 transactions in memory for DIFFs, so after 1500 writes a node with
  // nothing gets a SNAP.
  const COUNT = 1_500;
  const DATA = "x".repeat(8 * 1024);
  let e: Ensemble;
  beforeAll(async () => {
    e = await startEnsemble({ size: 3, extraArgs: ["--log-retain-txns", "10"] });
  });
  afterAll(async () => {
    await e?.cleanup();
  });

  it(`${COUNT} znodes of 8 KiB: the wiped follower converges on the leader's digest`, async () => {
    onTestFailed(() => console.error(e.output().slice(-30_000)));
    const leader = await e.waitForLeader();
    const follower = e.nodes.find((n) => n.id !== leader.node.id)!;
    const others = e.nodes.filter((n) => n !== follower);
    await follower.kill("SIGKILL");
    rmSync(join(e.dataDir, `node${follower.id}`), { recursive: true, force: true });

    const c = await e.connect({ hosts: others });
    await c.create("/big");
    for (let i = 0; i < COUNT; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, COUNT - i) }, (_, j) => c.create(`/big/p${pad(i + j)}`, DATA, { timeoutMs: 20_000 })));
    }
    await c.close();
    const before = await e.waitConverged({ nodes: others });

    await follower.start();
    const after = await e.waitConverged({ nodes: e.nodes, timeoutMs: 30_000 });
    expect(after.digest).toBe(before.digest);
    expect(after.nodes).toBe(before.nodes);
    const status = (await follower.status())!;
    expect(status.state).toBe("following");
    // It logged nothing it was sent: the state came whole, as a SNAP.
    expect(status.log.txns).toBeLessThan(COUNT);
    const check = await e.connect({ hosts: [follower] });
    try {
      await check.sync("/big");
      expect((await check.getChildren("/big")).children).toHaveLength(COUNT);
      expect(text((await check.getData(`/big/p${pad(COUNT - 1)}`)).data)).toBe(DATA);
    } finally {
      await check.close();
    }
  }, 90_000);
});
