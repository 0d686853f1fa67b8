// The node's durable state in LevelDB: the transaction log (one key per zxid), the retained
// snapshots (header + chunks each) and the ZAB epochs. Log appends are batched and synced: a
// batch is on disk before any transaction in it is acknowledged. Every value is framed with a
// CRC32C (checksum.ts) and checked when read: a node never replays or serves a bad record.
//
// Snapshots: each is written under its own key prefix ("s/<zxid>.<n>/", chunks "c/<i>"), chunk
// by chunk as it is produced; one synced write of its header "h" commits it. The newest
// `snapshotsRetained` committed snapshots are kept, and the log back to the oldest of them, so
// boot can fall back to an older snapshot when the newest fails its checks. "f/log-from" says
// from which zxid on the log is complete: a snapshot older than that cannot be replayed
// forward and is never used. Chunks of a snapshot that never committed are cleared at boot.
import { Level } from "level";
import pino from "pino";
import { ReplicatedState, decodeTxn, encodeTxn, readSnapshotHeader, writeSnapshot, type DataTree, type PersistBatch, type ReplicaBoot, type SessionTable, type SnapshotMeta, type Txn } from "@keeper/core";
import { asZxid, type Zxid } from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import { StorageError, frame, unframe } from "./checksum.ts";
import { SnapshotArea, type SnapshotSink } from "./snapshot-area.ts";
import { upgradeToFramed } from "./upgrade.ts";

export type { SnapshotSink } from "./snapshot-area.ts";
export { CorruptValueError, StorageError } from "./checksum.ts";

const TXN_PREFIX = "t/";
const TXN_END = TXN_PREFIX + "~";
const EPOCH_ACCEPTED = "e/accepted";
const EPOCH_CURRENT = "e/current";
export const LOG_FROM = "f/log-from";
const PROBE = "f/probe";
/**
 * Set (synced) before a node drops a state that diverged, cleared once it holds an established
 * leader's history again: a boot that finds it drops whatever is left and starts from nothing.
 */
const RESYNC = "f/resync";
export const DEFAULT_SNAPSHOTS_RETAINED = 3;
/** The commit point recorded with the last batch: boot applies the log up to it (BootReplay). */
const COMMITTED = "e/committed";

/** Keys sort by zxid: 14 hex digits cover every zxid below 2^53. */
export function txnKey(zxid: Zxid): string {
  return TXN_PREFIX + zxid.toString(16).padStart(14, "0");
}
const zxidOfTxnKey = (key: string): Zxid => asZxid(parseInt(key.slice(TXN_PREFIX.length), 16));

export function encodeZxidValue(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n);
  return b;
}
const decodeNumber = (v: Uint8Array): number => new DataView(v.buffer, v.byteOffset, v.byteLength).getFloat64(0);


export interface StoreOptions {
  /** Committed snapshots kept (the newest first); boot falls back through them. */
  snapshotsRetained?: number;
  log?: Logger;
}

export class Store {
  private readonly snapshots: SnapshotArea;

  private constructor(private readonly db: Level<string, Uint8Array>, private readonly log: Logger, snapshotsRetained: number) {
    this.snapshots = new SnapshotArea(db, log, snapshotsRetained);
  }

  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    const log = opts.log ?? pino({ enabled: false });
    const retained = opts.snapshotsRetained ?? DEFAULT_SNAPSHOTS_RETAINED;
    if (!Number.isInteger(retained) || retained < 1) throw new StorageError(`snapshotsRetained must be a whole number >= 1, not ${retained}`);
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
    await db.open();
    try {
      await upgradeToFramed(db, log);
    } catch (e) {
      await db.close();
      throw e;
    }
    return new Store(db, log, retained);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /**
   * Closes and opens the database again: after a write fails (a full disk), LevelDB may refuse
   * every later write (its background error is sticky) until it is reopened.
   */
  async reopen(): Promise<void> {
    await this.db.close();
    await this.db.open();
  }

  /** One small synced write: it succeeds once the disk takes writes again. */
  async probeWrite(): Promise<void> {
    await this.db.batch([{ type: "put", key: PROBE, value: frame(encodeZxidValue(Date.now())) }], { sync: true } as never);
  }

  private async getChecked(key: string): Promise<Uint8Array | undefined> {
    const v = await this.db.get(key);
    return v === undefined ? undefined : unframe(key, v);
  }

  /** Appends transactions durably, in one synced batch. */
  async append(txns: readonly Txn[]): Promise<void> {
    await this.persist({ seq: 0, append: txns as Txn[] });
  }

  /** Every logged transaction with zxid > `after`, in zxid order; CorruptValueError at a bad one. */
  async *txnsAfter(after: Zxid): AsyncGenerator<Txn> {
    for await (const [key, value] of this.db.iterator({ gt: txnKey(after), lt: TXN_END })) yield decodeRecord(key, value);
  }

  async lastLoggedZxid(): Promise<Zxid | undefined> {
    for await (const [key, value] of this.db.iterator({ gte: TXN_PREFIX, lt: TXN_END, reverse: true, limit: 1 })) return decodeRecord(key, value).hdr.zxid;
    return undefined;
  }

  /** The log holds every transaction after this zxid (0: from the start). */
  async logFrom(): Promise<Zxid> {
    const v = await this.getChecked(LOG_FROM);
    return asZxid(v === undefined ? 0 : decodeNumber(v));
  }

  /** Starts storing a snapshot taken at `zxid` (see SnapshotSink). */
  openSnapshot(zxid: Zxid): SnapshotSink {
    return this.snapshots.open(zxid);
  }

  /** Saves a snapshot of `tree` + `sessions` at once, then purges the log it makes unneeded. */
  async saveSnapshot(tree: DataTree, sessions: SessionTable, retainTxns: number): Promise<SnapshotMeta> {
    const { meta, chunks } = writeSnapshot(tree, sessions);
    const sink = this.openSnapshot(meta.zxid);
    await sink.write(chunks.slice(1));
    await sink.commit(chunks[0]!);
    await this.purgeLog(retainTxns);
    return meta;
  }

  /**
   * Drops log entries older than the newest `retainTxns` at or before the oldest retained
   * snapshot: the log must reach back to every snapshot boot may fall back to. "f/log-from" is
   * raised (synced) before anything goes, so a crash in between only forgoes a fallback.
   */
  async purgeLog(retainTxns: number): Promise<void> {
    const oldest = await this.snapshots.oldestZxid();
    if (oldest === undefined) return;
    let kept = 0;
    for await (const key of this.db.keys({ lte: txnKey(oldest), gte: TXN_PREFIX, reverse: true })) {
      if (kept++ >= retainTxns) {
        await this.db.batch([{ type: "put", key: LOG_FROM, value: frame(encodeZxidValue(zxidOfTxnKey(key))) }], { sync: true } as never);
        await this.db.clear({ gte: TXN_PREFIX, lte: key });
        return;
      }
    }
  }

  /**
   * Makes one batch from the replica durable, in its order: a snapshot from the leader
   * replaces everything; a truncation drops uncommitted entries; then epochs and appends go
   * in one synced write. Returns the bytes of log records appended.
   */
  async persist(b: PersistBatch): Promise<number> {
    if (b.resync) {
      await this.markForResync();
      await this.dropState();
    }
    if (b.snapshot) {
      // Stored aside and switched to in one synced write; only then are the log and the other
      // snapshots (of another history) dropped. A crash before the switch leaves the old state
      // whole; after it, the new snapshot (old log entries past it are uncommitted history that
      // the next sync truncates, as for any logged entry).
      const [header, ...body] = b.snapshot.chunks;
      const zxid = readSnapshotHeader(header!).zxid;
      const sink = this.openSnapshot(zxid);
      try {
        await sink.write(body);
      } catch (e) {
        // A full disk: give back what was written (the whole batch is tried again later).
        await sink.discard().catch(() => {});
        throw e;
      }
      await sink.commit(header!, async () => {
        await this.db.batch([{ type: "put", key: LOG_FROM, value: frame(encodeZxidValue(zxid)) }], { sync: true } as never);
        await this.db.clear({ gte: TXN_PREFIX, lt: TXN_END });
      });
    }
    if (b.truncateAfter !== undefined) await this.db.clear({ gt: txnKey(b.truncateAfter), lt: TXN_END });
    // A chained batch, not db.batch([...]): abstract-level's array batch clones and validates
    // every operation in JavaScript, 5x the CPU per record (13 against 2.3 us, .scratch bench)
    // and 10-20% of a follower's busy time under a write load.
    const batch = this.db.batch();
    let logged = 0;
    for (const t of b.append) {
      const value = frame(encodeTxn(t));
      logged += value.length;
      batch.put(txnKey(t.hdr.zxid), value);
    }
    if (b.epochs?.accepted !== undefined) batch.put(EPOCH_ACCEPTED, frame(encodeZxidValue(b.epochs.accepted)));
    if (b.epochs?.current !== undefined) batch.put(EPOCH_CURRENT, frame(encodeZxidValue(b.epochs.current)));
    if (b.committed !== undefined) batch.put(COMMITTED, frame(encodeZxidValue(b.committed)));
    if (batch.length > 0) await batch.write({ sync: true } as never);
    else await batch.close();
    // Last: only now is everything the resync brought durable.
    if (b.resyncDone) await this.db.batch([{ type: "del", key: RESYNC }], { sync: true } as never);
    return logged;
  }

  /**
   * What a replica starts from: the newest snapshot that passes its checks (older ones are
   * tried in turn), and every logged transaction after it up to the first that fails its
   * check, where the log is truncated. The node then syncs the rest from the leader. With it,
   * the commit point recorded with the last batch (BootReplay applies the log up to it, as
   * far as the log goes).
   */
  async boot(opts: { canResync?: boolean } = {}): Promise<ReplicaBoot & { committed: Zxid | undefined }> {
    // With peers, a node that lost data it may have acknowledged boots resyncing (it does not
    // vote until a leader has synced it); alone, there is nobody to resync from.
    const canResync = opts.canResync ?? true;
    if ((await this.getChecked(RESYNC)) !== undefined) {
      this.log.error("this data dir is marked for a resync (its state diverged, or it lost log records, and the copy from a leader did not finish): its snapshots and log are dropped, the node takes a leader's state");
      return this.bootEmptyResyncing();
    }
    await this.snapshots.clearOrphans();
    const from = await this.logFrom();
    const snap = await this.snapshots.loadNewestValid(from);
    if (!snap && from > 0 && canResync) {
      this.log.error({ logFrom: `0x${from.toString(16)}` }, "no snapshot in this data dir passes its checks and the log does not reach back to zxid 0: the node drops what is left and takes a leader's state, without voting until it has");
      await this.markForResync();
      return this.bootEmptyResyncing();
    }
    if (!snap && from > 0) {
      throw new StorageError(
        `no snapshot in this data dir passes its checks, and the log starts after zxid 0x${from.toString(16)}: ` +
          "the state cannot be rebuilt here. Move the data dir aside and start the node with an empty one; it copies the state from the leader (SNAP).",
      );
    }
    const state = snap ? new ReplicatedState(snap.tree, snap.sessions) : new ReplicatedState();
    const log: Txn[] = [];
    let truncated = false;
    for await (const [key, value] of this.db.iterator({ gt: txnKey(state.lastZxid), lt: TXN_END })) {
      try {
        log.push(decodeRecord(key, value));
      } catch (err) {
        const last = log[log.length - 1]?.hdr.zxid ?? state.lastZxid;
        this.log.error({ err, key, truncatedAfter: last }, "log record fails its check: the log is truncated before it; the leader resends the rest");
        if (canResync) {
          // It may have acknowledged what is gone: marked (synced, before the truncation) so
          // that it does not vote until a leader has synced it, even across another crash.
          this.log.error("this node may have acknowledged the records it lost: it does not vote until a leader has synced it");
          await this.markForResync();
          truncated = true;
        }
        await this.db.clear({ gte: key, lt: TXN_END });
        // clear() is not synced: a synced write after it makes the truncation durable.
        await this.db.batch([{ type: "put", key: LOG_FROM, value: frame(encodeZxidValue(from)) }], { sync: true } as never);
        break;
      }
    }
    const { accepted, current } = await this.epochs();
    const committed = await this.getChecked(COMMITTED);
    return { state, log, acceptedEpoch: accepted, currentEpoch: current, committed: committed === undefined ? undefined : asZxid(decodeNumber(committed)), ...(truncated ? { resyncing: true } : {}) };
  }

  /** Drops what is left (keeping the epochs and the resync mark): the node takes a leader's state. */
  private async bootEmptyResyncing(): Promise<ReplicaBoot & { committed: undefined }> {
    await this.dropState();
    const { accepted, current } = await this.epochs();
    return { state: new ReplicatedState(), log: [], acceptedEpoch: accepted, currentEpoch: current, committed: undefined, resyncing: true };
  }

  /**
   * Marks this data dir for a full resync: this node's state was found to differ from the
   * quorum's (run-time digest check), and its own snapshots and log would rebuild the same.
   */
  async markForResync(): Promise<void> {
    await this.db.batch([{ type: "put", key: RESYNC, value: frame(encodeZxidValue(Date.now())) }], { sync: true } as never);
  }

  /** True while the data dir is marked for a resync (see markForResync). */
  async resyncMarked(): Promise<boolean> {
    return (await this.getChecked(RESYNC)) !== undefined;
  }

  /**
   * Drops snapshots, log and commit point. The epochs stay (they are promises made to peers),
   * and so does the resync mark: the node holds nothing usable until a leader's sync is durable.
   */
  private async dropState(): Promise<void> {
    await this.db.clear({ gte: "s/", lt: "s/~" });
    await this.db.clear({ gte: TXN_PREFIX, lt: TXN_END });
    // clear() is not synced: this synced write makes the drop durable with it.
    await this.db.batch(
      [
        { type: "del", key: COMMITTED },
        { type: "put", key: LOG_FROM, value: frame(encodeZxidValue(0)) },
      ],
      { sync: true } as never,
    );
  }

  async snapshotMeta(): Promise<SnapshotMeta | undefined> {
    return this.snapshots.newestMeta();
  }

  /** The newest snapshot that passes its checks. */
  async loadSnapshot(): Promise<Awaited<ReturnType<SnapshotArea["loadNewestValid"]>>> {
    return this.snapshots.loadNewestValid(await this.logFrom(), false);
  }

  async epochs(): Promise<{ accepted: number; current: number }> {
    const read = async (k: string) => {
      const v = await this.getChecked(k);
      return v === undefined ? 0 : decodeNumber(v);
    };
    return { accepted: await read(EPOCH_ACCEPTED), current: await read(EPOCH_CURRENT) };
  }

  async setEpochs(e: { accepted?: number; current?: number }): Promise<void> {
    await this.persist({ seq: 0, append: [], epochs: e });
  }
}

/** A log record, checked: its frame, its encoding, and that it is the zxid its key says. */
function decodeRecord(key: string, value: Uint8Array): Txn {
  const txn = decodeTxn(unframe(key, value));
  if (txnKey(txn.hdr.zxid) !== key) throw new Error(`log record under ${key} holds zxid ${txn.hdr.zxid.toString(16)}`);
  return txn;
}
