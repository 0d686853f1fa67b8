// The leader's side of discovery, synchronisation and broadcast. Discovery: collect a quorum
// of follower infos and propose an epoch above every accepted one. Sync: once a quorum has
// acked the epoch, bring each follower level (DIFF / TRUNC / SNAP) and send NEWLEADER; when a
// SNAP is needed it is streamed in pieces between applies (streamSnapshots), of the state at
// the zxid where it started, and the DIFF from that zxid follows it. When a
// quorum acks it, the leader's whole log is committed and broadcast begins. Commit points come
// from cumulative acks: the zxid a quorum (leader included) has made durable.
import { Code, asSessionId, epochOf, makeZxid, ownerKind, type SessionId, type Zxid } from "@keeper/protocol";
import { assert } from "../assert.ts";
import { PendingView } from "../requests/pending-view.ts";
import { prepCloseSession, prepCreateSession, prepRequest } from "../requests/prep.ts";
import { SessionAuth } from "../sessions/session-auth.ts";
import type { Registration } from "../sessions/attached-connections.ts";
import { SessionExpiry } from "../sessions/expiry.ts";
import { SnapshotWriter } from "../snapshot.ts";
import type { Txn } from "../txn.ts";
import { txnBytes } from "../txn-size.ts";
import { LeaderDigestTally } from "./digest-check.ts";
import { isQuorum, quorumValue } from "./quorum.ts";
import type { ZabReplica } from "./replica.ts";
import type { ForwardedRequest, PeerMessage, ServerId } from "./types.ts";

/** "snapping": being sent a SNAP in pieces; the rest of its sync follows when the SNAP ends. */
type LearnerPhase = "info" | "epochAcked" | "snapping" | "synced" | "active";

/** What metrics show of one learner (see LeaderRole.learnerStates). */
export interface LearnerState {
  id: ServerId;
  phase: LearnerPhase;
  /** Synced and acknowledging proposals: counts towards the commit quorum. */
  synced: boolean;
  /**
   * For a synced learner, logged transactions it has not acknowledged; when its last ack
   * predates the in-memory log window this is the window's length, a lower bound, and
   * `lagBeyondWindow` says so. Undefined while it syncs.
   */
  lagTxns: number | undefined;
  lagBeyondWindow: boolean;
}

interface Learner {
  phase: LearnerPhase;
  syncId: number;
  acceptedEpoch: number;
  lastZxid: Zxid;
  currentEpoch: number;
  ackedZxid: Zxid;
  lastHeardTick: number;
  /** It dropped a diverged state: it never counts towards discovery or establishing (see ZabReplica.resync). */
  resyncing: boolean;
}

/** Transactions and (about) bytes per DIFF message, so one message stays a small peer frame. */
const DIFF_BATCH_TXNS = 500;
const DIFF_BATCH_BYTES = 1024 * 1024;
/** Bytes per piece of a streamed SNAP: small peer frames, and little to parse per message. */
export const SNAP_CHUNK_BYTES = 512 * 1024;
/** The reaper looks for empty containers and expired TTL nodes this often. */
const REAP_EVERY_TICKS = 10;
/** At most this many reaps are proposed per pass, so a huge backlog cannot flood the log. */
const REAPS_PER_PASS_MAX = 100;

export class LeaderRole {
  private phase: "discovery" | "sync" | "broadcast" = "discovery";
  private newEpoch: number | undefined;
  private readonly learners = new Map<ServerId, Learner>();
  private startedTick: number;
  /** The leader's last zxid when its epoch was established: the history it brings. */
  private historyZxid: Zxid = 0 as Zxid;
  private counter = 0;
  private view: PendingView | undefined;
  private expiry: SessionExpiry | undefined;
  private lastHeartbeat = 0;
  private committed: Zxid;
  /** Sessions with a closeSession proposed: their later writes are refused. */
  private readonly closing = new Set<SessionId>();
  /** SNAPs being streamed, by learner. */
  private readonly streams = new Map<ServerId, SnapshotWriter>();
  /** The last tick a streamed SNAP made progress: a long SNAP is not a stalled sync. */
  private syncProgressTick = 0;
  /**
   * Who each attached session is, as this leader verified it. A new leader starts empty: the
   * followers register their connections again before they forward a write (FollowerRole).
   */
  private readonly auth: SessionAuth;
  private readonly digests: LeaderDigestTally;

  constructor(private readonly r: ZabReplica) {
    this.startedTick = r.ticks;
    this.committed = r.state.lastZxid;
    this.auth = new SessionAuth(r.cfg.credentials);
    this.digests = new LeaderDigestTally(r.cfg.self, r.cfg.voters);
  }

  private get self(): ServerId {
    return this.r.cfg.self;
  }

  start(): void {
    this.checkDiscovery();
  }

  /** What this leader is doing, in words, for /status (an operator asks why it does not serve). */
  activity(): string {
    const quorum = Math.floor(this.r.cfg.voters.length / 2) + 1;
    const count = (ok: (l: Learner) => boolean): number => 1 + [...this.learners.values()].filter(ok).length;
    if (this.phase === "broadcast") return `leading epoch ${this.newEpoch}: established, ${count((l) => l.phase === "active") - 1} follower(s) in sync`;
    if (this.phase === "sync") return `leading: syncing followers to epoch ${this.newEpoch}, ${count((l) => l.phase === "active")} of ${quorum} needed acknowledged NEWLEADER`;
    if (this.newEpoch === undefined) return `leading: waiting for followers, ${count(() => true)} of ${quorum} needed have reported`;
    return `leading: proposed epoch ${this.newEpoch}, ${count((l) => l.phase !== "info")} of ${quorum} needed acknowledged it`;
  }

  /**
   * Each learner this leader has heard from, for metrics: its phase, and for an active one how
   * many logged transactions it has not yet acknowledged.
   */
  learnerStates(): LearnerState[] {
    return [...this.learners].map(([id, l]) => {
      if (l.phase !== "active") return { id, phase: l.phase, synced: false, lagTxns: undefined, lagBeyondWindow: false };
      const lag = this.r.log.countAfter(l.ackedZxid);
      return { id, phase: l.phase, synced: true, lagTxns: lag ?? this.r.log.length, lagBeyondWindow: lag === undefined };
    });
  }

  // ---- discovery ----------------------------------------------------------------------

  /** Who counts towards discovery: a resyncing learner may have forgotten what it acked. */
  private infos(): ServerId[] {
    return [this.self, ...[...this.learners].filter(([, l]) => !l.resyncing).map(([id]) => id)];
  }

  private checkDiscovery(): void {
    if (this.newEpoch !== undefined || !isQuorum(this.infos(), this.r.cfg.voters)) return;
    let maxAccepted = this.r.acceptedEpoch;
    for (const l of this.learners.values()) maxAccepted = Math.max(maxAccepted, l.acceptedEpoch);
    this.newEpoch = maxAccepted + 1;
    this.r.setAcceptedEpoch(this.newEpoch);
    for (const [id, l] of this.learners) if (l.phase === "info") this.r.sendAfterPersist(id, { type: "leaderInfo", syncId: l.syncId, epoch: this.newEpoch });
    this.checkEpochAcks();
  }

  private checkEpochAcks(): void {
    if (this.phase !== "discovery" || this.newEpoch === undefined) return;
    const acked = [...this.learners].filter(([, l]) => l.phase !== "info").map(([id]) => id);
    const counted = acked.filter((id) => !this.learners.get(id)!.resyncing);
    if (!isQuorum([this.self, ...counted], this.r.cfg.voters)) return;
    this.phase = "sync";
    this.historyZxid = this.r.log.lastZxid;
    for (const id of acked) this.syncLearner(id);
    this.checkEstablished();
  }

  // ---- sync ---------------------------------------------------------------------------

  /** Brings one follower level with the leader's history and sends NEWLEADER. */
  private syncLearner(id: ServerId): void {
    const l = this.learners.get(id)!;
    const log = this.r.log;
    const peerZxid = l.lastZxid;
    const syncId = l.syncId;
    let from: Zxid;
    if (peerZxid === log.lastZxid) {
      from = peerZxid;
    } else if (peerZxid > log.lastZxid) {
      // It logged proposals this leader never saw: none were committed, drop them.
      this.r.send(id, { type: "trunc", syncId, zxid: log.lastZxid });
      from = log.lastZxid;
    } else if (log.has(peerZxid)) {
      from = peerZxid;
    } else if (peerZxid >= log.baseZxid) {
      // It diverges after the newest zxid both hold: truncate to it, then send the rest.
      from = log.floor(peerZxid)!;
      this.r.send(id, { type: "trunc", syncId, zxid: from });
    } else {
      return this.startSnap(id, l);
    }
    this.sendHistory(id, l, from);
  }

  /** The log after `from` as DIFFs, then NEWLEADER: the learner then takes proposals. */
  private sendHistory(id: ServerId, l: Learner, from: Zxid): void {
    const log = this.r.log;
    let batch: Txn[] = [];
    let bytes = 0;
    for (const txn of log.after(from)!) {
      const size = txnBytes(txn);
      if (batch.length > 0 && (batch.length >= DIFF_BATCH_TXNS || bytes + size > DIFF_BATCH_BYTES)) {
        this.r.send(id, { type: "diff", syncId: l.syncId, txns: batch });
        batch = [];
        bytes = 0;
      }
      batch.push(txn);
      bytes += size;
    }
    if (batch.length > 0) this.r.send(id, { type: "diff", syncId: l.syncId, txns: batch });
    this.r.send(id, { type: "newLeader", syncId: l.syncId, epoch: this.newEpoch!, zxid: log.lastZxid });
    l.phase = "synced";
  }

  /** Starts streaming the committed state to `id` (see streamSnapshots). */
  private startSnap(id: ServerId, l: Learner): void {
    this.stopSnap(id);
    this.streams.set(id, new SnapshotWriter(this.r.state.tree, this.r.state.sessions, this.r.cfg.snapChunkBytes ?? SNAP_CHUNK_BYTES));
    l.phase = "snapping";
    this.syncProgressTick = this.r.ticks;
  }

  private stopSnap(id: ServerId): void {
    this.streams.get(id)?.abort();
    this.streams.delete(id);
  }

  get streaming(): boolean {
    return this.streams.size > 0;
  }

  /** The learners being sent a SNAP. */
  get snapTargets(): ServerId[] {
    return [...this.streams.keys()];
  }

  /**
   * One slice of every SNAP being streamed: up to `maxNodes` nodes each, sent as they fill
   * pieces. A finished one is followed by its header ("snap"), then the log after its zxid and
   * NEWLEADER, exactly as a SNAP sent at once. True while streams remain.
   */
  streamSnapshots(maxNodes: number, paused: ReadonlySet<ServerId>): boolean {
    for (const [id, writer] of this.streams) {
      const l = this.learners.get(id);
      if (!l || l.phase !== "snapping") {
        this.stopSnap(id);
        continue;
      }
      if (paused.has(id)) continue;
      const done = writer.step(maxNodes);
      for (const chunk of writer.takeChunks()) this.r.send(id, { type: "snapChunk", syncId: l.syncId, chunk });
      // The leader is the one talking during a SNAP: a learner busy receiving one is not silent.
      l.lastHeardTick = this.r.ticks;
      this.syncProgressTick = this.r.ticks;
      if (!done) continue;
      this.streams.delete(id);
      this.r.send(id, { type: "snap", syncId: l.syncId, zxid: writer.zxid, chunks: [writer.result().header] });
      // So many transactions committed meanwhile that the log no longer reaches back: again.
      if (this.r.log.after(writer.zxid) === undefined) this.startSnap(id, l);
      else this.sendHistory(id, l, writer.zxid);
    }
    return this.streams.size > 0;
  }

  /** The role ends: no SNAP goes on observing the tree. */
  stop(): void {
    for (const id of [...this.streams.keys()]) this.stopSnap(id);
  }

  /** Forgets a learner (gone, silent, or starting over). */
  private dropLearner(id: ServerId): boolean {
    this.stopSnap(id);
    // Its connections closed when it lost this leader; it registers them again if it rejoins.
    this.auth.forgetOrigin(id);
    this.digests.forget(id);
    return this.learners.delete(id);
  }

  private checkEstablished(): void {
    if (this.phase !== "sync") return;
    const active = [...this.learners].filter(([, l]) => l.phase === "active").map(([id]) => id);
    // The leader's own history is durable already: it was read from its log. A resyncing
    // learner is synced like any other but does not count: what it acked before, it forgot.
    if (!isQuorum([this.self, ...active.filter((id) => !this.learners.get(id)!.resyncing)], this.r.cfg.voters)) return;
    this.r.setCurrentEpoch(this.newEpoch!);
    this.phase = "broadcast";
    this.view = new PendingView(this.r.state.tree);
    this.commit(this.historyZxid);
    // Session expiry counts leader ticks, so it needs no clock.
    this.expiry = new SessionExpiry(1, this.r.ticks);
    for (const s of this.r.state.sessions.all()) this.expiry.touch(s.id, this.timeoutTicks(s.timeoutMs), this.r.ticks);
    // This node's own clients, before any of their writes is prepared.
    for (const reg of this.r.attachedConnections.registrations()) this.register(reg, this.self);
    for (const id of active) this.r.send(id, { type: "upToDate", syncId: this.learners.get(id)!.syncId, epoch: this.newEpoch!, commitZxid: this.committed, digest: this.digestAtCommit() });
    this.r.setServing(true);
  }

  // ---- broadcast ----------------------------------------------------------------------

  private commit(upTo: Zxid): void {
    if (upTo <= this.committed) return;
    this.r.commitUpTo(upTo, (txn) => {
      this.view?.applied(txn.hdr.zxid);
      if (txn.body.type === "closeSession") {
        this.closing.delete(txn.hdr.sessionId);
        this.auth.forgetSession(txn.hdr.sessionId);
      }
    });
    this.committed = upTo;
  }

  /** Recomputes the commit point from durable acks, and tells the followers. */
  private advanceCommit(): void {
    if (this.phase !== "broadcast") return;
    const acks = [this.r.durableZxid as number];
    for (const l of this.learners.values()) if (l.phase === "active") acks.push(l.ackedZxid);
    const point = (this.r.cfg.testFault === "commitWithoutQuorum" ? this.r.durableZxid : quorumValue(acks, this.r.cfg.voters.length)) as Zxid;
    if (point <= this.committed) return;
    // Everything after the established history was proposed in this epoch.
    assert(point <= this.historyZxid || epochOf(point) === this.newEpoch, `commit point ${point} from another epoch`);
    this.commit(point);
    const digest = this.digestAtCommit();
    for (const [id, l] of this.learners) if (l.phase === "active") this.r.send(id, { type: "commit", epoch: this.newEpoch!, zxid: point, digest });
  }

  /** The state's digest at the commit point (the leader applies every commit at once), remembered for the tally. */
  private digestAtCommit(): string {
    assert(this.r.state.lastZxid === this.committed, `leader applied ${this.r.state.lastZxid}, committed ${this.committed}`);
    const digest = this.r.state.digest();
    this.digests.sentDigest(this.committed, digest);
    return digest;
  }

  private nextZxid(): Zxid {
    return makeZxid(this.newEpoch!, ++this.counter);
  }

  private propose(txn: Txn): void {
    this.r.append(txn);
    for (const [id, l] of this.learners) if (l.phase === "synced" || l.phase === "active") this.r.send(id, { type: "proposal", epoch: this.newEpoch!, txn });
  }

  /**
   * Who a connection of `origin` (a follower, or this node) is: checked and kept here, never
   * proposed. What was refused is dropped: the client's writes are then checked without it.
   */
  register(reg: Registration, origin: ServerId): void {
    const at = { origin, conn: reg.conn };
    switch (reg.type) {
      case "bind":
        this.auth.bind(reg.sessionId, at, reg.address, this.r.state.sessions.has(reg.sessionId), reg.certificate);
        return;
      case "auth":
        this.auth.authenticate(reg.sessionId, at, reg.scheme, reg.auth);
        return;
      case "unbind":
        return this.auth.unbind(reg.sessionId, at);
    }
  }

  /** Turns a client request (local, or forwarded by `origin`) into a proposal. */
  prepare(req: ForwardedRequest, origin: ServerId = this.self): boolean {
    if (this.phase !== "broadcast") return false;
    const view = this.view!;
    const time = this.r.now;
    switch (req.type) {
      case "bind":
      case "auth":
      case "unbind":
        this.register(req, origin);
        return true;
      case "createSession": {
        const txn = prepCreateSession(this.nextZxid(), time, req.timeoutMs, req.password);
        txn.hdr.cxid = req.token;
        this.propose(txn);
        this.expiry!.touch(txn.hdr.sessionId, this.timeoutTicks(req.timeoutMs), this.r.ticks);
        return true;
      }
      case "closeSession": {
        const zxid = this.nextZxid();
        if (!this.r.state.sessions.has(req.sessionId) || this.closing.has(req.sessionId)) {
          this.propose({ hdr: { zxid, time, sessionId: req.sessionId, cxid: req.cxid }, body: { type: "error", err: Code.SESSIONEXPIRED } });
          return true;
        }
        this.closing.add(req.sessionId);
        this.propose(prepCloseSession(view, zxid, time, req.sessionId, req.cxid));
        this.expiry!.remove(req.sessionId);
        return true;
      }
      case "write": {
        const zxid = this.nextZxid();
        if (!this.r.state.sessions.has(req.sessionId) || this.closing.has(req.sessionId)) {
          // Never let a session that is ending create anything: its ephemerals would outlive it.
          this.propose({ hdr: { zxid, time, sessionId: req.sessionId, cxid: req.cxid }, body: { type: "error", err: Code.SESSIONEXPIRED } });
          return true;
        }
        // The identities are this leader's own record of the connection the write came on.
        const ids = this.auth.identities(req.sessionId, { origin, conn: req.conn });
        const out = prepRequest({ view, zxid, time, sessionId: req.sessionId, cxid: req.cxid, dataBytesMax: this.r.cfg.dataBytesMax, ids }, req.request);
        // The origin validated the request; a stateless error here still gets a transaction
        // so the origin's client is answered in order.
        const txn: Txn = out.kind === "txn" ? out.txn : { hdr: { zxid, time, sessionId: req.sessionId, cxid: req.cxid }, body: { type: "error", err: out.err } };
        this.propose(txn);
        return true;
      }
    }
  }

  touch(ids: Iterable<SessionId>): void {
    if (!this.expiry) return;
    for (const id of ids) {
      const s = this.r.state.sessions.get(id);
      // A touch comes between two ticks: counting from the next one means a session never
      // expires before its timeout (ZooKeeper's guarantee), at most a tick after it.
      if (s) this.expiry.touch(id, this.timeoutTicks(s.timeoutMs), this.r.ticks + 1);
    }
  }

  private timeoutTicks(timeoutMs: number): number {
    return Math.max(1, Math.ceil(timeoutMs / this.r.cfg.tickMs));
  }

  // ---- messages -----------------------------------------------------------------------

  receive(from: ServerId, msg: PeerMessage): void {
    const l = this.learners.get(from);
    if (l) l.lastHeardTick = this.r.ticks;
    switch (msg.type) {
      case "followerInfo": {
        // A repeat of the attempt already under way changes nothing; a new attempt starts over.
        if (l && l.syncId === msg.syncId && l.phase !== "info") return;
        // It accepted an epoch above ours (offered by a leader that was never established, here
        // before it crashed): it can never follow this epoch, and waiting leaves it out for
        // good. Start over: the next discovery proposes above what it accepted.
        if (this.newEpoch !== undefined && msg.acceptedEpoch > this.newEpoch) return this.r.lookAgain(`follower ${from} accepted epoch ${msg.acceptedEpoch}, above this leader's ${this.newEpoch}`);
        this.stopSnap(from);
        this.digests.forget(from);
        this.learners.set(from, { phase: "info", syncId: msg.syncId, acceptedEpoch: msg.acceptedEpoch, lastZxid: msg.lastZxid, currentEpoch: 0, ackedZxid: 0 as Zxid, lastHeardTick: this.r.ticks, resyncing: msg.resyncing === true });
        if (this.newEpoch !== undefined) this.r.sendAfterPersist(from, { type: "leaderInfo", syncId: msg.syncId, epoch: this.newEpoch });
        else this.checkDiscovery();
        return;
      }
      case "ackEpoch": {
        if (!l || l.phase !== "info" || msg.epoch !== this.newEpoch || msg.syncId !== l.syncId) return;
        // A follower holds a newer history than this leader: it must not lead. Not so for a
        // resyncing one: its history does not count (it may lack what it acked), and it is
        // truncated to this leader's like any proposals a quorum never had.
        if (!l.resyncing && (msg.currentEpoch > this.r.currentEpoch || (msg.currentEpoch === this.r.currentEpoch && msg.lastZxid > this.r.log.lastZxid))) {
          return this.r.lookAgain(`follower ${from} is ahead of the leader`);
        }
        l.phase = "epochAcked";
        l.currentEpoch = msg.currentEpoch;
        l.lastZxid = msg.lastZxid;
        if (this.phase === "discovery") this.checkEpochAcks();
        else this.syncLearner(from);
        return;
      }
      case "ack": {
        if (!l || msg.epoch !== this.newEpoch || msg.syncId !== l.syncId) return;
        if (l.phase === "synced") {
          l.phase = "active";
          l.ackedZxid = msg.zxid;
          if (this.phase === "sync") this.checkEstablished();
          else this.r.send(from, { type: "upToDate", syncId: l.syncId, epoch: this.newEpoch!, commitZxid: this.committed, digest: this.digestAtCommit() });
        } else if (l.phase === "active" && msg.zxid > l.ackedZxid) {
          l.ackedZxid = msg.zxid;
        }
        this.advanceCommit();
        return;
      }
      case "ping":
        if (!l || msg.epoch !== this.newEpoch) return;
        this.touch(msg.sessions);
        if (msg.digests && msg.digests.length > 0) this.onDigestReports(from, msg.digests);
        return;
      case "forward":
        if (l?.phase === "active" && msg.epoch === this.newEpoch) this.prepare(msg.req, from);
        return;
      default:
        return;
    }
  }

  /** A follower's digests at commit points: act once a quorum shows which side is alone. */
  private onDigestReports(from: ServerId, reports: NonNullable<Extract<PeerMessage, { type: "ping" }>["digests"]>): void {
    if (this.phase !== "broadcast") return;
    const verdict = this.digests.report(from, reports, (id) => this.learners.get(id)?.phase === "active");
    if (!verdict) return;
    if (verdict.kind === "leaderWrong") {
      return this.r.resync(`followers ${verdict.followers.join(",")} agree on digest ${verdict.digest} at 0x${verdict.zxid.toString(16)}, this leader's is ${verdict.leaders}`, verdict.zxid, verdict.digest);
    }
    for (const id of verdict.followers) this.r.send(id, { type: "resync", epoch: this.newEpoch!, zxid: verdict.zxid });
  }

  durable(): void {
    this.advanceCommit();
  }

  peerDown(id: ServerId): void {
    if (!this.dropLearner(id)) return;
    this.checkQuorum();
  }

  /** Steps down when fewer than a quorum (self included) still follow. True if still leading. */
  private checkQuorum(): boolean {
    if (this.phase !== "broadcast") return true;
    const live = [...this.learners].filter(([, l]) => l.phase === "active" || l.phase === "synced").map(([id]) => id);
    if (isQuorum([this.self, ...live], this.r.cfg.voters)) return true;
    this.r.lookAgain("lost the quorum of followers");
    return false;
  }

  tick(): void {
    const cfg = this.r.cfg;
    if (this.phase !== "broadcast") {
      // initLimit bounds a sync that stalls, not one streaming a large SNAP.
      if (this.r.ticks - Math.max(this.startedTick, this.syncProgressTick) > cfg.initLimitTicks) this.r.lookAgain("discovery/sync took longer than initLimit");
      return;
    }
    for (const [id, l] of this.learners) {
      if (this.r.ticks - l.lastHeardTick > cfg.syncLimitTicks) this.dropLearner(id);
    }
    if (!this.checkQuorum()) return;
    if (this.r.ticks - this.lastHeartbeat >= cfg.heartbeatTicks) {
      this.lastHeartbeat = this.r.ticks;
      // The digest at the commit point rides along: followers of a quiet ensemble compare too.
      const digest = this.digestAtCommit();
      for (const [id, l] of this.learners) if (l.phase === "synced" || l.phase === "active") this.r.send(id, { type: "ping", epoch: this.newEpoch!, commitZxid: this.committed, sessions: [], digest });
    }
    for (const id of this.expiry!.expire(this.r.ticks)) {
      if (this.r.state.sessions.has(id)) this.prepare({ type: "closeSession", sessionId: id, cxid: 0 });
    }
    if (this.r.ticks % REAP_EVERY_TICKS === 0) this.reap();
    if (this.r.ticks % cfg.electionResendTicks === 0) this.announce();
  }

  /**
   * Tells connected voters that do not follow us that we lead, established, in our epoch. A
   * node that settled on another leader while a quorum settled on us (elections decided on
   * votes that were already stale) learns it here, instead of waiting out initLimit.
   */
  private announce(): void {
    for (const id of this.r.connected) {
      if (this.learners.get(id)?.phase === "active") continue;
      this.r.send(id, { type: "notification", vote: { leader: this.self, zxid: this.r.log.lastZxid, epoch: this.newEpoch! }, round: this.r.status().round, state: "leading" });
    }
  }

  /** Not yet established: still collecting or syncing a quorum of followers. */
  get establishing(): boolean {
    return this.phase !== "broadcast";
  }

  /**
   * ZooKeeper's container manager and TTL reaper: a container that has had children and has
   * none now, or a TTL node unchanged for longer than its TTL and without children, is
   * deleted by a transaction of the system (session 0). Checked against the pending view,
   * so a reap already in flight is not proposed again.
   */
  private reap(): void {
    const view = this.view!;
    let proposed = 0;
    for (const path of this.r.state.tree.reapableNodes()) {
      if (proposed >= REAPS_PER_PASS_MAX) return;
      const rec = view.get(path);
      if (!rec || rec.stat.numChildren > 0) continue;
      const owner = ownerKind(rec.stat.ephemeralOwner);
      const due = owner.kind === "container" ? rec.stat.cversion > 0 : owner.kind === "ttl" && this.r.now - rec.stat.mtime > owner.ttlMs;
      if (!due) continue;
      const zxid = this.nextZxid();
      const out = prepRequest({ view, zxid, time: this.r.now, sessionId: asSessionId(0), cxid: 0, dataBytesMax: this.r.cfg.dataBytesMax }, { type: "delete", path, version: -1 });
      if (out.kind === "txn") {
        this.propose(out.txn);
        proposed++;
      } else {
        this.counter--;
      }
    }
  }

  get epoch(): number | undefined {
    return this.newEpoch;
  }
}

