// Stored bytes are checked: a flipped bit in a log record, a snapshot chunk or an ACL is found
// at boot, the node falls back to what is intact (an older snapshot and a longer log, or a
// shorter log that the leader completes), and nothing that fails its check is replayed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Level } from "level";
import { ReplicatedState, encodeTxn, writeSnapshot, type Txn } from "@keeper/core";
import { OPEN_ACL_UNSAFE, Perms, asSessionId, makeZxid, type Acl, type Zxid } from "@keeper/protocol";
import { CorruptValueError, StorageError, Store, txnKey } from "../src/storage/store.ts";
import { tempDir } from "./temp-dir.ts";

const enc = new TextEncoder();
const ALICE_ACL: Acl[] = [{ perms: Perms.ALL, scheme: "digest", id: "alice:W6ph5Mm5Pz8GgiULbPgzG37mj9g=" }];

function createTxn(counter: number, path: string, acl: Acl[] = [...OPEN_ACL_UNSAFE]): Txn {
  return { hdr: { zxid: makeZxid(1, counter), time: 1000 + counter, sessionId: asSessionId(0), cxid: counter }, body: { type: "create", path, data: enc.encode(`data of ${path}`), acl, ephemeralOwner: asSessionId(0) } };
}

describe("Store integrity", () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  /** Every transaction appended so far, and the state they make. */
  const txns: Txn[] = [];
  let state: ReplicatedState;

  beforeEach(async () => {
    dir = tempDir();
    store = await Store.open(dir.path, { snapshotsRetained: 3 });
    txns.length = 0;
    state = new ReplicatedState();
  });
  afterEach(async () => {
    await store.close().catch(() => {});
    dir.cleanup();
  });

  async function logTxns(n: number, acl?: Acl[]): Promise<void> {
    const batch = Array.from({ length: n }, (_, i) => createTxn(txns.length + i + 1, `/n${txns.length + i + 1}`, acl));
    await store.append(batch);
    for (const t of batch) state.apply(t);
    txns.push(...batch);
  }

  async function snapshotNow(): Promise<void> {
    await store.saveSnapshot(state.tree, state.sessions, 0);
  }

  /** Closes the store, changes raw values with `fn`, reopens. */
  async function tamper(fn: (db: Level<string, Uint8Array>) => Promise<void>): Promise<void> {
    await store.close();
    const db = new Level<string, Uint8Array>(dir.path, { keyEncoding: "utf8", valueEncoding: "view" });
    await fn(db);
    await db.close();
    store = await Store.open(dir.path, { snapshotsRetained: 3 });
  }

  async function flipBit(db: Level<string, Uint8Array>, key: string, at: (v: Uint8Array) => number): Promise<void> {
    const v = Uint8Array.from((await db.get(key))!);
    v[at(v)]! ^= 0x04;
    await db.put(key, v);
  }

  /** Header keys of committed snapshots, newest first. */
  async function snapshotHeaders(db: Level<string, Uint8Array>): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of db.keys({ gte: "s/", lt: "s/~" })) if (k.endsWith("/h")) keys.push(k);
    return keys.sort().reverse();
  }

  it("a bit flipped in a log record is never replayed: boot truncates the log before it and boots resyncing (it may have acked what it lost)", async () => {
    await logTxns(10);
    await tamper((db) => flipBit(db, txnKey(txns[6]!.hdr.zxid), (v) => v.length - 3));
    await expect(async () => {
      for await (const _ of store.txnsAfter(0 as Zxid));
    }).rejects.toThrow(CorruptValueError);
    const boot = await store.boot();
    expect(boot.log.map((t) => t.hdr.zxid)).toEqual(txns.slice(0, 6).map((t) => t.hdr.zxid));
    expect(boot.resyncing).toBe(true);
    expect(await store.resyncMarked()).toBe(true);
    expect(await store.lastLoggedZxid()).toBe(txns[5]!.hdr.zxid);
    // Appends after the truncation (the leader's DIFF), then the end of the sync: read back as usual.
    await store.append(txns.slice(6));
    await store.persist({ seq: 1, append: [], resyncDone: true });
    const again = await store.boot();
    expect(again.log).toHaveLength(10);
    expect(again.resyncing).toBeUndefined();
  });

  it("alone (no peers to resync from), a truncated log boots as a voter", async () => {
    await logTxns(5);
    await tamper((db) => flipBit(db, txnKey(txns[3]!.hdr.zxid), (v) => v.length - 3));
    const boot = await store.boot({ canResync: false });
    expect(boot.log).toHaveLength(3);
    expect(boot.resyncing).toBeUndefined();
    expect(await store.resyncMarked()).toBe(false);
  });

  it("a log record that decodes but sits under another zxid's key is refused too", async () => {
    await logTxns(3);
    await tamper(async (db) => {
      const { frame } = await import("../src/storage/checksum.ts");
      await db.put(txnKey(txns[2]!.hdr.zxid), frame(encodeTxn(txns[0]!)));
    });
    expect((await store.boot()).log).toHaveLength(2);
  });

  it("a bit flipped in the newest snapshot: boot falls back to an older one and replays a longer log", async () => {
    await logTxns(5);
    await snapshotNow();
    await logTxns(5);
    await snapshotNow();
    await logTxns(3);
    await tamper(async (db) => {
      const newest = (await snapshotHeaders(db))[0]!;
      await flipBit(db, newest.replace(/h$/, "c/00000000"), (v) => Math.floor(v.length / 2));
    });
    const boot = await store.boot();
    expect(boot.state.lastZxid).toBe(txns[4]!.hdr.zxid);
    expect(boot.log).toHaveLength(8);
    for (const t of boot.log) boot.state.apply(t);
    expect(boot.state.tree.digest()).toBe(state.tree.digest());
    // The bad snapshot is gone; the next boot starts from the older one without complaint.
    expect((await store.snapshotMeta())!.zxid).toBe(txns[4]!.hdr.zxid);
  });

  it("a bit flipped in an ACL inside a snapshot is caught, and so is an ACL changed under a valid CRC (digest)", async () => {
    await logTxns(4);
    await snapshotNow();
    await logTxns(2, ALICE_ACL);
    await snapshotNow();
    const aliceBytes = enc.encode("alice:");
    const findAlice = (v: Uint8Array) => {
      for (let i = 0; i + aliceBytes.length <= v.length; i++) if (aliceBytes.every((b, j) => v[i + j] === b)) return i + 2;
      throw new Error("no ACL id in the chunk");
    };
    await tamper(async (db) => {
      const newest = (await snapshotHeaders(db))[0]!;
      await flipBit(db, newest.replace(/h$/, "c/00000000"), findAlice);
    });
    let boot = await store.boot();
    expect(boot.state.lastZxid).toBe(txns[3]!.hdr.zxid);
    for (const t of boot.log) boot.state.apply(t);
    expect(boot.state.tree.digest()).toBe(state.tree.digest());
    expect(boot.state.tree.node("/n6")!.acl).toEqual(ALICE_ACL);

    // An ACL changed before checksumming (a bug, bad memory) passes the CRC; the digest catches it.
    await snapshotNow();
    await tamper(async (db) => {
      const { frame, unframe } = await import("../src/storage/checksum.ts");
      const key = (await snapshotHeaders(db))[0]!.replace(/h$/, "c/00000000");
      const payload = Uint8Array.from(unframe(key, (await db.get(key))!));
      payload[findAlice(payload)]! ^= 0x04;
      await db.put(key, frame(payload));
    });
    boot = await store.boot();
    expect(boot.state.lastZxid).toBe(txns[3]!.hdr.zxid);
    for (const t of boot.log) boot.state.apply(t);
    expect(boot.state.tree.digest()).toBe(state.tree.digest());
    expect(boot.state.tree.node("/n6")!.acl).toEqual(ALICE_ACL);
  });

  it("keeps the newest snapshotsRetained snapshots and the log back to the oldest of them", async () => {
    for (let i = 0; i < 5; i++) {
      await logTxns(4);
      await snapshotNow();
    }
    await tamper(async (db) => {
      expect(await snapshotHeaders(db)).toHaveLength(3);
    });
    const zxids: Zxid[] = [];
    for await (const t of store.txnsAfter(0 as Zxid)) zxids.push(t.hdr.zxid);
    // The oldest kept snapshot is at txn 12: the log holds 13..20.
    expect(zxids).toEqual(txns.slice(12).map((t) => t.hdr.zxid));
    expect(await store.logFrom()).toBe(txns[11]!.hdr.zxid);
  });

  it("with every snapshot bad and the log purged: alone, boot refuses with what to do; with peers, it boots empty and resyncing", async () => {
    await logTxns(4);
    await snapshotNow();
    await logTxns(4);
    await snapshotNow();
    await logTxns(4);
    await snapshotNow();
    await logTxns(4);
    await snapshotNow();
    await tamper(async (db) => {
      for (const h of await snapshotHeaders(db)) await flipBit(db, h, (v) => v.length - 1);
    });
    // Alone, nothing can rebuild it: the node refuses and says what to do.
    await expect(store.boot({ canResync: false })).rejects.toThrow(StorageError);
    await expect(store.boot({ canResync: false })).rejects.toThrow(/Move the data dir aside/);
    // With peers, it drops what is left and boots empty, resyncing, its epochs kept.
    await store.setEpochs({ accepted: 3, current: 3 });
    const boot = await store.boot();
    expect(boot).toMatchObject({ resyncing: true, log: [], acceptedEpoch: 3, currentEpoch: 3 });
    expect(boot.state.lastZxid).toBe(0);
    expect(await store.snapshotMeta()).toBeUndefined();
  });

  it("a SNAP install drops older snapshots (another history) and the old log", async () => {
    await logTxns(4);
    await snapshotNow();
    await logTxns(4);
    await snapshotNow();
    const leader = new ReplicatedState();
    for (let i = 1; i <= 12; i++) leader.apply({ ...createTxn(i, `/leader${i}`), hdr: { ...createTxn(i, "/x").hdr, zxid: makeZxid(2, i) } });
    const { chunks } = writeSnapshot(leader.tree, leader.sessions, 100);
    await store.persist({ seq: 1, append: [], snapshot: { zxid: leader.tree.lastZxid, chunks } });
    await tamper(async (db) => {
      expect(await snapshotHeaders(db)).toHaveLength(1);
    });
    expect(await store.logFrom()).toBe(leader.tree.lastZxid);
    const boot = await store.boot();
    expect(boot.state.tree.digest()).toBe(leader.tree.digest());
    expect(boot.log).toEqual([]);
  });

  it("a resync batch drops snapshots, log and commit point but keeps the epochs, and boots empty and resyncing", async () => {
    await logTxns(4);
    await snapshotNow();
    await logTxns(3);
    await store.setEpochs({ accepted: 5, current: 4 });
    await store.persist({ seq: 9, append: [], committed: txns[6]!.hdr.zxid });
    await store.persist({ seq: 10, append: [], resync: true });
    expect(await store.resyncMarked()).toBe(true);
    await store.close();
    store = await Store.open(dir.path);
    const boot = await store.boot();
    expect(boot.state.lastZxid).toBe(0);
    expect(boot.log).toEqual([]);
    expect(boot.committed).toBeUndefined();
    expect(boot.resyncing).toBe(true);
    expect([boot.acceptedEpoch, boot.currentEpoch]).toEqual([5, 4]);
    expect(await store.snapshotMeta()).toBeUndefined();
  });

  it("the resync mark outlives a crash part way through the copy, and goes only with resyncDone", async () => {
    await logTxns(3);
    await store.persist({ seq: 1, append: [], resync: true });
    // Part of a leader's history arrived, then the process died: the next boot starts over.
    await logTxns(2);
    let boot = await store.boot();
    expect(boot.resyncing).toBe(true);
    expect(boot.log).toEqual([]);
    // The whole sync is durable and the mark cleared with the last batch: kept from now on.
    await logTxns(2);
    await store.persist({ seq: 2, append: [], resyncDone: true });
    expect(await store.resyncMarked()).toBe(false);
    boot = await store.boot();
    expect(boot.resyncing).toBeUndefined();
    expect(boot.log).toHaveLength(2);
  });

  it("an unframed value in an upgraded data dir is corruption, not an old record", async () => {
    await logTxns(3);
    await tamper((db) => db.put(txnKey(txns[2]!.hdr.zxid), encodeTxn(txns[2]!)));
    expect((await store.boot()).log).toHaveLength(2);
  });

  it("a data dir from before checksums (log, epochs, s/current snapshot) is upgraded in place and boots the same", async () => {
    await logTxns(6);
    const snap = writeSnapshot(state.tree, state.sessions, 64);
    await logTxns(3);
    await tamper(async (db) => {
      await db.clear();
      const prefix = `s/${snap.meta.zxid.toString(16).padStart(14, "0")}.abc1/`;
      const epoch = new Uint8Array(8);
      new DataView(epoch.buffer).setFloat64(0, 1);
      await db.batch([
        ...txns.slice(4).map((t) => ({ type: "put" as const, key: txnKey(t.hdr.zxid), value: encodeTxn(t) })),
        { type: "put", key: "e/accepted", value: epoch },
        { type: "put", key: "e/current", value: epoch },
        ...snap.chunks.slice(1).map((value, i) => ({ type: "put" as const, key: `${prefix}c/${String(i).padStart(8, "0")}`, value })),
        { type: "put", key: `${prefix}h`, value: snap.chunks[0]! },
        { type: "put", key: "s/current", value: enc.encode(prefix) },
      ]);
    });
    const boot = await store.boot();
    expect(boot.acceptedEpoch).toBe(1);
    expect(boot.state.lastZxid).toBe(snap.meta.zxid);
    for (const t of boot.log) boot.state.apply(t);
    expect(boot.state.tree.digest()).toBe(state.tree.digest());
    expect(await store.logFrom()).toBe(snap.meta.zxid);
    await tamper(async (db) => {
      const { isFramed } = await import("../src/storage/checksum.ts");
      for await (const [k, v] of db.iterator()) expect([k, isFramed(v)]).toEqual([k, true]);
    });
  });
});
