// Before a restarted replica joins, the committed part of its log is applied to the state it
// loaded, a slice at a time (the shell yields between slices). Committed transactions are in
// every future leader's history, so applying them early is what the replica would do anyway;
// the rest stays logged and unapplied until a leader decides it. Without this a new leader
// applied its whole logged history in one turn when established: seconds at a million znodes,
// long enough for its followers to give up on it.
import type { Zxid } from "@keeper/protocol";
import type { Txn } from "../txn.ts";
import type { ReplicaBoot } from "./replica.ts";

export class BootReplay {
  private next: number;
  private readonly end: number;

  /** `committed`: the commit point the node recorded before it stopped (PersistBatch.committed). */
  constructor(private readonly boot: ReplicaBoot, committed: Zxid | undefined) {
    boot.logBase ??= boot.state.lastZxid;
    const log = boot.log;
    this.next = firstAfter(log, boot.state.lastZxid);
    this.end = committed === undefined ? this.next : Math.max(this.next, firstAfter(log, committed));
  }

  /** Transactions still to apply. */
  get remaining(): number {
    return this.end - this.next;
  }

  /** Applies up to `maxTxns` more; `onApplied` sees each (the simulator checks them). True while some remain. */
  step(maxTxns: number, onApplied?: (txn: Txn) => void): boolean {
    const stop = Math.min(this.end, this.next + maxTxns);
    for (; this.next < stop; this.next++) {
      const txn = this.boot.log[this.next]!;
      this.boot.state.apply(txn);
      onApplied?.(txn);
    }
    return this.next < this.end;
  }
}

/** Index of the first entry with a zxid above `zxid` (the log is in zxid order). */
function firstAfter(log: readonly Txn[], zxid: Zxid): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.hdr.zxid <= zxid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
