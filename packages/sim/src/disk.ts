// A simulated disk: what survives a crash is exactly what persisted() was called for (a batch
// still in flight at a crash is lost, as unsynced writes are). It behaves as the server's store
// does where the replica can tell: several snapshots kept with the log back to the oldest, a
// record whose checksum fails is never replayed (the log is truncated before it, and the node
// boots resyncing because it may have acknowledged what it lost), a newest snapshot that fails
// falls back to an older one, and a resync mark that outlives a crash. Faults are injected by the
// cluster: flipped bits (a record or snapshot then fails its check when read at the next boot)
// and a full disk (writes fail until space returns).
import { ReplicatedState, readSnapshot, writeSnapshot, type PersistBatch, type ReplicaBoot, type Txn } from "@keeper/core";
import { ZXID_ZERO, type Zxid } from "@keeper/protocol";

/** Snapshots kept, as the server's default. */
const SNAPSHOTS_RETAINED = 3;

interface StoredSnapshot {
  zxid: Zxid;
  chunks: Uint8Array[];
  /** A flipped bit: it fails its check when read. */
  bad: boolean;
}

export interface DiskBoot extends ReplicaBoot {
  committed: Zxid | undefined;
  /** Why it boots resyncing, if it does (for the event log). */
  why?: string;
}

export class SimDisk {
  /** Newest last. */
  snapshots: StoredSnapshot[] = [];
  log: Txn[] = [];
  /** Zxids of log records with a flipped bit. */
  readonly badRecords = new Set<Zxid>();
  /** The log holds every transaction after this zxid. */
  logFrom: Zxid = ZXID_ZERO;
  acceptedEpoch = 0;
  currentEpoch = 0;
  /** The last commit point recorded with a batch (PersistBatch.committed). */
  committed: Zxid | undefined;
  /** Set while a resync is under way (see PersistBatch.resync). */
  resyncMark = false;
  /** Until this simulated time, every write fails (ENOSPC). */
  fullUntil = 0;

  get hasBadRecords(): boolean {
    return this.badRecords.size > 0 || this.snapshots.some((s) => s.bad);
  }

  isFull(now: number): boolean {
    return now < this.fullUntil;
  }

  write(b: PersistBatch): void {
    if (b.resync) {
      this.resyncMark = true;
      this.dropState();
    }
    if (b.snapshot) {
      this.snapshots = [{ zxid: b.snapshot.zxid, chunks: b.snapshot.chunks, bad: false }];
      this.log = [];
      this.badRecords.clear();
      this.logFrom = b.snapshot.zxid;
    }
    if (b.truncateAfter !== undefined) {
      this.log = this.log.filter((t) => t.hdr.zxid <= b.truncateAfter!);
      this.forgetBadRecordsGone();
    }
    if (b.epochs?.accepted !== undefined) this.acceptedEpoch = b.epochs.accepted;
    if (b.epochs?.current !== undefined) this.currentEpoch = b.epochs.current;
    for (const t of b.append) this.badRecords.delete(t.hdr.zxid);
    this.log.push(...b.append);
    if (b.committed !== undefined) this.committed = b.committed;
    if (b.resyncDone) this.resyncMark = false;
  }

  /** Saves a snapshot of committed state; the log goes back to the oldest kept one, plus `keep` entries. */
  compact(state: ReplicatedState, keep: number): void {
    const { chunks } = writeSnapshot(state.tree, state.sessions);
    this.snapshots.push({ zxid: state.lastZxid, chunks, bad: false });
    if (this.snapshots.length > SNAPSHOTS_RETAINED) this.snapshots.shift();
    const oldest = this.snapshots[0]!.zxid;
    const cut = this.log.findIndex((t) => t.hdr.zxid > oldest);
    const end = cut === -1 ? this.log.length : cut;
    const from = Math.max(0, end - keep);
    if (from > 0) {
      this.logFrom = this.log[from - 1]!.hdr.zxid;
      this.log = this.log.slice(from);
      this.forgetBadRecordsGone();
    }
  }

  /** A purged or truncated record is never read again: its flipped bit no longer matters. */
  private forgetBadRecordsGone(): void {
    const held = new Set(this.log.map((t) => t.hdr.zxid));
    for (const z of this.badRecords) if (!held.has(z)) this.badRecords.delete(z);
  }

  /** Flips a bit in one stored record: a log record or a snapshot, picked by `pick` in [0, 1). */
  flip(pick: number): string | undefined {
    const targets = this.log.length + this.snapshots.length;
    if (targets === 0) return undefined;
    const i = Math.floor(pick * targets);
    if (i < this.log.length) {
      // The record now reads back as something else (here: another timestamp, which lands in
      // the Stat of what it creates or changes); its checksum no longer matches.
      const t = this.log[i]!;
      const z = t.hdr.zxid;
      this.log[i] = { ...t, hdr: { ...t.hdr, time: t.hdr.time + 1 } };
      this.badRecords.add(z);
      return `log record ${z.toString(16)}`;
    }
    const s = this.snapshots[i - this.log.length]!;
    s.bad = true;
    return `snapshot ${s.zxid.toString(16)}`;
  }

  /**
   * `skipChecks`: test-only, a store that does not check what it reads (the bug the simulator's
   * checkers must catch): flipped records are replayed as they read back.
   */
  boot(skipChecks = false): DiskBoot {
    const epochs = { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
    if (this.resyncMark) {
      this.dropState();
      return { state: new ReplicatedState(), log: [], ...epochs, committed: undefined, resyncing: true, why: "marked for a resync" };
    }
    // The newest snapshot that passes its checks and that the log reaches forward from.
    const snap = [...this.snapshots].reverse().find((s) => (skipChecks || !s.bad) && s.zxid >= this.logFrom);
    if (!skipChecks) this.snapshots = this.snapshots.filter((s) => !s.bad);
    if (!snap && this.logFrom > 0) {
      // Nothing to rebuild from: start over empty and take a leader's state (as the server does).
      this.resyncMark = true;
      this.dropState();
      return { state: new ReplicatedState(), log: [], ...epochs, committed: undefined, resyncing: true, why: "no usable snapshot" };
    }
    let state = new ReplicatedState();
    if (snap) {
      const r = readSnapshot(snap.chunks[0]!, snap.chunks.slice(1));
      state = new ReplicatedState(r.tree, r.sessions);
    }
    const log = this.log.filter((t) => t.hdr.zxid > state.lastZxid);
    const bad = skipChecks ? -1 : log.findIndex((t) => this.badRecords.has(t.hdr.zxid));
    if (bad === -1) return { state, log, ...epochs, committed: this.committed };
    // Truncated before the bad record: what it acknowledged after it is gone from here.
    const lost = log[bad]!.hdr.zxid;
    this.log = this.log.filter((t) => t.hdr.zxid < lost);
    this.badRecords.clear();
    this.resyncMark = true;
    return { state, log: log.slice(0, bad), ...epochs, committed: this.committed, resyncing: true, why: `log record ${lost.toString(16)} fails its check` };
  }

  private dropState(): void {
    this.snapshots = [];
    this.log = [];
    this.badRecords.clear();
    this.logFrom = ZXID_ZERO;
    this.committed = undefined;
  }
}
