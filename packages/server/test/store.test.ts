import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Level } from "level";
import { DataTree, ReplicatedState, SessionTable, writeSnapshot, type Txn } from "@keeper/core";
import { OPEN_ACL_UNSAFE, asSessionId, makeZxid, type Zxid } from "@keeper/protocol";
import { Store } from "../src/storage/store.ts";
import { tempDir } from "./temp-dir.ts";

const enc = new TextEncoder();
function createTxn(epoch: number, counter: number, path: string): Txn {
  return { hdr: { zxid: makeZxid(epoch, counter), time: 1000 + counter, sessionId: asSessionId(0), cxid: counter }, body: { type: "create", path, data: enc.encode(path), acl: [...OPEN_ACL_UNSAFE], ephemeralOwner: asSessionId(0) } };
}

describe("Store", () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  beforeEach(async () => {
    dir = tempDir();
    store = await Store.open(dir.path);
  });
  afterEach(async () => {
    await store.close().catch(() => {});
    dir.cleanup();
  });

  it("Store.append() keeps transactions in zxid order across epochs", async () => {
    await store.append([createTxn(1, 1, "/a"), createTxn(1, 2, "/b")]);
    await store.append([createTxn(2, 1, "/c")]);
    const zxids: Zxid[] = [];
    for await (const t of store.txnsAfter(0 as Zxid)) zxids.push(t.hdr.zxid);
    expect(zxids).toEqual([makeZxid(1, 1), makeZxid(1, 2), makeZxid(2, 1)]);
    expect(await store.lastLoggedZxid()).toBe(makeZxid(2, 1));
    const after: Zxid[] = [];
    for await (const t of store.txnsAfter(makeZxid(1, 1))) after.push(t.hdr.zxid);
    expect(after).toEqual([makeZxid(1, 2), makeZxid(2, 1)]);
  });

  it("Store survives close and reopen with everything appended", async () => {
    await store.append([createTxn(1, 1, "/a")]);
    await store.close();
    store = await Store.open(dir.path);
    expect(await store.lastLoggedZxid()).toBe(makeZxid(1, 1));
  });

  it("the commit point recorded with a batch comes back at boot, with the whole log after the snapshot", async () => {
    expect((await store.boot()).committed).toBeUndefined();
    await store.persist({ seq: 1, append: [createTxn(1, 1, "/a"), createTxn(1, 2, "/b")] });
    await store.persist({ seq: 2, append: [createTxn(1, 3, "/c")], committed: makeZxid(1, 2) });
    await store.close();
    store = await Store.open(dir.path);
    const boot = await store.boot();
    expect(boot.committed).toBe(makeZxid(1, 2));
    expect(boot.log.map((t) => t.hdr.zxid)).toEqual([makeZxid(1, 1), makeZxid(1, 2), makeZxid(1, 3)]);
  });

  it("Store.saveSnapshot() restores the same digest and purges the log behind the retained window", async () => {
    const state = new ReplicatedState();
    const txns = Array.from({ length: 20 }, (_, i) => createTxn(1, i + 1, `/n${i}`));
    await store.append(txns);
    for (const t of txns) state.apply(t);
    const meta = await store.saveSnapshot(state.tree, state.sessions, 5);
    expect(meta.zxid).toBe(makeZxid(1, 20));
    const loaded = await store.loadSnapshot();
    expect(loaded!.tree.digest()).toBe(state.tree.digest());
    expect(loaded!.tree.lastZxid).toBe(makeZxid(1, 20));
    const kept: Zxid[] = [];
    for await (const t of store.txnsAfter(0 as Zxid)) kept.push(t.hdr.zxid);
    expect(kept).toEqual(txns.slice(15).map((t) => t.hdr.zxid));
  });

  it("Store.saveSnapshot() replaces a larger earlier snapshot without leaving stale chunks", async () => {
    const big = new DataTree();
    const state = new ReplicatedState(big, new SessionTable());
    const txns = Array.from({ length: 50 }, (_, i) => createTxn(1, i + 1, `/n${i}`));
    for (const t of txns) state.apply(t);
    await store.saveSnapshot(state.tree, state.sessions, 0);
    const small = new ReplicatedState();
    small.apply(createTxn(2, 1, "/only"));
    await store.saveSnapshot(small.tree, small.sessions, 0);
    const loaded = await store.loadSnapshot();
    expect(loaded!.tree.digest()).toBe(small.tree.digest());
  });

  /** A state with `n` nodes applied from zxid (epoch, 1). */
  function stateOf(epoch: number, n: number): ReplicatedState {
    const state = new ReplicatedState();
    for (let i = 0; i < n; i++) state.apply(createTxn(epoch, i + 1, `/e${epoch}n${i}`));
    return state;
  }

  /** Replaces the store's contents with unframed values, as written before checksums. */
  async function writeUnframed(path: string, entries: Array<{ key: string; value: Uint8Array }>): Promise<void> {
    const db = new Level<string, Uint8Array>(path, { keyEncoding: "utf8", valueEncoding: "view" });
    await db.clear();
    await db.batch(entries.map((e) => ({ type: "put" as const, ...e })));
    await db.close();
  }

  /** Every key under "s/" (the snapshot area). */
  async function snapshotKeys(): Promise<string[]> {
    await store.close();
    const db = new Level<string, Uint8Array>(dir.path, { keyEncoding: "utf8", valueEncoding: "view" });
    const keys: string[] = [];
    for await (const k of db.keys({ gte: "s/", lt: "s/~" })) keys.push(k);
    await db.close();
    store = await Store.open(dir.path);
    return keys;
  }

  it("a snapshot stored chunk by chunk is invisible until committed, and a discarded one leaves nothing", async () => {
    const first = stateOf(1, 10);
    await store.saveSnapshot(first.tree, first.sessions, 0);
    const second = stateOf(2, 30);
    const { chunks } = writeSnapshot(second.tree, second.sessions, 64);
    const sink = store.openSnapshot(second.tree.lastZxid);
    await sink.write(chunks.slice(1, 3));
    expect((await store.loadSnapshot())!.tree.digest()).toBe(first.tree.digest());
    await sink.discard();
    expect((await store.loadSnapshot())!.tree.digest()).toBe(first.tree.digest());
    const keys = await snapshotKeys();
    expect(keys.filter((k) => k.endsWith("/h"))).toHaveLength(1);
    expect(keys.every((k) => k.startsWith(keys.find((h) => h.endsWith("/h"))!.slice(0, -1)))).toBe(true);
  });

  it("chunks of a snapshot that never committed (a crash mid-write) are cleared at boot", async () => {
    const first = stateOf(1, 5);
    await store.saveSnapshot(first.tree, first.sessions, 0);
    const second = stateOf(2, 40);
    const { chunks } = writeSnapshot(second.tree, second.sessions, 64);
    await store.openSnapshot(second.tree.lastZxid).write(chunks.slice(1));
    const before = await snapshotKeys();
    expect(before.length).toBeGreaterThan(chunks.length);
    const boot = await store.boot();
    expect(boot.state.tree.digest()).toBe(first.tree.digest());
    const after = await snapshotKeys();
    expect(after.length).toBe(before.length - (chunks.length - 1));
  });

  it("an older snapshot that commits after a newer one (a slow local snapshot after a SNAP install) is dropped", async () => {
    const older = stateOf(1, 10);
    const newer = stateOf(2, 20);
    const slow = writeSnapshot(older.tree, older.sessions);
    const sink = store.openSnapshot(older.tree.lastZxid);
    await sink.write(slow.chunks.slice(1));
    await store.saveSnapshot(newer.tree, newer.sessions, 0);
    expect(await sink.commit(slow.chunks[0]!)).toBeUndefined();
    expect((await store.loadSnapshot())!.tree.digest()).toBe(newer.tree.digest());
    expect((await snapshotKeys()).filter((k) => k.endsWith("/h"))).toHaveLength(1);
  });

  it("a data dir in the earlier layout (s/header, s/chunk/N, no checksums) boots, and later snapshots replace it", async () => {
    const old = stateOf(1, 25);
    const { chunks } = writeSnapshot(old.tree, old.sessions, 64);
    await store.close();
    await writeUnframed(dir.path, [
      { key: "s/header", value: chunks[0]! },
      ...chunks.slice(1).map((value, i) => ({ key: `s/chunk/${String(i).padStart(8, "0")}`, value })),
    ]);
    store = await Store.open(dir.path, { snapshotsRetained: 2 });
    expect((await store.boot()).state.tree.digest()).toBe(old.tree.digest());
    for (let e = 2; e <= 3; e++) {
      const next = stateOf(e, 3);
      await store.saveSnapshot(next.tree, next.sessions, 0);
      expect((await store.loadSnapshot())!.tree.digest()).toBe(next.tree.digest());
    }
    expect((await snapshotKeys()).filter((k) => k.startsWith("s/chunk/") || k === "s/header")).toEqual([]);
  });

  it("a SNAP install replaces snapshot and log: the new state boots, no old log entry is left", async () => {
    await store.append([createTxn(1, 1, "/a"), createTxn(1, 2, "/b")]);
    const leader = stateOf(3, 12);
    const { chunks } = writeSnapshot(leader.tree, leader.sessions, 100);
    await store.persist({ seq: 1, append: [], snapshot: { zxid: leader.tree.lastZxid, chunks } });
    const boot = await store.boot();
    expect(boot.state.tree.digest()).toBe(leader.tree.digest());
    expect(boot.log).toEqual([]);
  });

  it("Store.epochs() persists accepted and current epochs", async () => {
    expect(await store.epochs()).toEqual({ accepted: 0, current: 0 });
    await store.setEpochs({ accepted: 3 });
    await store.setEpochs({ current: 2 });
    await store.close();
    store = await Store.open(dir.path);
    expect(await store.epochs()).toEqual({ accepted: 3, current: 2 });
  });
});
