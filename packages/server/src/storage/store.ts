// The node's durable state in LevelDB: the transaction log (one key per zxid), the latest
// snapshot (header + chunks) and the ZAB epochs. Log appends are batched and synced: a batch
// is on disk before any transaction in it is acknowledged.
import { Level } from "level";
import { ReplicatedState, decodeTxn, encodeTxn, readSnapshot, readSnapshotHeader, writeSnapshot, type DataTree, type PersistBatch, type ReplicaBoot, type SessionTable, type SnapshotMeta, type Txn } from "@keeper/core";
import type { Zxid } from "@keeper/protocol";

const TXN_PREFIX = "t/";
const SNAP_HEADER = "s/header";
const SNAP_CHUNK = "s/chunk/";
const EPOCH_ACCEPTED = "e/accepted";
const EPOCH_CURRENT = "e/current";

/** Keys sort by zxid: 14 hex digits cover every zxid below 2^53. */
export function txnKey(zxid: Zxid): string {
  return TXN_PREFIX + zxid.toString(16).padStart(14, "0");
}

const chunkKey = (i: number) => `${SNAP_CHUNK}${String(i).padStart(8, "0")}`;

function encodeEpoch(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n);
  return b;
}

export class Store {
  private constructor(private readonly db: Level<string, Uint8Array>) {}

  static async open(dir: string): Promise<Store> {
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
    await db.open();
    return new Store(db);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Appends transactions durably, in one synced batch. */
  async append(txns: readonly Txn[]): Promise<void> {
    await this.db.batch(
      txns.map((t) => ({ type: "put" as const, key: txnKey(t.hdr.zxid), value: encodeTxn(t) })),
      { sync: true } as never,
    );
  }

  /** Every logged transaction with zxid > `after`, in zxid order. */
  async *txnsAfter(after: Zxid): AsyncGenerator<Txn> {
    for await (const [, value] of this.db.iterator({ gt: txnKey(after), lt: TXN_PREFIX + "~" })) {
      yield decodeTxn(value);
    }
  }

  async lastLoggedZxid(): Promise<Zxid | undefined> {
    for await (const [, value] of this.db.iterator({ gte: TXN_PREFIX, lt: TXN_PREFIX + "~", reverse: true, limit: 1 })) {
      return decodeTxn(value).hdr.zxid;
    }
    return undefined;
  }

  /**
   * Saves a snapshot of `tree` + `sessions`, then drops log entries older than the newest
   * `retainTxns` at or before the snapshot, which recovery no longer needs.
   */
  async saveSnapshot(tree: DataTree, sessions: SessionTable, retainTxns: number): Promise<SnapshotMeta> {
    const { meta, chunks } = writeSnapshot(tree, sessions);
    await this.writeSnapshotChunks(chunks);
    await this.purgeBefore(meta.zxid, retainTxns);
    return meta;
  }

  private async purgeBefore(snapZxid: Zxid, retainTxns: number): Promise<void> {
    let kept = 0;
    for await (const key of this.db.keys({ lte: txnKey(snapZxid), gte: TXN_PREFIX, reverse: true })) {
      if (kept++ >= retainTxns) {
        await this.db.clear({ gte: TXN_PREFIX, lte: key });
        return;
      }
    }
  }

  /**
   * Makes one batch from the replica durable, in its order: a snapshot from the leader
   * replaces everything; a truncation drops uncommitted entries; then epochs and appends go
   * in one synced write.
   */
  async persist(b: PersistBatch): Promise<void> {
    if (b.snapshot) {
      await this.db.clear({ gte: TXN_PREFIX, lt: TXN_PREFIX + "~" });
      await this.writeSnapshotChunks(b.snapshot.chunks);
    }
    if (b.truncateAfter !== undefined) await this.db.clear({ gt: txnKey(b.truncateAfter), lt: TXN_PREFIX + "~" });
    const ops: Array<{ type: "put"; key: string; value: Uint8Array }> = b.append.map((t) => ({ type: "put", key: txnKey(t.hdr.zxid), value: encodeTxn(t) }));
    if (b.epochs?.accepted !== undefined) ops.push({ type: "put", key: EPOCH_ACCEPTED, value: encodeEpoch(b.epochs.accepted) });
    if (b.epochs?.current !== undefined) ops.push({ type: "put", key: EPOCH_CURRENT, value: encodeEpoch(b.epochs.current) });
    if (ops.length > 0) await this.db.batch(ops, { sync: true } as never);
  }

  private async writeSnapshotChunks(chunks: Uint8Array[]): Promise<void> {
    const old = await this.snapshotMeta();
    const ops: Array<{ type: "put"; key: string; value: Uint8Array } | { type: "del"; key: string }> = [];
    chunks.slice(1).forEach((c, i) => ops.push({ type: "put", key: chunkKey(i), value: c }));
    for (let i = chunks.length - 1; old && i < old.chunks; i++) ops.push({ type: "del", key: chunkKey(i) });
    ops.push({ type: "put", key: SNAP_HEADER, value: chunks[0]! });
    await this.db.batch(ops, { sync: true } as never);
  }

  /** What a replica starts from: the latest snapshot, and every logged transaction after it. */
  async boot(): Promise<ReplicaBoot> {
    const snap = await this.loadSnapshot();
    const state = snap ? new ReplicatedState(snap.tree, snap.sessions) : new ReplicatedState();
    const log: Txn[] = [];
    for await (const t of this.txnsAfter(state.lastZxid)) log.push(t);
    const { accepted, current } = await this.epochs();
    return { state, log, acceptedEpoch: accepted, currentEpoch: current };
  }

  async snapshotMeta(): Promise<SnapshotMeta | undefined> {
    const header = await this.db.get(SNAP_HEADER);
    return header === undefined ? undefined : readSnapshotHeader(header);
  }

  async loadSnapshot(): Promise<ReturnType<typeof readSnapshot> | undefined> {
    const header = await this.db.get(SNAP_HEADER);
    if (header === undefined) return undefined;
    const meta = readSnapshotHeader(header);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < meta.chunks; i++) {
      const c = await this.db.get(chunkKey(i));
      if (c === undefined) throw new Error(`snapshot chunk ${i} of ${meta.chunks} is missing`);
      chunks.push(c);
    }
    return readSnapshot(header, chunks);
  }

  async epochs(): Promise<{ accepted: number; current: number }> {
    const read = async (k: string) => {
      const v = await this.db.get(k);
      return v === undefined ? 0 : new DataView(v.buffer, v.byteOffset, v.byteLength).getFloat64(0);
    };
    return { accepted: await read(EPOCH_ACCEPTED), current: await read(EPOCH_CURRENT) };
  }

  async setEpochs(e: { accepted?: number; current?: number }): Promise<void> {
    await this.persist({ seq: 0, append: [], epochs: e });
  }
}
