// The follower's side: report to the chosen leader, accept its epoch, take its sync (SNAP,
// TRUNC, DIFF), ack NEWLEADER once durable, then log proposals, ack them once durable and
// apply commits. Silence from the leader for syncLimit ticks sends it back to LOOKING.
import type { SessionId, Zxid } from "@keeper/protocol";
import { assert } from "../assert.ts";
import { SnapshotLoader, readSnapshot } from "../snapshot.ts";
import { ReplicatedState } from "../state.ts";
import type { Txn } from "../txn.ts";
import { FollowerDigestCheck } from "./digest-check.ts";
import type { ZabReplica } from "./replica.ts";
import type { ForwardedRequest, PeerMessage, ServerId } from "./types.ts";

export class FollowerRole {
  private phase: "discovery" | "sync" | "synced" | "broadcast" = "discovery";
  private epoch: number | undefined;
  private lastHeardTick: number;
  private readonly startedTick: number;
  private ackedZxid: Zxid = 0 as Zxid;
  /** The highest commit point the leader has announced in this attempt. */
  private commitSeen: Zxid = 0 as Zxid;
  private readonly touched = new Set<SessionId>();
  /** This attempt to join; messages of earlier attempts carry another id and are ignored. */
  private readonly syncId: number;
  /** A SNAP arriving in pieces: rebuilt piece by piece, kept to be stored when it ends. */
  private snap: { loader: SnapshotLoader; chunks: Uint8Array[] } | undefined;
  /** The last tick a SNAP piece arrived: a long SNAP is not a stalled sync. */
  private snapProgressTick = 0;
  private readonly digests = new FollowerDigestCheck();
  /**
   * UPTODATE carried the leader's digest at this zxid: serving starts once this replica has
   * applied that far and its digest matched, so a state that diverged (a store that lied at
   * boot) is never served, not even for the moment before the next commit.
   */
  private serveAt: Zxid | undefined;
  /** Since this tick, this replica's digest differs from the leader's: it serves nothing. */
  private suspectSince: number | undefined;

  constructor(private readonly r: ZabReplica, readonly leaderId: ServerId) {
    this.startedTick = r.ticks;
    this.lastHeardTick = r.ticks;
    this.syncId = r.nextSyncId();
  }

  /** Its digest differs from the leader's; the leader's verdict is awaited. */
  get suspect(): boolean {
    return this.suspectSince !== undefined;
  }

  /** Still in discovery: the chosen leader has not yet answered with an epoch. */
  get joining(): boolean {
    return this.phase === "discovery";
  }

  start(): void {
    if (this.r.connected.has(this.leaderId)) this.sendInfo();
  }

  /** What this follower is doing, in words, for /status. */
  activity(): string {
    switch (this.phase) {
      case "discovery":
        return this.r.connected.has(this.leaderId) ? `following ${this.leaderId}: waiting for its epoch` : `following ${this.leaderId}: waiting for a link to it`;
      case "sync":
        return `following ${this.leaderId}: taking its history for epoch ${this.epoch}`;
      case "synced":
        return `following ${this.leaderId}: synced to epoch ${this.epoch}, waiting for the leader to be established`;
      case "broadcast":
        return `following ${this.leaderId} in epoch ${this.epoch}`;
    }
  }

  private lastInfoTick = -1;

  private sendInfo(): void {
    this.lastInfoTick = this.r.ticks;
    this.r.send(this.leaderId, { type: "followerInfo", syncId: this.syncId, acceptedEpoch: this.r.acceptedEpoch, lastZxid: this.r.log.lastZxid, ...(this.r.resyncing ? { resyncing: true } : {}) });
  }

  peerUp(id: ServerId): void {
    if (id === this.leaderId && this.phase === "discovery") this.sendInfo();
  }

  peerDown(id: ServerId): void {
    // The leader's process is gone (its socket closed): look at once, no need to wait out syncLimit.
    if (id === this.leaderId) this.r.lookAgain(`lost the connection to leader ${id}`);
  }

  receive(from: ServerId, msg: PeerMessage): void {
    if (from !== this.leaderId) return;
    this.lastHeardTick = this.r.ticks;
    if ("syncId" in msg && msg.syncId !== this.syncId) return;
    switch (msg.type) {
      case "leaderInfo":
        return this.onLeaderInfo(msg.epoch);
      case "snapChunk": {
        if (this.phase !== "sync") return;
        this.snap ??= { loader: new SnapshotLoader(), chunks: [] };
        this.snap.loader.add(msg.chunk);
        this.snap.chunks.push(msg.chunk);
        this.snapProgressTick = this.r.ticks;
        return;
      }
      case "snap": {
        if (this.phase !== "sync") return;
        const streamed = this.snap;
        this.snap = undefined;
        const header = msg.chunks[0]!;
        // Streamed: the pieces came first and are parsed already; else the whole SNAP is here.
        const restored = streamed ? streamed.loader.finish(header) : readSnapshot(header, msg.chunks.slice(1));
        this.r.installSnapshot(new ReplicatedState(restored.tree, restored.sessions), streamed ? [header, ...streamed.chunks] : msg.chunks);
        return;
      }
      case "trunc":
        if (this.phase === "sync") this.r.truncateAfter(msg.zxid);
        return;
      case "diff":
        if (this.phase === "sync") for (const txn of msg.txns) this.r.append(txn);
        return;
      case "newLeader":
        if (this.phase !== "sync" || msg.epoch !== this.epoch) return;
        assert(this.r.log.lastZxid === msg.zxid, `after sync the log ends at ${this.r.log.lastZxid}, the leader's at ${msg.zxid}`);
        this.r.setCurrentEpoch(msg.epoch);
        this.phase = "synced";
        this.ackedZxid = msg.zxid;
        this.r.sendAfterPersist(this.leaderId, { type: "ack", syncId: this.syncId, epoch: msg.epoch, zxid: msg.zxid });
        return;
      case "upToDate":
        if (this.phase !== "synced" || msg.epoch !== this.epoch) return;
        this.phase = "broadcast";
        // This replica holds the established leader's history, durably (NEWLEADER was acked
        // only once it was): a resyncing node is a voter again.
        this.r.resyncDone();
        // The leader knows nobody yet: register every local connection, on this link, ahead of
        // any write a client sends once this node serves.
        for (const reg of this.r.attachedConnections.registrations()) this.forward(reg);
        if (msg.digest === undefined) {
          this.leaderCommitted(msg.commitZxid);
          this.r.setServing(true);
          return;
        }
        this.serveAt = msg.commitZxid;
        this.expectDigest(msg.commitZxid, msg.digest);
        this.leaderCommitted(msg.commitZxid);
        return;
      case "proposal":
        if ((this.phase !== "synced" && this.phase !== "broadcast") || msg.epoch !== this.epoch) return;
        this.r.append(msg.txn);
        if (this.phase === "broadcast") this.leaderCommitted(this.commitSeen);
        return;
      case "commit":
        if (this.phase !== "broadcast" || msg.epoch !== this.epoch) return;
        // Same zxid, other digest: this replica's state is not the leader's (a bug, bad memory,
        // a corrupt store that passed its checks), or the leader's is not the quorum's.
        if (msg.digest !== undefined) this.expectDigest(msg.zxid, msg.digest);
        this.leaderCommitted(msg.zxid);
        return;
      case "ping":
        if (msg.epoch !== this.epoch) return;
        if (this.phase === "broadcast") {
          if (msg.digest !== undefined) this.expectDigest(msg.commitZxid, msg.digest);
          this.leaderCommitted(msg.commitZxid);
        }
        this.pingLeader(msg.epoch);
        return;
      case "resync":
        if (this.phase !== "broadcast" || msg.epoch !== this.epoch) return;
        return this.r.resync(`leader ${this.leaderId} found a quorum agrees with its digest at 0x${msg.zxid.toString(16)} and this node's differs`, msg.zxid, "the quorum's");
      default:
        return;
    }
  }

  /**
   * The leader says everything up to `zxid` is committed. Commits and heartbeats are
   * cumulative and may overtake the proposal they cover (they are not ordered with it on
   * every transport), so apply what is logged and keep the rest for when it arrives. Safe:
   * after sync this log is a prefix of the leader's, so a logged zxid at or below the
   * leader's commit point is the leader's committed transaction.
   */
  private pingLeader(epoch: number): void {
    const digests = this.digests.takeReports();
    this.r.send(this.leaderId, { type: "ping", epoch, commitZxid: this.r.state.lastZxid, sessions: [...this.touched], ...(digests.length > 0 ? { digests } : {}) });
    this.touched.clear();
  }

  private expectDigest(zxid: Zxid, digest: string): void {
    this.digests.expect(zxid, digest, this.r.state.lastZxid);
    // Already there (nothing left to apply up to it): compare now.
    if (this.r.state.lastZxid === zxid) this.checkDigest(zxid);
  }

  /** Called after each applied transaction (and when a digest arrives for the current zxid). */
  private checkDigest(zxid: Zxid): void {
    const result = this.digests.reached(zxid, () => this.r.state.digest());
    if (!result) return;
    if (result.kind === "mismatch") {
      if (this.suspectSince !== undefined) return;
      this.suspectSince = this.r.ticks;
      this.r.setServing(false);
      this.r.suspect(result.zxid, result.mine, result.leaders);
      // Tell the leader now: it decides which side is alone.
      if (this.epoch !== undefined) this.pingLeader(this.epoch);
      return;
    }
    if (this.serveAt !== undefined && zxid >= this.serveAt && this.suspectSince === undefined) {
      this.serveAt = undefined;
      this.r.setServing(true);
    }
  }

  private leaderCommitted(zxid: Zxid): void {
    if (zxid > this.commitSeen) this.commitSeen = zxid;
    this.applyMore();
  }

  /** Committed and logged here, not yet applied: more than one batch arrived at once. */
  get applyBehind(): boolean {
    return this.phase === "broadcast" && Math.min(this.commitSeen, this.r.log.lastZxid) > this.r.state.lastZxid;
  }

  /** Applies up to a batch of what is committed (all of it when no batch size is set). */
  applyMore(): void {
    if (this.phase !== "broadcast") return;
    this.r.commitUpTo(Math.min(this.commitSeen, this.r.log.lastZxid) as Zxid, this.onApply, this.r.cfg.applyBatchTxns ?? Infinity);
  }

  private readonly onApply = (txn: Txn): void => this.checkDigest(txn.hdr.zxid);

  private onLeaderInfo(epoch: number): void {
    if (this.phase !== "discovery") return;
    if (epoch < this.r.acceptedEpoch) return this.r.lookAgain(`leader ${this.leaderId} offers epoch ${epoch} below accepted ${this.r.acceptedEpoch}`);
    if (epoch > this.r.acceptedEpoch) this.r.setAcceptedEpoch(epoch);
    this.epoch = epoch;
    this.phase = "sync";
    this.r.sendAfterPersist(this.leaderId, { type: "ackEpoch", syncId: this.syncId, epoch, currentEpoch: this.r.currentEpoch, lastZxid: this.r.log.lastZxid });
  }

  /** Local appends became durable: acknowledge them (acks are cumulative). */
  durable(): void {
    if (this.phase !== "synced" && this.phase !== "broadcast") return;
    const zxid = Math.min(this.r.durableZxid, this.r.log.lastZxid) as Zxid;
    if (zxid > this.ackedZxid) {
      this.ackedZxid = zxid;
      this.r.send(this.leaderId, { type: "ack", syncId: this.syncId, epoch: this.epoch!, zxid });
    }
  }

  forward(req: ForwardedRequest): boolean {
    if (this.phase !== "broadcast") return false;
    this.r.send(this.leaderId, { type: "forward", epoch: this.epoch!, req });
    return true;
  }

  touch(ids: Iterable<SessionId>): void {
    for (const id of ids) this.touched.add(id);
  }

  tick(): void {
    // The leader may not have decided yet when our first info arrived: say it again.
    if (this.phase === "discovery" && this.r.connected.has(this.leaderId) && this.r.ticks - this.lastInfoTick >= this.r.cfg.heartbeatTicks) this.sendInfo();
    const limit = this.phase === "broadcast" ? this.r.cfg.syncLimitTicks : this.r.cfg.initLimitTicks;
    if (this.r.ticks - this.lastHeardTick > limit) return this.r.lookAgain(`no word from leader ${this.leaderId} in ${limit} ticks`);
    if (this.phase !== "broadcast" && this.r.ticks - Math.max(this.startedTick, this.snapProgressTick) > this.r.cfg.initLimitTicks * 2) return this.r.lookAgain("sync with the leader did not finish in time");
    // No verdict (the leader cannot find a quorum either way, or predates the tally): this
    // node cannot show it is right, so it takes the established leader's state.
    if (this.suspectSince !== undefined && this.r.ticks - this.suspectSince > SUSPECT_VERDICT_TICKS_FACTOR * this.r.cfg.syncLimitTicks) {
      this.r.resync(`no verdict from leader ${this.leaderId} on the digest disagreement`, this.r.state.lastZxid, "the leader's");
    }
  }
}

/** A suspect follower waits this many syncLimits for the leader's verdict before it resyncs. */
const SUSPECT_VERDICT_TICKS_FACTOR = 2;
