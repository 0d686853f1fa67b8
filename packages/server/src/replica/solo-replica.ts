// An ensemble of one: this node is the leader, its log is the quorum. It keeps the pipeline a
// replicated node has — prep against the pending view, durable group-committed append, apply
// in zxid order — so the ensemble replaces only the "durable" step with a quorum round.
import { PendingView, ReplicatedState, assert, prepCloseSession, prepCreateSession, prepRequest, type PrepOutcome, type TreeOutcome, type Txn, type WriteRequest } from "@keeper/core";
import { epochOf, makeZxid, type SessionId, type Zxid } from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import type { Store } from "../storage/store.ts";

export type CommitListener = (txn: Txn, outcome: TreeOutcome) => void;

export interface ReplicaOptions {
  dataBytesMax: number;
  snapshotEveryTxns: number;
  logRetainTxns: number;
  /** Called when the log cannot be written: the node must stop rather than acknowledge. */
  onFatal: (err: Error) => void;
}

export class SoloReplica {
  readonly view: PendingView;
  private counter = 0;
  private batch: Txn[] = [];
  private flushing = false;
  private txnsSinceSnapshot = 0;
  private snapshotting = false;
  private readonly listeners: CommitListener[] = [];
  /** Transactions appended in one synced batch, for metrics. */
  readonly stats = { batches: 0, txns: 0, largestBatch: 0, snapshots: 0 };

  private constructor(
    readonly state: ReplicatedState,
    readonly epoch: number,
    private readonly store: Store,
    private readonly opts: ReplicaOptions,
    private readonly log: Logger,
  ) {
    this.view = new PendingView(state.tree);
  }

  /** Rebuilds state from the latest snapshot plus the log after it, then opens a new epoch. */
  static async recover(store: Store, opts: ReplicaOptions, log: Logger): Promise<SoloReplica> {
    const started = performance.now();
    const snap = await store.loadSnapshot();
    const state = snap ? new ReplicatedState(snap.tree, snap.sessions) : new ReplicatedState();
    let replayed = 0;
    for await (const txn of store.txnsAfter(state.lastZxid)) {
      state.apply(txn);
      replayed++;
    }
    const { current } = await store.epochs();
    const epoch = Math.max(current, epochOf(state.lastZxid)) + 1;
    await store.setEpochs({ accepted: epoch, current: epoch });
    log.info({ snapshotZxid: snap?.meta.zxid ?? 0, replayed, lastZxid: state.lastZxid, digest: state.tree.digest(), epoch, ms: Math.round(performance.now() - started) }, "recovered");
    const replica = new SoloReplica(state, epoch, store, opts, log);
    replica.txnsSinceSnapshot = replayed;
    return replica;
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  private nextZxid(): Zxid {
    return makeZxid(this.epoch, ++this.counter);
  }

  /** Prepares a client write; a transaction goes to the log, a stateless error comes back at once. */
  submitWrite(sessionId: SessionId, cxid: number, request: WriteRequest, time: number): PrepOutcome {
    const zxid = this.nextZxid();
    const outcome = prepRequest({ view: this.view, zxid, time, sessionId, cxid, dataBytesMax: this.opts.dataBytesMax }, request);
    if (outcome.kind === "txn") this.propose(outcome.txn);
    else this.counter--; // no transaction took this zxid
    return outcome;
  }

  /** Proposes a new session; its id is the zxid returned. `token` comes back as the txn's cxid. */
  submitCreateSession(timeoutMs: number, password: Uint8Array, time: number, token: number): Zxid {
    const txn = prepCreateSession(this.nextZxid(), time, timeoutMs, password);
    txn.hdr.cxid = token;
    this.propose(txn);
    return txn.hdr.zxid;
  }

  submitCloseSession(sessionId: SessionId, cxid: number, time: number): void {
    this.propose(prepCloseSession(this.view, this.nextZxid(), time, sessionId, cxid));
  }

  private propose(txn: Txn): void {
    this.batch.push(txn);
    if (!this.flushing) {
      this.flushing = true;
      // Let the requests that arrived in this turn of the event loop join the batch.
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    while (this.batch.length > 0) {
      const txns = this.batch;
      this.batch = [];
      try {
        await this.store.append(txns);
      } catch (e) {
        this.log.fatal({ err: e }, "transaction log append failed");
        this.opts.onFatal(e as Error);
        return;
      }
      this.stats.batches++;
      this.stats.txns += txns.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, txns.length);
      for (const txn of txns) this.applyCommitted(txn);
      this.maybeSnapshot();
    }
    this.flushing = false;
  }

  private applyCommitted(txn: Txn): void {
    assert(txn.hdr.zxid > this.state.lastZxid, `commit ${txn.hdr.zxid} not after applied ${this.state.lastZxid}`);
    const outcome = this.state.apply(txn);
    this.view.applied(txn.hdr.zxid);
    this.txnsSinceSnapshot++;
    for (const l of this.listeners) l(txn, outcome);
  }

  private maybeSnapshot(): void {
    if (this.snapshotting || this.txnsSinceSnapshot < this.opts.snapshotEveryTxns) return;
    this.snapshotting = true;
    this.txnsSinceSnapshot = 0;
    const started = performance.now();
    // saveSnapshot serialises synchronously before its first await: the snapshot is exact.
    this.store
      .saveSnapshot(this.state.tree, this.state.sessions, this.opts.logRetainTxns)
      .then((meta) => {
        this.stats.snapshots++;
        this.log.info({ zxid: meta.zxid, nodes: meta.nodes, ms: Math.round(performance.now() - started) }, "snapshot saved");
      })
      .catch((err) => this.log.error({ err }, "snapshot failed; the log is kept, recovery still works"))
      .finally(() => {
        this.snapshotting = false;
      });
  }

  /** Resolves once every transaction handed to the replica so far is durable and applied. */
  async drain(): Promise<void> {
    while (this.flushing || this.batch.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
