// A simulated disk: what survives a crash is exactly what persisted() was called for.
import { ReplicatedState, readSnapshot, writeSnapshot, type PersistBatch, type ReplicaBoot, type Txn } from "@keeper/core";
import type { Zxid } from "@keeper/protocol";

export class SimDisk {
  snapshot: { zxid: Zxid; chunks: Uint8Array[] } | undefined;
  log: Txn[] = [];
  acceptedEpoch = 0;
  currentEpoch = 0;
  /** The last commit point recorded with a batch (PersistBatch.committed). */
  committed: Zxid | undefined;

  write(b: PersistBatch): void {
    if (b.snapshot) {
      this.snapshot = b.snapshot;
      this.log = [];
    }
    if (b.truncateAfter !== undefined) this.log = this.log.filter((t) => t.hdr.zxid <= b.truncateAfter!);
    if (b.epochs?.accepted !== undefined) this.acceptedEpoch = b.epochs.accepted;
    if (b.epochs?.current !== undefined) this.currentEpoch = b.epochs.current;
    this.log.push(...b.append);
    if (b.committed !== undefined) this.committed = b.committed;
  }

  /** Saves a snapshot of committed state and drops the log it covers, keeping `keep` entries. */
  compact(state: ReplicatedState, keep: number): void {
    const { chunks } = writeSnapshot(state.tree, state.sessions);
    this.snapshot = { zxid: state.lastZxid, chunks };
    const cut = this.log.findIndex((t) => t.hdr.zxid > state.lastZxid);
    const end = cut === -1 ? this.log.length : cut;
    this.log = this.log.slice(Math.max(0, end - keep));
  }

  boot(): ReplicaBoot {
    let state = new ReplicatedState();
    if (this.snapshot) {
      const r = readSnapshot(this.snapshot.chunks[0]!, this.snapshot.chunks.slice(1));
      state = new ReplicatedState(r.tree, r.sessions);
    }
    return { state, log: this.log.filter((t) => t.hdr.zxid > state.lastZxid), acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
  }
}
