// Invariants checked after every step of a simulation. A violation throws with the details.
import { encodeTxn, type Txn } from "@keeper/core";
import type { Zxid } from "@keeper/protocol";

export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

export class HistoryChecker {
  /** The one committed order every node must apply: zxid -> position. */
  private readonly order: Zxid[] = [];
  private readonly position = new Map<Zxid, number>();
  private readonly txnBytes = new Map<Zxid, string>();
  private readonly digests = new Map<Zxid, string>();
  private readonly leaders = new Map<number, number>();
  readonly acked = new Map<Zxid, string>();

  /**
   * A node applied `txn` right after `prev` (its previous applied zxid, 0 at the start of state).
   * `digest` undefined: the node's memory was corrupted on purpose (a fault the replicas must
   * find themselves), so its digest is not compared.
   */
  applied(node: number, prev: Zxid, txn: Txn, digest: string | undefined): void {
    const z = txn.hdr.zxid;
    const bytes = Buffer.from(encodeTxn(txn)).toString("base64");
    const known = this.txnBytes.get(z);
    if (known !== undefined && known !== bytes) throw new InvariantViolation(`node ${node} applied a different transaction at zxid ${z.toString(16)}`);
    const pos = this.position.get(z);
    if (pos === undefined) {
      const last = this.order[this.order.length - 1] ?? 0;
      if (prev !== last) throw new InvariantViolation(`node ${node} applied new zxid ${z.toString(16)} after ${prev.toString(16)}, but the committed history ends at ${last.toString(16)}`);
      this.position.set(z, this.order.length);
      this.order.push(z);
      this.txnBytes.set(z, bytes);
    } else {
      const expectedPrev = pos === 0 ? 0 : this.order[pos - 1]!;
      if (prev !== expectedPrev) throw new InvariantViolation(`node ${node} applied ${z.toString(16)} after ${prev.toString(16)}; history has ${expectedPrev.toString(16)} before it`);
    }
    if (digest === undefined) return;
    const d = this.digests.get(z);
    if (d !== undefined && d !== digest) throw new InvariantViolation(`node ${node} has digest ${digest} at ${z.toString(16)}, another node had ${d}`);
    this.digests.set(z, digest);
  }

  /** A node leads epoch `epoch` (serving). */
  leading(node: number, epoch: number): void {
    const other = this.leaders.get(epoch);
    if (other !== undefined && other !== node) throw new InvariantViolation(`two leaders in epoch ${epoch}: ${other} and ${node}`);
    this.leaders.set(epoch, node);
  }

  /** A client was told its write (zxid) succeeded. */
  acknowledged(zxid: Zxid, what: string): void {
    this.acked.set(zxid, what);
  }

  /** Every acknowledged write is in the committed history. */
  checkAcknowledged(): void {
    for (const [z, what] of this.acked) if (!this.position.has(z)) throw new InvariantViolation(`acknowledged write ${what} at ${z.toString(16)} is not in the committed history`);
  }

  /** Some node has applied `z` already. */
  isCommitted(z: Zxid): boolean {
    return this.position.has(z);
  }

  get committedCount(): number {
    return this.order.length;
  }

  lastCommitted(): Zxid {
    return this.order[this.order.length - 1] ?? (0 as Zxid);
  }

  digestAt(z: Zxid): string | undefined {
    return this.digests.get(z);
  }
}
