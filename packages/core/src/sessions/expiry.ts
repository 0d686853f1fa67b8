// Session expiry by tick buckets, as ZooKeeper's ExpiryQueue: a session touched at time t with
// timeout T lands in the bucket of the first tick boundary at or after t + T. Each tick the
// shell passes the time in and gets back the sessions whose bucket has passed. No clock here.
import type { SessionId } from "@keeper/protocol";

export class SessionExpiry {
  private readonly bucketOf = new Map<SessionId, number>();
  private readonly buckets = new Map<number, Set<SessionId>>();
  private nextBucket: number;

  constructor(private readonly tickMs: number, nowMs: number) {
    this.nextBucket = this.roundUp(nowMs);
  }

  private roundUp(t: number): number {
    return Math.ceil(t / this.tickMs) * this.tickMs;
  }

  /** Records activity: the session now expires `timeoutMs` after `nowMs`. */
  touch(id: SessionId, timeoutMs: number, nowMs: number): void {
    const bucket = this.roundUp(nowMs + timeoutMs);
    const old = this.bucketOf.get(id);
    if (old === bucket) return;
    if (old !== undefined) this.removeFromBucket(id, old);
    this.bucketOf.set(id, bucket);
    let set = this.buckets.get(bucket);
    if (!set) this.buckets.set(bucket, (set = new Set()));
    set.add(id);
  }

  remove(id: SessionId): void {
    const old = this.bucketOf.get(id);
    if (old === undefined) return;
    this.removeFromBucket(id, old);
    this.bucketOf.delete(id);
  }

  has(id: SessionId): boolean {
    return this.bucketOf.has(id);
  }

  /** When the session expires if nothing touches it again, or undefined if untracked. */
  deadline(id: SessionId): number | undefined {
    return this.bucketOf.get(id);
  }

  /** Removes and returns every session whose deadline is at or before `nowMs`. */
  expire(nowMs: number): SessionId[] {
    const out: SessionId[] = [];
    while (this.nextBucket <= nowMs) {
      const set = this.buckets.get(this.nextBucket);
      if (set) {
        for (const id of set) {
          out.push(id);
          this.bucketOf.delete(id);
        }
        this.buckets.delete(this.nextBucket);
      }
      this.nextBucket += this.tickMs;
    }
    return out;
  }

  private removeFromBucket(id: SessionId, bucket: number): void {
    const set = this.buckets.get(bucket);
    set?.delete(id);
    if (set?.size === 0) this.buckets.delete(bucket);
  }
}
