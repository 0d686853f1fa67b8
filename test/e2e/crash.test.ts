// The crash test: four clients write concurrently, the server is SIGKILLed mid-load and
// restarted on the same data directory. Every acknowledged write must be there (or a later
// write by the same client), each client's writes survive as a prefix of what it issued, and
// the tree the restarted server reports (its /status digest) must be exactly what the
// LevelDB store on disk replays to offline.
import { afterAll, describe, expect, it } from "vitest";
import { ReplicatedState } from "@keeper/core";
import { Code, KeeperError, type KeeperClient } from "@keeper/client";
import { ZXID_ZERO, makeZxid, type Zxid } from "@keeper/protocol";
import { Store } from "../../packages/server/src/storage/store.ts";
import { Harness, text, type ServerNode } from "../support/harness.ts";

const WRITERS = 4;
const WINDOW = 8; // requests each writer keeps in flight
const KILL_AFTER_ACKS = 2_000;
const KILL_AFTER_MS = 1_500;

const pad = (n: number): string => String(n).padStart(8, "0");

interface Writer {
  id: number;
  /** Ops issued: op n is a create of /crash/c<id>/n<n> when n is even, a setData of /crash/w<id> to "n" when odd. */
  issued: number;
  /** Acknowledged creates: path -> data. */
  ackedCreates: Map<string, string>;
  /** Highest acknowledged setData value. */
  maxAckedSet: number;
  failures: unknown[];
}

/** Runs the load until `shouldStop()`; resolves when every request issued has settled. */
async function writerLoop(client: KeeperClient, w: Writer, shouldStop: () => boolean, onAck: () => void): Promise<void> {
  const inflight = new Set<Promise<void>>();
  const issue = (n: number): void => {
    let p: Promise<unknown>;
    let ack: () => void;
    if (n % 2 === 0) {
      const path = `/crash/c${w.id}/n${pad(n)}`;
      const value = `c${w.id}-${n}`;
      p = client.create(path, value);
      ack = () => w.ackedCreates.set(path, value);
    } else {
      p = client.setData(`/crash/w${w.id}`, String(n));
      ack = () => (w.maxAckedSet = Math.max(w.maxAckedSet, n));
    }
    const tracked = p.then(
      () => {
        ack();
        onAck();
      },
      (e: unknown) => {
        // Only the crash may fail a write, and only as a lost connection.
        if (!(e instanceof KeeperError && (e.code === Code.CONNECTIONLOSS || e.code === Code.SESSIONEXPIRED))) w.failures.push(e);
      },
    );
    const settled = tracked.finally(() => inflight.delete(settled));
    inflight.add(settled);
  };
  while (!shouldStop()) {
    while (inflight.size < WINDOW && !shouldStop()) issue(w.issued++);
    await Promise.race(inflight);
  }
  await Promise.all(inflight);
}

/** Loads the server, kills it with SIGKILL mid-load, restarts it and checks every acknowledged write. */
async function crashAndRecover(h: Harness, server: ServerNode): Promise<{ writers: Writer[]; totalAcked: number }> {
  const setup = await h.connect(server);
  await setup.create("/crash");
  for (let i = 0; i < WRITERS; i++) {
    await setup.create(`/crash/c${i}`);
    await setup.create(`/crash/w${i}`, "-1");
  }
  await setup.close();

  const clients = await Promise.all(Array.from({ length: WRITERS }, () => h.connect(server)));
  const writers: Writer[] = clients.map((_, id) => ({ id, issued: 0, ackedCreates: new Map(), maxAckedSet: -1, failures: [] }));
  let acks = 0;
  let killed = false;
  const startedAt = Date.now();
  let killing: Promise<void> | undefined;
  const onAck = (): void => {
    acks++;
    if (!killing && acks >= KILL_AFTER_ACKS) killing = kill();
  };
  const kill = async (): Promise<void> => {
    killed = true;
    await server.kill("SIGKILL");
  };
  const timer = setInterval(() => {
    if (!killing && Date.now() - startedAt >= KILL_AFTER_MS && acks >= 50) killing = kill();
  }, 10);
  try {
    await Promise.all(clients.map((c, i) => writerLoop(c, writers[i]!, () => killed, onAck)));
  } finally {
    clearInterval(timer);
  }
  await killing;
  // The writers are done for good: close them before the server comes back so that none of
  // them resumes its session and writes more.
  await Promise.all(clients.map((c) => c.close()));
  for (const w of writers) expect(w.failures).toEqual([]);
  const totalAcked = acks;
  expect(totalAcked).toBeGreaterThanOrEqual(50);

  await server.start();
  const check = await h.connect(server);
  for (const w of writers) {
    // Every acknowledged create is there with its value.
    const present = new Set((await check.getChildren(`/crash/c${w.id}`)).children);
    for (const [path, value] of w.ackedCreates) {
      expect(present.has(path.slice(path.lastIndexOf("/") + 1)), `acknowledged ${path} lost`).toBe(true);
      expect(text((await check.getData(path)).data)).toBe(value);
    }
    // The acknowledged setData is there, or a later one by the same writer.
    const finalValue = Number(text((await check.getData(`/crash/w${w.id}`)).data));
    expect(finalValue).toBeGreaterThanOrEqual(w.maxAckedSet);
    expect(finalValue).toBeLessThan(w.issued);
    // FIFO and an append-only log: what survived of one writer is a prefix of what it issued.
    const indices = [...present].map((name) => Number(name.slice(1))).sort((x, y) => x - y);
    indices.forEach((n, k) => expect(n).toBe(2 * k));
    const survivedOps = Math.max(indices.length > 0 ? indices[indices.length - 1]! + 1 : 0, finalValue + 1);
    for (let n = 0; n < survivedOps; n += 2) expect(present.has(`n${pad(n)}`), `writer ${w.id}: op ${n} missing below op ${survivedOps - 1}`).toBe(true);
  }
  await check.close();
  return { writers, totalAcked };
}

/** The server's own view right before a clean stop. */
async function statusThenStop(server: ServerNode): Promise<{ digest: string; lastZxid: Zxid; nodes: number }> {
  const status = await server.status();
  expect(typeof status.digest).toBe("string");
  expect(await server.stop()).toBe(0);
  return { digest: status.digest, lastZxid: status.lastZxid as Zxid, nodes: status.nodes };
}

/** Replays the store's log after `state.lastZxid` up to `upTo`; returns how many were applied. */
async function replay(store: Store, state: ReplicatedState, upTo: Zxid): Promise<number> {
  let applied = 0;
  for await (const txn of store.txnsAfter(state.lastZxid)) {
    if (txn.hdr.zxid > upTo) break;
    state.apply(txn);
    applied++;
  }
  return applied;
}

describe("crash recovery (e2e)", () => {
  const h = new Harness();
  afterAll(() => h.cleanup());

  it("kill -9 mid-load with a complete log: acknowledged writes survive and the log replays to the served digest", async () => {
    const server = await h.startServer(["--snapshot-every-txns", "1000000"]);
    await crashAndRecover(h, server);
    const served = await statusThenStop(server);

    const store = await Store.open(server.storeDir);
    try {
      expect(await store.snapshotMeta()).toBeUndefined();
      const state = new ReplicatedState();
      const applied = await replay(store, state, served.lastZxid);
      expect(applied).toBeGreaterThan(50);
      expect(state.lastZxid).toBe(served.lastZxid);
      expect(state.tree.size).toBe(served.nodes);
      expect(state.tree.digest()).toBe(served.digest);
    } finally {
      await store.close();
    }
  });

  it("kill -9 mid-load with frequent snapshots and a short log: snapshot + log replay to the served digest", async () => {
    const server = await h.startServer(["--snapshot-every-txns", "200", "--log-retain-txns", "50"]);
    const { totalAcked } = await crashAndRecover(h, server);
    expect(totalAcked).toBeGreaterThan(200);
    const served = await statusThenStop(server);

    const store = await Store.open(server.storeDir);
    try {
      const snap = await store.loadSnapshot();
      expect(snap).toBeDefined();
      expect(snap!.meta.zxid).toBeGreaterThan(0);
      expect(snap!.meta.zxid).toBeLessThanOrEqual(served.lastZxid);
      expect(snap!.tree.digest()).toBe(snap!.meta.digest);
      // The log was truncated behind the snapshot: replaying from zero is no longer possible.
      let logged = 0;
      let firstLogged: Zxid | undefined;
      for await (const txn of store.txnsAfter(ZXID_ZERO)) {
        firstLogged ??= txn.hdr.zxid;
        logged++;
      }
      expect(firstLogged).toBeGreaterThan(makeZxid(1, 1));
      expect(firstLogged).toBeLessThanOrEqual(snap!.meta.zxid + 1);
      expect(logged).toBeLessThan(totalAcked);

      const state = new ReplicatedState(snap!.tree, snap!.sessions);
      await replay(store, state, served.lastZxid);
      expect(state.lastZxid).toBe(served.lastZxid);
      expect(state.tree.size).toBe(served.nodes);
      expect(state.tree.digest()).toBe(served.digest);
    } finally {
      await store.close();
    }
  });
});
