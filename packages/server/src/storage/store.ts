// The node's durable state in LevelDB: the transaction log (one key per zxid), the latest
// snapshot (header + chunks) and the ZAB epochs. Log appends are batched and synced: a batch
// is on disk before any transaction in it is acknowledged.
//
// Snapshots: each is written under its own key prefix ("s/<zxid>.<n>/", chunks "c/<i>" then
// the header "h"), chunk by chunk as it is produced; one synced write of "s/current" then
// switches to it, and only after that are the previous snapshot's keys removed. A crash at any
// point leaves the previous snapshot whole (orphaned chunks are cleared at boot). A data dir
// written before this layout (header "s/header", chunks "s/chunk/<i>") still boots.
import { Level } from "level";
import { ReplicatedState, decodeTxn, encodeTxn, readSnapshot, readSnapshotHeader, writeSnapshot, type DataTree, type PersistBatch, type ReplicaBoot, type SessionTable, type SnapshotMeta, type Txn } from "@keeper/core";
import type { Zxid } from "@keeper/protocol";

const TXN_PREFIX = "t/";
const SNAP_PREFIX = "s/";
const SNAP_CURRENT = "s/current";
/** The layout before per-snapshot prefixes: read at boot, removed by the next snapshot. */
const LEGACY_HEADER = "s/header";
const LEGACY_CHUNK = "s/chunk/";
const EPOCH_ACCEPTED = "e/accepted";
const EPOCH_CURRENT = "e/current";
/** The commit point recorded with the last batch: boot applies the log up to it (BootReplay). */
const COMMITTED = "e/committed";

/** Keys sort by zxid: 14 hex digits cover every zxid below 2^53. */
export function txnKey(zxid: Zxid): string {
  return TXN_PREFIX + zxid.toString(16).padStart(14, "0");
}

const chunkKey = (prefix: string, i: number) => `${prefix}c/${String(i).padStart(8, "0")}`;
const headerKey = (prefix: string) => `${prefix}h`;
/** A per-snapshot key prefix: "s/", the zxid in 14 hex digits, ".", a unique suffix, "/". */
const SNAPSHOT_PREFIX = /^s\/[0-9a-f]{14}\.[0-9a-z]+\//;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Where a snapshot's keys live: a prefix, or the legacy layout. */
type SnapshotPlace = { prefix: string } | { legacy: true };

/**
 * One snapshot being stored, chunk by chunk. Nothing is visible until commit(); discard()
 * (or a crash) leaves the current snapshot as it was.
 */
export interface SnapshotSink {
  readonly zxid: Zxid;
  /** Stores the next body chunks (not synced: commit's synced write makes them durable too). */
  write(chunks: readonly Uint8Array[]): Promise<void>;
  /** Makes this the current snapshot unless a newer one is already current; then drops the old one. */
  commit(header: Uint8Array): Promise<SnapshotMeta | undefined>;
  discard(): Promise<void>;
}

function encodeEpoch(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n);
  return b;
}

function decodeFloat(v: Uint8Array): number {
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getFloat64(0);
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

  /** Snapshot commits and installs, one at a time, so an older one never replaces a newer one. */
  private snapshotQueue: Promise<unknown> = Promise.resolve();
  private sinks = 0;

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.snapshotQueue.then(fn, fn);
    this.snapshotQueue = next.catch(() => undefined);
    return next;
  }

  /** Starts storing a snapshot taken at `zxid` (see SnapshotSink). */
  openSnapshot(zxid: Zxid): SnapshotSink {
    // Unique even for two snapshots at one zxid (a local one and a SNAP from the leader).
    const prefix = `${SNAP_PREFIX}${zxid.toString(16).padStart(14, "0")}.${Date.now().toString(36)}${(++this.sinks).toString(36)}/`;
    let chunks = 0;
    return {
      zxid,
      write: async (body) => {
        if (body.length === 0) return;
        await this.db.batch(body.map((value) => ({ type: "put" as const, key: chunkKey(prefix, chunks++), value })));
      },
      commit: (header) =>
        this.serialised(async () => {
          const meta = readSnapshotHeader(header);
          if (meta.chunks !== chunks) throw new Error(`snapshot at ${zxid} has ${chunks} chunks stored, its header says ${meta.chunks}`);
          const current = await this.snapshotMeta();
          if (current && current.zxid > meta.zxid) {
            await this.clearPrefix(prefix);
            return undefined;
          }
          const old = await this.currentPlace();
          await this.db.batch(
            [
              { type: "put", key: headerKey(prefix), value: header },
              { type: "put", key: SNAP_CURRENT, value: utf8.encode(prefix) },
            ],
            { sync: true } as never,
          );
          if (old) await this.clearPlace(old);
          return meta;
        }),
      discard: () => this.clearPrefix(prefix),
    };
  }

  /**
   * Saves a snapshot of `tree` + `sessions` at once, then drops log entries older than the
   * newest `retainTxns` at or before it, which recovery no longer needs.
   */
  async saveSnapshot(tree: DataTree, sessions: SessionTable, retainTxns: number): Promise<SnapshotMeta> {
    const { meta, chunks } = writeSnapshot(tree, sessions);
    const sink = this.openSnapshot(meta.zxid);
    await sink.write(chunks.slice(1));
    await sink.commit(chunks[0]!);
    await this.purgeBefore(meta.zxid, retainTxns);
    return meta;
  }

  /** Drops log entries older than the newest `retainTxns` at or before `snapZxid`. */
  async purgeBefore(snapZxid: Zxid, retainTxns: number): Promise<void> {
    let kept = 0;
    for await (const key of this.db.keys({ lte: txnKey(snapZxid), gte: TXN_PREFIX, reverse: true })) {
      if (kept++ >= retainTxns) {
        await this.db.clear({ gte: TXN_PREFIX, lte: key });
        return;
      }
    }
  }

  private async currentPlace(): Promise<SnapshotPlace | undefined> {
    const current = await this.db.get(SNAP_CURRENT);
    if (current !== undefined) return { prefix: fromUtf8.decode(current) };
    return (await this.db.get(LEGACY_HEADER)) === undefined ? undefined : { legacy: true };
  }

  private async clearPlace(place: SnapshotPlace): Promise<void> {
    if ("prefix" in place) return this.clearPrefix(place.prefix);
    await this.db.clear({ gte: LEGACY_CHUNK, lt: LEGACY_CHUNK + "~" });
    await this.db.del(LEGACY_HEADER);
  }

  private async clearPrefix(prefix: string): Promise<void> {
    await this.db.clear({ gte: prefix, lt: prefix + "~" });
  }

  /** Removes chunks of snapshots that never became current (a crash or a discard mid-way). */
  private async clearOrphans(): Promise<void> {
    const place = await this.currentPlace();
    const keep = place && "prefix" in place ? place.prefix : undefined;
    const orphans = new Set<string>();
    for await (const key of this.db.keys({ gte: SNAP_PREFIX, lt: SNAP_PREFIX + "~" })) {
      // Only per-snapshot prefixes: never "s/current" or the legacy keys.
      const prefix = SNAPSHOT_PREFIX.exec(key)?.[0];
      if (prefix !== undefined && prefix !== keep) orphans.add(prefix);
    }
    for (const prefix of orphans) await this.clearPrefix(prefix);
  }

  /**
   * Makes one batch from the replica durable, in its order: a snapshot from the leader
   * replaces everything; a truncation drops uncommitted entries; then epochs and appends go
   * in one synced write. Returns the bytes of log records appended.
   */
  async persist(b: PersistBatch): Promise<number> {
    if (b.snapshot) {
      // The leader's state is stored aside and switched to in one synced write; only then is
      // the old log dropped. A crash before the switch leaves the old snapshot and log whole;
      // after it, the new snapshot (any old log entries past it are uncommitted history that
      // the next sync truncates, as for any logged entry).
      const [header, ...body] = b.snapshot.chunks;
      const sink = this.openSnapshot(readSnapshotHeader(header!).zxid);
      await sink.write(body);
      await sink.commit(header!);
      await this.db.clear({ gte: TXN_PREFIX, lt: TXN_PREFIX + "~" });
    }
    if (b.truncateAfter !== undefined) await this.db.clear({ gt: txnKey(b.truncateAfter), lt: TXN_PREFIX + "~" });
    const ops: Array<{ type: "put"; key: string; value: Uint8Array }> = b.append.map((t) => ({ type: "put", key: txnKey(t.hdr.zxid), value: encodeTxn(t) }));
    if (b.epochs?.accepted !== undefined) ops.push({ type: "put", key: EPOCH_ACCEPTED, value: encodeEpoch(b.epochs.accepted) });
    if (b.epochs?.current !== undefined) ops.push({ type: "put", key: EPOCH_CURRENT, value: encodeEpoch(b.epochs.current) });
    if (b.committed !== undefined) ops.push({ type: "put", key: COMMITTED, value: encodeEpoch(b.committed) });
    if (ops.length > 0) await this.db.batch(ops, { sync: true } as never);
    let logged = 0;
    for (let i = 0; i < b.append.length; i++) logged += ops[i]!.value.length;
    return logged;
  }

  /** What a replica starts from: the latest snapshot, and every logged transaction after it. */
  async boot(): Promise<ReplicaBoot & { committed: Zxid | undefined }> {
    await this.clearOrphans();
    const snap = await this.loadSnapshot();
    const state = snap ? new ReplicatedState(snap.tree, snap.sessions) : new ReplicatedState();
    const log: Txn[] = [];
    for await (const t of this.txnsAfter(state.lastZxid)) log.push(t);
    const { accepted, current } = await this.epochs();
    const committed = await this.db.get(COMMITTED);
    return { state, log, acceptedEpoch: accepted, currentEpoch: current, committed: committed === undefined ? undefined : (decodeFloat(committed) as Zxid) };
  }

  async snapshotMeta(): Promise<SnapshotMeta | undefined> {
    const place = await this.currentPlace();
    if (!place) return undefined;
    const header = await this.db.get("prefix" in place ? headerKey(place.prefix) : LEGACY_HEADER);
    return header === undefined ? undefined : readSnapshotHeader(header);
  }

  async loadSnapshot(): Promise<ReturnType<typeof readSnapshot> | undefined> {
    const place = await this.currentPlace();
    if (!place) return undefined;
    const header = await this.db.get("prefix" in place ? headerKey(place.prefix) : LEGACY_HEADER);
    if (header === undefined) throw new Error("the current snapshot has no header");
    const meta = readSnapshotHeader(header);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < meta.chunks; i++) {
      const key = "prefix" in place ? chunkKey(place.prefix, i) : `${LEGACY_CHUNK}${String(i).padStart(8, "0")}`;
      const c = await this.db.get(key);
      if (c === undefined) throw new Error(`snapshot chunk ${i} of ${meta.chunks} is missing`);
      chunks.push(c);
    }
    return readSnapshot(header, chunks);
  }

  async epochs(): Promise<{ accepted: number; current: number }> {
    const read = async (k: string) => {
      const v = await this.db.get(k);
      return v === undefined ? 0 : decodeFloat(v);
    };
    return { accepted: await read(EPOCH_ACCEPTED), current: await read(EPOCH_CURRENT) };
  }

  async setEpochs(e: { accepted?: number; current?: number }): Promise<void> {
    await this.persist({ seq: 0, append: [], epochs: e });
  }
}
