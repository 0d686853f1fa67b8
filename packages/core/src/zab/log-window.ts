// The tail of the transaction log held in memory: every transaction not yet committed, plus a
// window of committed ones so a lagging follower can be sent a DIFF instead of a snapshot. The
// window is bounded in transactions and in bytes (50,000 writes of 1 MiB would otherwise be
// 50 GiB of memory); a follower further behind gets a SNAP.
import { ZXID_ZERO, type Zxid } from "@keeper/protocol";
// Hot checks throw directly: assert(cond, `...`) would build its message on every call.
import { AssertionError, assert } from "../assert.ts";
import type { Txn } from "../txn.ts";
import { txnBytes } from "../txn-size.ts";

export class LogWindow {
  private txns: Txn[] = [];
  /** txnBytes of each entry, and their sum. */
  private sizes: number[] = [];
  private bytes = 0;
  /** The zxid just before the first entry held: history up to it is only in the snapshot/state. */
  private base: Zxid;

  constructor(base: Zxid = ZXID_ZERO, txns: Txn[] = []) {
    this.base = base;
    for (const t of txns) this.append(t);
  }

  get lastZxid(): Zxid {
    return this.txns.length > 0 ? this.txns[this.txns.length - 1]!.hdr.zxid : this.base;
  }

  get baseZxid(): Zxid {
    return this.base;
  }

  get length(): number {
    return this.txns.length;
  }

  append(txn: Txn): void {
    if (!(txn.hdr.zxid > this.lastZxid)) throw new AssertionError(`log append ${txn.hdr.zxid} not after ${this.lastZxid}`);
    this.txns.push(txn);
    const size = txnBytes(txn);
    this.sizes.push(size);
    this.bytes += size;
  }

  /** About how many bytes the entries held take. */
  get byteSize(): number {
    return this.bytes;
  }

  private indexAfter(zxid: Zxid): number {
    let lo = 0;
    let hi = this.txns.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.txns[mid]!.hdr.zxid <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** True if `zxid` is the base or an entry held. */
  has(zxid: Zxid): boolean {
    if (zxid === this.base) return true;
    const i = this.indexAfter(zxid) - 1;
    return i >= 0 && this.txns[i]!.hdr.zxid === zxid;
  }

  /** Entries after `zxid`, or undefined when `zxid` predates the window. */
  after(zxid: Zxid): Txn[] | undefined {
    if (zxid < this.base) return undefined;
    return this.txns.slice(this.indexAfter(zxid));
  }

  /**
   * How many entries follow `zxid` (how far a follower that has `zxid` is behind), or undefined
   * when `zxid` predates the window. A binary search: cheap enough for every metrics scrape.
   */
  countAfter(zxid: Zxid): number | undefined {
    if (zxid < this.base) return undefined;
    return this.txns.length - this.indexAfter(zxid);
  }

  /** Entries in (from, to]. */
  range(from: Zxid, to: Zxid): Txn[] {
    return this.txns.slice(this.indexAfter(from), this.indexAfter(to));
  }

  /** The largest zxid held (or the base) that is <= `zxid`; undefined if below the base. */
  floor(zxid: Zxid): Zxid | undefined {
    if (zxid < this.base) return undefined;
    const i = this.indexAfter(zxid) - 1;
    return i >= 0 ? this.txns[i]!.hdr.zxid : this.base;
  }

  truncateAfter(zxid: Zxid): void {
    assert(zxid >= this.base, `truncate to ${zxid} below the window base ${this.base}`);
    const keep = this.indexAfter(zxid);
    for (let i = keep; i < this.sizes.length; i++) this.bytes -= this.sizes[i]!;
    this.txns.length = keep;
    this.sizes.length = keep;
  }

  /**
   * Forgets the oldest committed entries (at or before `committed`) until at most `keep` of them
   * remain and they take at most `keepBytes`. Uncommitted entries always stay. With `slackTxns`,
   * up to `keep + slackTxns` may stay while within `keepBytes`: dropping from the front moves
   * every entry, so doing it per commit cost a leader 4% of its CPU under load (a 50,000-entry
   * move per batch); in steps of `slackTxns` it is a few moves per transaction.
   */
  compact(committed: Zxid, keep: number, keepBytes = Infinity, slackTxns = 0): void {
    const end = this.indexAfter(committed);
    let drop = Math.max(0, end - keep);
    let committedBytes = this.bytes;
    for (let i = end; i < this.sizes.length; i++) committedBytes -= this.sizes[i]!;
    if (drop <= slackTxns && committedBytes <= keepBytes) return;
    for (let i = 0; i < drop; i++) committedBytes -= this.sizes[i]!;
    while (drop < end && committedBytes > keepBytes) committedBytes -= this.sizes[drop++]!;
    if (drop <= 0) return;
    this.base = this.txns[drop - 1]!.hdr.zxid;
    for (let i = 0; i < drop; i++) this.bytes -= this.sizes[i]!;
    this.txns.splice(0, drop);
    this.sizes.splice(0, drop);
  }

  /** Starts over from a snapshot at `zxid`. */
  reset(zxid: Zxid): void {
    this.txns = [];
    this.sizes = [];
    this.bytes = 0;
    this.base = zxid;
  }
}
