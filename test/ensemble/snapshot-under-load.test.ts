// A large node snapshotting under write load stays a member in good standing: with 200,000
// znodes on every node and a snapshot every few hundred writes, a write load through every
// member runs while each node snapshots several times, and no leader changes, no peer link
// drops and no write fails. The nodes start from a state written straight into their stores
// (loading 200,000 znodes through a client would take most of the test's time).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ReplicatedState, type Txn } from "@keeper/core";
import { OPEN_ACL_UNSAFE, asSessionId, makeZxid } from "@keeper/protocol";
import { Store } from "../../packages/server/src/storage/store.ts";
import { Ensemble, poll, type NodeStatus } from "../support/ensemble.ts";

const ZNODES = 200_000;
const PARENTS = 200;
const WRITES = 3_000;
const EPOCH = 1;

/** The same 200,000-znode state in every node's store, at epoch 1. */
async function seed(dirs: string[]): Promise<void> {
  const state = new ReplicatedState();
  const data = new Uint8Array(100);
  let counter = 0;
  const create = (path: string): void => {
    counter++;
    const txn: Txn = { hdr: { zxid: makeZxid(EPOCH, counter), time: 1_700_000_000_000 + counter, sessionId: asSessionId(0), cxid: counter }, body: { type: "create", path, data, acl: [...OPEN_ACL_UNSAFE], ephemeralOwner: asSessionId(0) } };
    state.apply(txn);
  };
  for (let p = 0; p < PARENTS; p++) create(`/p${p}`);
  for (let i = 0; counter < ZNODES; i++) create(`/p${i % PARENTS}/n${i}`);
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    const store = await Store.open(dir);
    try {
      await store.saveSnapshot(state.tree, state.sessions, 0);
      await store.setEpochs({ accepted: EPOCH, current: EPOCH });
    } finally {
      await store.close();
    }
  }
}

describe("snapshots under load at 200,000 znodes", () => {
  let e: Ensemble;
  beforeAll(async () => {
    // A snapshot every 750-1500 writes (a random point per node): each starts one or two under
    // the load (one takes a few seconds at 200,000 znodes, written a slice at a time).
    e = new Ensemble(["--snapshot-every-txns", "1500"]);
    // Three nodes loading 200,000 znodes each at once, on a machine running other tests.
    e.healthTimeoutMs = 90_000;
    try {
      await e.allocate(3);
      await seed(e.nodes.map((n) => join(e.dataDir, `node${n.id}`)));
      await e.startAll();
      await e.waitForLeader({ timeoutMs: 60_000 });
    } catch (err) {
      await e.cleanup();
      throw err;
    }
  }, 120_000);
  afterAll(async () => {
    await e?.cleanup();
  });

  it(`${WRITES} writes through every member while every node snapshots: same leader, links up, every write answered`, async () => {
    onTestFailed(() => console.error(e.output().slice(-30_000)));
    const leader = await e.waitForLeader();
    // Every member serving (a node still loading its store when the other two elected has joined).
    await e.waitConverged({ nodes: e.nodes, timeoutMs: 90_000 });
    const epoch = leader.status.epoch;
    const statuses: NodeStatus[][] = [];
    let polling = true;
    // Every node's view, every 200 ms: role, leader, links.
    const poller = (async () => {
      while (polling) {
        statuses.push((await e.statuses()).map((s) => s.status));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const clients = await Promise.all(e.nodes.map((n) => e.connect({ hosts: [n] })));
    const before = await Promise.all(e.nodes.map(async (n) => (await n.status())!.log.snapshots as number));
    let failed = 0;
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = k; i < WRITES; i += clients.length * 25) {
          const batch = Array.from({ length: 25 }, (_, j) => i + j * clients.length).filter((w) => w < WRITES);
          const results = await Promise.allSettled(batch.map((w) => c.setData(`/p${w % PARENTS}/n${w}`, `w${w}`, -1, { timeoutMs: 20_000 })));
          failed += results.filter((r) => r.status === "rejected").length;
        }
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
    // A snapshot started under the load may still be writing its last slices: the watch on
    // roles and links goes on until every node has saved one.
    const taken = await poll(
      async () => {
        const counts = await Promise.all(e.nodes.map(async (n, i) => ((await n.status())?.log.snapshots ?? 0) - before[i]!));
        return counts.every((t) => t >= 1) ? counts : undefined;
      },
      { timeoutMs: 60_000, what: "every node to save a snapshot" },
    );
    polling = false;
    await poller;
    const after = await e.waitConverged({ nodes: e.nodes, timeoutMs: 30_000 });
    const now = await Promise.all(e.nodes.map(async (n) => (await n.status())!));

    expect(failed, "writes that failed").toBe(0);
    // No leader change, no role change, no link down at any poll.
    for (const round of statuses) {
      for (const s of round) {
        expect(s.leader, `node ${s.serverId} named another leader`).toBe(leader.node.id);
        expect(s.epoch, `node ${s.serverId} moved to another epoch`).toBe(epoch);
        expect(s.serving, `node ${s.serverId} stopped serving`).toBe(true);
        expect((s.peers as Array<{ connected: boolean }>).every((p) => p.connected), `node ${s.serverId} lost a peer link`).toBe(true);
      }
    }
    expect(after.nodes).toBe(ZNODES + 4);
    // Reported, not asserted (a loaded test machine stalls any process): the goal is < 100 ms.
    const worst = Math.max(...now.map((s) => s.eventLoop?.maxMs ?? 0));
    const slice = Math.max(...now.map((s) => s.log.longestSnapshotSliceMs ?? 0));
    console.log(`snapshot-under-load: ${taken.join("/")} snapshots (last took ${now.map((s) => s.log.lastSnapshotMs).join("/")} ms), longest snapshot slice ${slice} ms, max event-loop delay in the last window ${worst} ms`);
  }, 180_000);
});
