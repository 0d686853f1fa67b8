// The imperative shell around the ZAB core: feeds it ticks, peer messages and local requests,
// and carries out its output in order — persist a batch (one synced LevelDB write, so requests
// that arrive together are durable together), send messages, report durability — plus
// periodic snapshots of committed state.
import { ZabReplica, type ForwardedRequest, type ReplicaHooks, type ReplicaStatus, type ServerId, type ZabConfig } from "@keeper/core";
import type { SessionId } from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import type { PeerNetwork } from "../peers/peer-network.ts";
import type { Store } from "../storage/store.ts";

export interface RunnerOptions {
  zab: ZabConfig;
  snapshotEveryTxns: number;
  logRetainTxns: number;
  /** The log cannot be written: stop rather than acknowledge what is not durable. */
  onFatal: (err: Error) => void;
}

export class ZabRunner {
  readonly replica: ZabReplica;
  private network: PeerNetwork | undefined;
  private persisting = false;
  private pumpScheduled = false;
  private appliedSinceSnapshot = 0;
  private snapshotting = false;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly stats = { batches: 0, txns: 0, largestBatch: 0, snapshots: 0, messagesOut: 0, messagesIn: 0 };

  private constructor(private readonly store: Store, private readonly opts: RunnerOptions, private readonly log: Logger, boot: Awaited<ReturnType<Store["boot"]>>, hooks: ReplicaHooks) {
    this.replica = new ZabReplica(opts.zab, boot, {
      applied: (txn, outcome) => {
        this.appliedSinceSnapshot++;
        hooks.applied(txn, outcome);
      },
      stateReset: (state) => hooks.stateReset(state),
      roleChanged: (s: ReplicaStatus) => {
        this.log.info({ role: s.role, serving: s.serving, leader: s.leader, epoch: s.currentEpoch, lastZxid: s.lastLoggedZxid }, "role");
        hooks.roleChanged(s);
      },
    });
    this.appliedSinceSnapshot = boot.log.length;
  }

  static async open(store: Store, opts: RunnerOptions, log: Logger, hooks: ReplicaHooks): Promise<ZabRunner> {
    const started = performance.now();
    const boot = await store.boot();
    log.info({ snapshotZxid: boot.state.lastZxid, logged: boot.log.length, acceptedEpoch: boot.acceptedEpoch, currentEpoch: boot.currentEpoch, ms: Math.round(performance.now() - started) }, "loaded");
    return new ZabRunner(store, opts, log, boot, hooks);
  }

  /** Starts the replica; `network` is undefined for an ensemble of one. */
  start(network: PeerNetwork | undefined, tickMs: number): void {
    this.network = network;
    this.input(() => this.replica.start());
    this.ticker = setInterval(() => this.input(() => this.replica.tick()), tickMs);
  }

  // ---- inputs: every call into the core goes through input() -------------------------------

  private input(fn: () => void): void {
    if (this.stopped) return;
    this.replica.now = Date.now();
    fn();
    this.flushMessages();
    this.schedulePump();
  }

  peerUp(id: ServerId): void {
    this.input(() => this.replica.peerUp(id));
  }

  peerDown(id: ServerId): void {
    this.input(() => this.replica.peerDown(id));
  }

  peerMessage(from: ServerId, msg: Parameters<ZabReplica["receive"]>[1]): void {
    this.stats.messagesIn++;
    this.input(() => this.replica.receive(from, msg));
  }

  submit(req: ForwardedRequest): boolean {
    let ok = false;
    this.input(() => (ok = this.replica.submit(req)));
    return ok;
  }

  touch(ids: Iterable<SessionId>): void {
    this.input(() => this.replica.touchSessions(ids));
  }

  // ---- outputs -------------------------------------------------------------------------------

  private flushMessages(): void {
    for (const { to, msg } of this.replica.takeMessages()) {
      this.stats.messagesOut++;
      this.network?.send(to, msg);
    }
  }

  /** Runs the persist loop once per event-loop turn, so a burst of requests shares one fsync. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.persisting) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.persisting || this.stopped) return;
    const batch = this.replica.takePersist();
    if (!batch) return this.maybeSnapshot();
    this.persisting = true;
    try {
      await this.store.persist(batch);
    } catch (e) {
      this.log.fatal({ err: e }, "persisting the log failed");
      this.stopped = true;
      this.opts.onFatal(e as Error);
      return;
    }
    this.stats.batches++;
    this.stats.txns += batch.append.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.append.length);
    const last = batch.append[batch.append.length - 1];
    this.persisting = false;
    this.input(() => this.replica.persisted(batch.seq, last?.hdr.zxid));
    this.maybeSnapshot();
  }

  private maybeSnapshot(): void {
    if (this.snapshotting || this.appliedSinceSnapshot < this.opts.snapshotEveryTxns) return;
    this.snapshotting = true;
    this.appliedSinceSnapshot = 0;
    const started = performance.now();
    // saveSnapshot serialises synchronously before its first await: the snapshot is exact.
    this.store
      .saveSnapshot(this.replica.state.tree, this.replica.state.sessions, this.opts.logRetainTxns)
      .then((meta) => {
        this.stats.snapshots++;
        this.log.info({ zxid: meta.zxid, nodes: meta.nodes, ms: Math.round(performance.now() - started) }, "snapshot saved");
      })
      .catch((err) => this.log.error({ err }, "snapshot failed; the log is kept, recovery still works"))
      .finally(() => (this.snapshotting = false));
  }

  /** Waits until everything handed to the core so far is durable. */
  async drain(): Promise<void> {
    for (let i = 0; i < 400 && (this.persisting || this.pumpScheduled); i++) await new Promise((r) => setTimeout(r, 5));
  }

  stop(): void {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
  }
}
