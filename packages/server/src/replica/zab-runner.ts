// The imperative shell around the ZAB core: feeds it ticks, peer messages and local requests,
// and carries out its output in order — persist a batch (one synced LevelDB write, so requests
// that arrive together are durable together), send messages, report durability — plus
// periodic snapshots of committed state, written in slices of a few milliseconds between which
// the node goes on serving (SnapshotWriter keeps them exact), at points each node draws at
// random so that an ensemble never snapshots all at once.
import { BootReplay, SnapshotWriter, ZabReplica, type DivergenceEvent, type PersistBatch, type ForwardedRequest, type ReplicaHooks, type ReplicaStatus, type ServerId, type ZabConfig } from "@keeper/core";
import type { SessionId } from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import type { PeerNetwork } from "../peers/peer-network.ts";
import type { Store } from "../storage/store.ts";
import { DISK_RETRY_MS, isDiskFull, type DiskWatch } from "../storage/disk-space.ts";

export interface RunnerOptions {
  zab: ZabConfig;
  /** Snapshot after about this many transactions (a random point in its upper half, as ZooKeeper's snapCount)... */
  snapshotEveryTxns: number;
  /** ...or about this many bytes of log, whichever comes first. */
  snapshotEveryBytes: number;
  logRetainTxns: number;
  /** The log cannot be written: stop rather than acknowledge what is not durable. */
  onFatal: (err: Error) => void;
  /** Raised when a write finds the disk full, cleared when writes succeed again. */
  disk: DiskWatch;
  /** Histograms for the durations the runner sees (in ms); none in tests that do not measure. */
  timings?: RunnerTimings;
}

interface Observer {
  observe(value: number): void;
}

export interface RunnerTimings {
  /** One synced batch write of the log. */
  fsyncMs: Observer;
  /** Leader's stamp to local apply, for transactions applied while serving. */
  propagationMs: Observer;
  snapshotMs: Observer;
}

export class ZabRunner {
  readonly replica: ZabReplica;
  private network: PeerNetwork | undefined;
  private persisting = false;
  private pumpScheduled = false;
  private appliedSinceSnapshot = 0;
  private loggedBytesSinceSnapshot = 0;
  /** This node's next snapshot points, drawn at random (see drawSnapshotPoint). */
  private snapshotAtTxns: number;
  private snapshotAtBytes: number;
  /** The snapshot being written, if any; `done` settles when its loop has ended. */
  private snapshot: { writer: SnapshotWriter; aborted: boolean; done: Promise<void> } | undefined;
  /** A slice of the SNAPs being streamed to followers is scheduled. */
  private streamScheduled = false;
  /** A batch of a follower's committed backlog is scheduled. */
  private applyScheduled = false;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Serving clients: transactions applied now are new, not history replayed by a sync. */
  private serving = false;
  /** A batch that failed on a full disk: written again, first of all, once the disk recovers. */
  private heldBatch: PersistBatch | undefined;
  private recovering = false;
  readonly stats = { batches: 0, txns: 0, largestBatch: 0, snapshots: 0, messagesOut: 0, messagesIn: 0, lastSnapshotMs: 0, longestSnapshotSliceMs: 0, divergences: 0, resyncs: 0 };

  private constructor(private readonly store: Store, private readonly opts: RunnerOptions, private readonly log: Logger, boot: Awaited<ReturnType<Store["boot"]>>, hooks: ReplicaHooks) {
    this.replica = new ZabReplica(opts.zab, boot, {
      applied: (txn, outcome) => {
        this.appliedSinceSnapshot++;
        if (this.serving) opts.timings?.propagationMs.observe(Date.now() - txn.hdr.time);
        hooks.applied(txn, outcome);
      },
      stateReset: (state) => {
        // The tree being written is no longer the node's state (a SNAP from the leader).
        this.abortSnapshot();
        hooks.stateReset(state);
      },
      diverged: (event) => this.diverged(event),
      roleChanged: (s: ReplicaStatus) => {
        this.serving = s.serving;
        this.log.info({ role: s.role, serving: s.serving, leader: s.leader, epoch: s.currentEpoch, lastZxid: s.lastLoggedZxid, ...(s.role === "looking" ? { electionReason: s.electionReason } : {}) }, "role");
        hooks.roleChanged(s);
      },
    });
    this.appliedSinceSnapshot = boot.log.length;
    this.snapshotAtTxns = drawSnapshotPoint(opts.snapshotEveryTxns);
    this.snapshotAtBytes = drawSnapshotPoint(opts.snapshotEveryBytes);
  }

  static async open(store: Store, opts: RunnerOptions, log: Logger, hooks: ReplicaHooks): Promise<ZabRunner> {
    const started = performance.now();
    const boot = await store.boot({ canResync: opts.zab.voters.length > 1 });
    const snapshotZxid = boot.state.lastZxid;
    const loadedMs = Math.round(performance.now() - started);
    // The committed part of the log is applied now, in slices, before the node joins.
    const replay = new BootReplay(boot, boot.committed);
    const replayed = replay.remaining;
    while (replay.step(REPLAY_STEP_TXNS)) await new Promise((resolve) => setImmediate(resolve));
    log.info({ snapshotZxid, logged: boot.log.length, replayed, committed: boot.committed, acceptedEpoch: boot.acceptedEpoch, currentEpoch: boot.currentEpoch, ...(boot.resyncing ? { resyncing: true } : {}), loadedMs, ms: Math.round(performance.now() - started) }, "loaded");
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
    if (this.replica.streaming) this.scheduleStream();
    if (this.replica.applyBehind) this.scheduleApply();
  }

  /** A follower's committed backlog is applied a batch per turn (ZabConfig.applyBatchTxns). */
  private scheduleApply(): void {
    if (this.applyScheduled) return;
    this.applyScheduled = true;
    setImmediate(() => {
      this.applyScheduled = false;
      this.input(() => this.replica.applyMore());
    });
  }

  /**
   * SNAPs to followers go out a slice at a time, between which the node serves as usual. A
   * follower whose link still holds STREAM_BACKLOG_BYTES is skipped (flow control): the leader
   * never buffers a whole state in a socket.
   */
  private scheduleStream(): void {
    if (this.streamScheduled) return;
    this.streamScheduled = true;
    setImmediate(() => {
      this.streamScheduled = false;
      if (this.stopped || !this.replica.streaming) return;
      const targets = this.replica.snapTargets;
      const paused = new Set(targets.filter((id) => (this.network?.backlog(id) ?? 0) > STREAM_BACKLOG_BYTES));
      if (paused.size === targets.length) {
        // Every link still busy with earlier pieces: look again shortly rather than spin.
        this.streamScheduled = true;
        setTimeout(() => {
          this.streamScheduled = false;
          this.input(() => {});
        }, 5);
        return;
      }
      const t0 = performance.now();
      // input() sends the pieces and schedules the next slice while streams remain.
      this.input(() => {
        while (this.replica.streamSnapshots(SNAPSHOT_STEP_NODES, paused) && performance.now() - t0 < SNAPSHOT_SLICE_MS);
      });
    });
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

  /** A local client's session attached on connection `conn` at `address` (see SessionAuth). */
  attach(sessionId: SessionId, conn: number, address: string, certificate?: string): void {
    this.input(() => this.replica.attach(sessionId, conn, address, certificate));
  }

  /** A credential the client sent on `conn`, for the leader to check itself. */
  credential(sessionId: SessionId, conn: number, scheme: string, auth: Uint8Array): void {
    this.input(() => this.replica.credential(sessionId, conn, scheme, auth));
  }

  detach(sessionId: SessionId, conn: number): void {
    this.input(() => this.replica.detach(sessionId, conn));
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
    // In the NOSPACE alarm nothing is written until recoverDisk() has seen a write succeed.
    if (this.pumpScheduled || this.persisting || this.opts.disk.alarmed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.persisting || this.stopped || this.opts.disk.alarmed) return;
    const batch = this.heldBatch ?? this.replica.takePersist();
    this.heldBatch = undefined;
    if (!batch) return this.maybeSnapshot();
    this.persisting = true;
    // Dropping the state waits for a snapshot being written of it (already told to stop).
    if (batch.resync) await this.snapshot?.done;
    let logged: number;
    const started = performance.now();
    try {
      logged = await this.store.persist(batch);
      this.opts.timings?.fsyncMs.observe(performance.now() - started);
    } catch (e) {
      this.persisting = false;
      if (isDiskFull(e)) {
        // Nothing in the batch was acknowledged: hold it, refuse new writes, and try again
        // once the disk takes writes. Followers that acked meanwhile keep the quorum going.
        this.heldBatch = batch;
        this.diskFull(e);
        return;
      }
      this.log.fatal({ err: e }, "persisting the log failed");
      this.stopped = true;
      this.opts.onFatal(e as Error);
      return;
    }
    this.stats.batches++;
    this.stats.txns += batch.append.length;
    this.loggedBytesSinceSnapshot += logged;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.append.length);
    const last = batch.append[batch.append.length - 1];
    this.persisting = false;
    this.input(() => this.replica.persisted(batch.seq, last?.hdr.zxid));
    this.maybeSnapshot();
  }

  /** Raises the NOSPACE alarm and starts probing for free space (once). */
  private diskFull(err: unknown): void {
    this.opts.disk.raise(err);
    this.abortSnapshot();
    if (!this.recovering) {
      this.recovering = true;
      void this.recoverDisk();
    }
  }

  /**
   * Every DISK_RETRY_MS: reopen LevelDB (its write error is sticky) and try one small synced
   * write. When it succeeds the alarm clears and the held batch goes first.
   */
  private async recoverDisk(): Promise<void> {
    while (!this.stopped) {
      await new Promise((r) => setTimeout(r, DISK_RETRY_MS));
      if (this.stopped) break;
      if (this.persisting) continue;
      await this.snapshot?.done;
      try {
        await this.store.reopen();
        await this.store.probeWrite();
      } catch (e) {
        // Reopening on a full disk fails as "Database failed to open" (ENOSPC only in its
        // cause, if at all): any failure here means not yet; /status shows the last error.
        this.opts.disk.raise(e);
        continue;
      }
      this.opts.disk.clear();
      break;
    }
    this.recovering = false;
    this.schedulePump();
  }

  /**
   * A digest disagreement. The core acts on it (stops serving; on a resync drops its state and
   * hands the store a batch that marks and clears it): the shell makes it loud and counts it.
   */
  private diverged(e: DivergenceEvent): void {
    this.stats.divergences++;
    const fields = { zxid: `0x${e.zxid.toString(16)}`, digest: e.mine, otherDigest: e.other, reason: e.reason };
    if (e.action === "suspect") {
      this.log.error(fields, "DIVERGED: this node's digest differs from its leader's; it stops serving until the leader finds which side a quorum is on");
    } else {
      this.stats.resyncs++;
      // A snapshot of the dropped state must not commit after the drop: stop it now (the
      // resync batch waits for it, see pump).
      this.abortSnapshot();
      this.log.error(fields, "DIVERGED: this node's state is not the quorum's; it drops its snapshots and log (keeping its epochs) and takes a leader's state, serving nothing meanwhile");
    }
  }

  /** True while the node cannot write its log (NOSPACE): client writes are refused. */
  get writesRefused(): boolean {
    return this.opts.disk.alarmed;
  }

  private maybeSnapshot(): void {
    // A resyncing node's state is empty or half copied: nothing worth a snapshot.
    if (this.snapshot || this.stopped || this.opts.disk.alarmed || this.replica.resyncing) return;
    if (this.appliedSinceSnapshot < this.snapshotAtTxns && this.loggedBytesSinceSnapshot < this.snapshotAtBytes) return;
    this.appliedSinceSnapshot = 0;
    this.loggedBytesSinceSnapshot = 0;
    this.snapshotAtTxns = drawSnapshotPoint(this.opts.snapshotEveryTxns);
    this.snapshotAtBytes = drawSnapshotPoint(this.opts.snapshotEveryBytes);
    const writer = new SnapshotWriter(this.replica.state.tree, this.replica.state.sessions);
    // With "snapshot saved" it brackets the window in which a crash leaves a half-written one.
    this.log.info({ zxid: writer.zxid }, "snapshot started");
    const run = { writer, aborted: false, done: Promise.resolve() };
    run.done = this.writeSnapshot(run)
      .catch((err) => {
        this.log.error({ err }, "snapshot failed; the log is kept, recovery still works");
        if (isDiskFull(err)) this.diskFull(err);
      })
      .finally(() => {
        if (this.snapshot === run) this.snapshot = undefined;
      });
    this.snapshot = run;
  }

  /** Writes the snapshot in slices of about SNAPSHOT_SLICE_MS, storing chunks as they come. */
  private async writeSnapshot(run: { writer: SnapshotWriter; aborted: boolean }): Promise<void> {
    const started = performance.now();
    const { writer } = run;
    const sink = this.store.openSnapshot(writer.zxid);
    try {
      await this.writeSnapshotInto(run, sink, started);
    } catch (e) {
      // Give the space back now (a full disk most likely), not at the next boot.
      writer.abort();
      await sink.discard().catch(() => {});
      throw e;
    }
  }

  private async writeSnapshotInto(run: { writer: SnapshotWriter; aborted: boolean }, sink: ReturnType<Store["openSnapshot"]>, started: number): Promise<void> {
    const { writer } = run;
    let slices = 0;
    let longest = 0;
    for (;;) {
      const t0 = performance.now();
      let done = false;
      while (!done && performance.now() - t0 < SNAPSHOT_SLICE_MS) done = writer.step(SNAPSHOT_STEP_NODES);
      longest = Math.max(longest, performance.now() - t0);
      slices++;
      if (run.aborted || this.stopped) {
        writer.abort();
        if (!this.stopped) await sink.discard();
        this.log.info({ zxid: writer.zxid }, "snapshot abandoned: the state was replaced");
        return;
      }
      await sink.write(writer.takeChunks());
      if (done) break;
      // Let sockets, timers and applies run between slices.
      await new Promise((r) => setImmediate(r));
    }
    const meta = await sink.commit(writer.result().header);
    if (!meta) return;
    await this.store.purgeLog(this.opts.logRetainTxns);
    const elapsedMs = performance.now() - started;
    this.opts.timings?.snapshotMs.observe(elapsedMs);
    const ms = Math.round(elapsedMs);
    this.stats.snapshots++;
    this.stats.lastSnapshotMs = ms;
    this.stats.longestSnapshotSliceMs = Math.max(this.stats.longestSnapshotSliceMs, Math.round(longest));
    this.log.info({ zxid: meta.zxid, nodes: meta.nodes, chunks: meta.chunks, ms, slices, longestSliceMs: Math.round(longest) }, "snapshot saved");
  }

  private abortSnapshot(): void {
    if (!this.snapshot) return;
    this.snapshot.aborted = true;
    this.snapshot.writer.abort();
  }

  /** Waits until everything handed to the core so far is durable. */
  async drain(): Promise<void> {
    for (let i = 0; i < 400 && (this.persisting || this.pumpScheduled); i++) await new Promise((r) => setTimeout(r, 5));
    // A snapshot in progress stops at its next slice (stop() was called): the store may close after.
    await this.snapshot?.done;
  }

  stop(): void {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
  }
}

/** A snapshot slice takes about this long before the node serves again. */
const SNAPSHOT_SLICE_MS = 5;
/** Transactions replayed at boot between yields: a few milliseconds of applies. */
const REPLAY_STEP_TXNS = 1000;
/** Nodes written between two looks at the clock. */
const SNAPSHOT_STEP_NODES = 256;
/** A SNAP piece waits while this much is still queued for its follower. */
const STREAM_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * A random point in [every/2, every), drawn afresh after each snapshot: as ZooKeeper's snapCount,
 * so that the members of an ensemble, which apply the same transactions, snapshot at
 * different times instead of all pausing together.
 */
export function drawSnapshotPoint(every: number): number {
  const half = Math.floor(every / 2);
  return half + Math.floor(Math.random() * Math.max(1, every - half));
}
