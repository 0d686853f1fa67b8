import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataTree, ReplicatedState, SessionTable, type Txn } from "@keeper/core";
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

  it("Store.epochs() persists accepted and current epochs", async () => {
    expect(await store.epochs()).toEqual({ accepted: 0, current: 0 });
    await store.setEpochs({ accepted: 3 });
    await store.setEpochs({ current: 2 });
    await store.close();
    store = await Store.open(dir.path);
    expect(await store.epochs()).toEqual({ accepted: 3, current: 2 });
  });
});
