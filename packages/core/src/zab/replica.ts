// One ZAB replica as a deterministic state machine. Inputs: tick(), receive(), peerUp/Down(),
// submit(), persisted(). Outputs: a PersistBatch to make durable, messages to send, and
// synchronous callbacks for applied transactions and role changes. No I/O, no clock: the shell
// sets `now` before each input and carries out the outputs in order.
import { ZXID_ZERO, type SessionId, type Zxid } from "@keeper/protocol";
import { assert } from "../assert.ts";
import { AttachedConnections, type Registration } from "../sessions/attached-connections.ts";
import { ReplicatedState } from "../state.ts";
import type { TreeOutcome } from "../tree/data-tree.ts";
import type { Txn } from "../txn.ts";
import { Election, selfVote } from "./election.ts";
import { FollowerRole } from "./follower.ts";
import { LeaderRole, type LearnerState } from "./leader.ts";
import { LogWindow } from "./log-window.ts";
import type { ForwardedRequest, Outgoing, PeerMessage, PersistBatch, PeerRole, ServerId, ZabConfig } from "./types.ts";

export interface ReplicaHooks {
  /** A committed transaction was applied (in zxid order): answer clients, fire watches. */
  applied(txn: Txn, outcome: TreeOutcome): void;
  /** The state was replaced by a snapshot from the leader (no watches fire for it). */
  stateReset(state: ReplicatedState): void;
  /** The node started or stopped serving clients, or changed role. */
  roleChanged(status: ReplicaStatus): void;
  /**
   * A digest disagreement (for the shell to log loudly; the core acts on it itself): "suspect",
   * a follower differs from its leader and stops serving until the leader decides which side is
   * alone; "resync", this node's state was found wrong and dropped (the batch to persist says
   * so), and it takes an established leader's state.
   */
  diverged?(event: DivergenceEvent): void;
}

export interface DivergenceEvent {
  action: "suspect" | "resync";
  reason: string;
  /** The zxid compared, this node's digest there, and the digest it was compared with. */
  zxid: Zxid;
  mine: string;
  other: string;
}

/** The committed window kept for DIFFs is bounded to about this many bytes by default. */
export const LOG_WINDOW_BYTES = 64 * 1024 * 1024;

export interface ReplicaStatus {
  role: PeerRole;
  leader: ServerId | undefined;
  /** Following or leading, synced with a quorum: clients may be served. */
  serving: boolean;
  acceptedEpoch: number;
  currentEpoch: number;
  lastLoggedZxid: Zxid;
  committedZxid: Zxid;
  round: number;
  /** What the role is doing, in words: why a node is not serving, or whom it serves with. */
  activity: string;
  /** Why the latest election started (the node's start, a lost leader, a lost quorum, ...). */
  electionReason: string | undefined;
  /**
   * "ok"; "suspect": its digest differs from its leader's and it waits for the verdict;
   * "resyncing": it dropped a wrong state and takes a leader's. Only "ok" may answer reads,
   * read-only ones included.
   */
  integrity: "ok" | "suspect" | "resyncing";
}

export interface ReplicaBoot {
  state: ReplicatedState;
  /** Logged transactions after `logBase` (committed or not: sync decides). */
  log: Txn[];
  /**
   * The zxid just before `log`: the snapshot's, when the state has since applied the committed
   * part of the log (see BootReplay). Defaults to the state's zxid.
   */
  logBase?: Zxid;
  acceptedEpoch: number;
  currentEpoch: number;
  /**
   * The store may have lost what this node acknowledged (a resync a crash interrupted: state
   * and log are empty; or a log truncated at a record that failed its check): it does not vote
   * until an established leader has synced it.
   */
  resyncing?: boolean;
}

type Role = { kind: "looking"; election: Election } | { kind: "leading"; leader: LeaderRole } | { kind: "following"; follower: FollowerRole };

export class ZabReplica {
  state: ReplicatedState;
  readonly log: LogWindow;
  acceptedEpoch: number;
  currentEpoch: number;
  /** Wall-clock time set by the shell before each input; stamped into transactions by the leader. */
  now = 0;
  ticks = 0;
  private role: Role;
  private lastRound = 0;
  readonly connected = new Set<ServerId>();
  private outbox: Outgoing[] = [];
  private gated: Array<{ seq: number; out: Outgoing }> = [];
  private pending: Omit<PersistBatch, "seq"> = { append: [] };
  private seq = 0;
  private persistedSeq = 0;
  /** The commit point last handed out with a persist batch. */
  private markedCommitted: Zxid;
  /** The highest zxid known durable in the local log. */
  durableZxid: Zxid;
  private serving = false;
  /**
   * This node dropped a state that diverged and has not yet taken an established leader's: it
   * may have forgotten proposals it acknowledged, so it takes no part in choosing or
   * establishing a leader (see Election and LeaderRole) until then.
   */
  resyncing: boolean;
  private syncIds = 0;
  private electionReason: string | undefined;
  /** This node's clients and their credentials, to register with every leader (SessionAuth). */
  readonly attachedConnections = new AttachedConnections();

  constructor(readonly cfg: ZabConfig, boot: ReplicaBoot, private readonly hooks: ReplicaHooks) {
    assert(cfg.voters.includes(cfg.self), `server ${cfg.self} is not among the voters ${cfg.voters.join(",")}`);
    assert(cfg.heartbeatTicks < cfg.syncLimitTicks, "heartbeatTicks must be below syncLimitTicks");
    this.state = boot.state;
    assert((boot.logBase ?? boot.state.lastZxid) <= boot.state.lastZxid, "the log starts after the state");
    this.log = new LogWindow(boot.logBase ?? boot.state.lastZxid, boot.log);
    assert(this.log.has(this.state.lastZxid), `the state at ${this.state.lastZxid} is not a point of the log`);
    this.log.compact(this.state.lastZxid, cfg.logWindowTxns, cfg.logWindowBytes ?? LOG_WINDOW_BYTES);
    this.acceptedEpoch = boot.acceptedEpoch;
    this.currentEpoch = boot.currentEpoch;
    this.durableZxid = this.log.lastZxid;
    this.markedCommitted = this.state.lastZxid;
    this.resyncing = boot.resyncing === true;
    // Alone there is nobody to resync from, and nobody who could hold what was lost.
    if (this.resyncing && cfg.voters.length === 1) this.resyncDone();
    this.role = { kind: "looking", election: this.newElection() };
  }

  // ---- inputs -------------------------------------------------------------------------

  start(): void {
    this.lookAgain("start");
  }

  tick(): void {
    this.ticks++;
    switch (this.role.kind) {
      case "looking": {
        const step = this.role.election.tick();
        this.outbox.push(...step.send);
        if (step.decided !== undefined) this.decide(step.decided);
        return;
      }
      case "leading":
        return this.role.leader.tick();
      case "following":
        return this.role.follower.tick();
    }
  }

  receive(from: ServerId, msg: PeerMessage): void {
    if (!this.cfg.voters.includes(from) || from === this.cfg.self) return;
    if (msg.type === "notification") return this.onNotification(from, msg);
    if (msg.type === "followerInfo" && this.role.kind === "following") {
      // A peer chose this node as its leader, but it follows another: say so, or the peer
      // waits out initLimit before it looks again.
      this.send(from, { type: "notification", vote: { leader: this.role.follower.leaderId, zxid: this.log.lastZxid, epoch: this.currentEpoch }, round: this.lastRound, state: "following" });
      return;
    }
    if (this.role.kind === "leading") this.role.leader.receive(from, msg);
    else if (this.role.kind === "following") this.role.follower.receive(from, msg);
  }

  peerUp(id: ServerId): void {
    this.connected.add(id);
    if (this.role.kind === "looking") this.outbox.push(...this.role.election.greet(id));
    else if (this.role.kind === "following") this.role.follower.peerUp(id);
  }

  peerDown(id: ServerId): void {
    this.connected.delete(id);
    if (this.role.kind === "leading") this.role.leader.peerDown(id);
    else if (this.role.kind === "following") this.role.follower.peerDown(id);
  }

  /** A local client's write. False when this node cannot take writes now. */
  submit(req: ForwardedRequest): boolean {
    if (!this.serving) return false;
    if (this.role.kind === "leading") return this.role.leader.prepare(req);
    if (this.role.kind === "following") return this.role.follower.forward(req);
    return false;
  }

  /**
   * A local client's session attached on connection `conn` (the shell's number for it). The
   * leader learns it now if there is one, else each leader does when established.
   */
  attach(sessionId: SessionId, conn: number, address: string, certificate?: string): void {
    this.register(this.attachedConnections.bind(sessionId, conn, address, certificate));
  }

  /** A credential the client sent on `conn`: the leader checks it for itself. */
  credential(sessionId: SessionId, conn: number, scheme: string, auth: Uint8Array): void {
    this.register(this.attachedConnections.credential(sessionId, conn, scheme, auth));
  }

  /** Connection `conn` closed. */
  detach(sessionId: SessionId, conn: number): void {
    this.register(this.attachedConnections.unbind(sessionId, conn));
  }

  private register(reg: Registration | undefined): void {
    // Not serving: kept, and sent once a leader is established (before any write).
    if (!reg || !this.serving) return;
    if (this.role.kind === "leading") this.role.leader.register(reg, this.cfg.self);
    else if (this.role.kind === "following") this.role.follower.forward(reg);
  }

  /** SNAPs being streamed to followers (the shell then calls streamSnapshots until false). */
  get streaming(): boolean {
    return this.role.kind === "leading" && this.role.leader.streaming;
  }

  /** Followers being sent a SNAP. */
  get snapTargets(): ServerId[] {
    return this.role.kind === "leading" ? this.role.leader.snapTargets : [];
  }

  /**
   * Writes up to `maxNodes` more nodes of each SNAP being streamed, except to the followers in
   * `paused` (their links are still busy with earlier pieces). True while streams remain.
   */
  streamSnapshots(maxNodes: number, paused: ReadonlySet<ServerId> = new Set()): boolean {
    return this.role.kind === "leading" && this.role.leader.streamSnapshots(maxNodes, paused);
  }

  /** A follower has committed transactions still to apply (see ZabConfig.applyBatchTxns). */
  get applyBehind(): boolean {
    return this.role.kind === "following" && this.role.follower.applyBehind;
  }

  /** Applies the next batch of them. */
  applyMore(): void {
    if (this.role.kind === "following") this.role.follower.applyMore();
  }

  /** Sessions touched by local clients, so the leader keeps them alive. */
  touchSessions(ids: Iterable<SessionId>): void {
    if (this.role.kind === "leading") this.role.leader.touch(ids);
    else if (this.role.kind === "following") this.role.follower.touch(ids);
  }

  /** The shell made batch `seq` durable. */
  persisted(seq: number, lastAppended: Zxid | undefined): void {
    if (lastAppended !== undefined && lastAppended > this.durableZxid) this.durableZxid = lastAppended;
    this.persistedSeq = Math.max(this.persistedSeq, seq);
    for (const g of this.gated) if (g.seq <= seq) this.outbox.push(g.out);
    this.gated = this.gated.filter((g) => g.seq > seq);
    if (this.role.kind === "leading") this.role.leader.durable();
    else if (this.role.kind === "following") this.role.follower.durable();
  }

  // ---- outputs ------------------------------------------------------------------------

  /** What to make durable next, or undefined. The shell persists one batch at a time. */
  takePersist(): PersistBatch | undefined {
    const p = this.pending;
    if (this.nothingPending()) return undefined;
    this.pending = { append: [] };
    if (this.state.lastZxid > this.markedCommitted) {
      this.markedCommitted = this.state.lastZxid;
      p.committed = this.state.lastZxid;
    }
    return { seq: ++this.seq, ...p };
  }

  takeMessages(): Outgoing[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  status(): ReplicaStatus {
    return {
      role: this.role.kind,
      leader: this.role.kind === "leading" ? this.cfg.self : this.role.kind === "following" ? this.role.follower.leaderId : undefined,
      serving: this.serving,
      acceptedEpoch: this.acceptedEpoch,
      currentEpoch: this.currentEpoch,
      lastLoggedZxid: this.log.lastZxid,
      committedZxid: this.state.lastZxid,
      round: this.lastRound,
      activity: this.role.kind === "leading" ? this.role.leader.activity() : this.role.kind === "following" ? this.role.follower.activity() : `looking: electing a leader (round ${this.lastRound})`,
      electionReason: this.electionReason,
      integrity: this.resyncing ? "resyncing" : this.role.kind === "following" && this.role.follower.suspect ? "suspect" : "ok",
    };
  }

  /** The learners of this node while it leads (empty otherwise), for metrics. */
  learnerStates(): LearnerState[] {
    return this.role.kind === "leading" ? this.role.leader.learnerStates() : [];
  }

  // ---- services for the roles -----------------------------------------------------------

  nextSyncId(): number {
    return ++this.syncIds;
  }

  send(to: ServerId, msg: PeerMessage): void {
    this.outbox.push({ to, msg });
  }

  /** Sends `msg` only once everything queued for persistence so far is durable. */
  sendAfterPersist(to: ServerId, msg: PeerMessage): void {
    const needSeq = this.nothingPending() ? this.seq : this.seq + 1;
    if (needSeq <= this.persistedSeq) this.outbox.push({ to, msg });
    else this.gated.push({ seq: needSeq, out: { to, msg } });
  }

  private nothingPending(): boolean {
    const p = this.pending;
    return p.append.length === 0 && !p.epochs && !p.snapshot && p.truncateAfter === undefined && !p.resync && !p.resyncDone;
  }

  setAcceptedEpoch(e: number): void {
    assert(e >= this.acceptedEpoch, `acceptedEpoch going back from ${this.acceptedEpoch} to ${e}`);
    this.acceptedEpoch = e;
    this.pending.epochs = { ...this.pending.epochs, accepted: e };
  }

  setCurrentEpoch(e: number): void {
    assert(e >= this.currentEpoch && e <= this.acceptedEpoch, `currentEpoch ${e} out of order (current ${this.currentEpoch}, accepted ${this.acceptedEpoch})`);
    this.currentEpoch = e;
    this.pending.epochs = { ...this.pending.epochs, current: e };
  }

  append(txn: Txn): void {
    this.log.append(txn);
    this.pending.append.push(txn);
  }

  truncateAfter(zxid: Zxid): void {
    assert(zxid >= this.state.lastZxid, `truncate to ${zxid} would drop committed transactions (committed ${this.state.lastZxid})`);
    this.log.truncateAfter(zxid);
    // Anything queued but not yet durable past the point goes too.
    this.pending.append = this.pending.append.filter((t) => t.hdr.zxid <= zxid);
    this.pending.truncateAfter = Math.min(this.pending.truncateAfter ?? zxid, zxid) as Zxid;
    if (this.durableZxid > zxid) this.durableZxid = zxid;
  }

  installSnapshot(state: ReplicatedState, chunks: Uint8Array[]): void {
    this.state = state;
    this.log.reset(state.lastZxid);
    // A resync not yet persisted still goes first: the store drops the old state, then installs this.
    this.pending = { append: [], snapshot: { zxid: state.lastZxid, chunks }, ...(this.pending.epochs ? { epochs: this.pending.epochs } : {}), ...(this.pending.resync ? { resync: true as const } : {}) };
    this.durableZxid = state.lastZxid;
    this.hooks.stateReset(state);
  }

  /** Applies the logged transactions up to `zxid` in order, at most `maxTxns` of them. */
  commitUpTo(zxid: Zxid, onApply?: (txn: Txn) => void, maxTxns = Infinity): void {
    if (zxid <= this.state.lastZxid) return;
    assert(zxid <= this.log.lastZxid, `commit ${zxid} beyond the log ${this.log.lastZxid}`);
    const txns = this.log.range(this.state.lastZxid, zxid);
    const count = Math.min(txns.length, maxTxns);
    for (let i = 0; i < count; i++) {
      const txn = txns[i]!;
      const outcome = this.state.apply(txn);
      onApply?.(txn);
      this.hooks.applied(txn, outcome);
    }
    assert(count < txns.length || this.state.lastZxid === zxid, `commit stopped at ${this.state.lastZxid}, wanted ${zxid}`);
    // A sixteenth of the window as slack: the front of the window moves in steps, not per commit.
    this.log.compact(this.state.lastZxid, this.cfg.logWindowTxns, this.cfg.logWindowBytes ?? LOG_WINDOW_BYTES, this.cfg.logWindowTxns >>> 4);
  }

  setServing(serving: boolean): void {
    if (this.serving === serving) return;
    this.serving = serving;
    this.hooks.roleChanged(this.status());
  }

  /** A follower's digest differs from its leader's: it has stopped serving (see FollowerRole). */
  suspect(zxid: Zxid, mine: string, leaders: string): void {
    this.hooks.diverged?.({ action: "suspect", reason: `digest ${mine} differs from the leader's ${leaders} at 0x${zxid.toString(16)}`, zxid, mine, other: leaders });
    this.hooks.roleChanged(this.status());
  }

  /**
   * This node's state is wrong (a quorum disagrees with it). Its own snapshots and log would
   * rebuild the same, so it drops them all and starts over empty: the next leader's sync is
   * then a SNAP (or the whole log). The epochs stay, so no promise made to a peer is forgotten;
   * what it acknowledged is forgotten, so until it holds an established leader's history it
   * neither votes nor counts towards establishing a leader.
   */
  resync(reason: string, zxid: Zxid, other: string): void {
    const mine = this.state.digest();
    this.resyncing = true;
    this.state = new ReplicatedState();
    this.log.reset(ZXID_ZERO);
    this.durableZxid = ZXID_ZERO;
    this.markedCommitted = ZXID_ZERO;
    // Acks waiting for a persist would claim what is being dropped: they never go.
    this.gated = [];
    this.pending = { append: [], resync: true, ...(this.pending.epochs ? { epochs: this.pending.epochs } : {}) };
    this.hooks.stateReset(this.state);
    this.hooks.diverged?.({ action: "resync", reason, zxid, mine, other });
    this.lookAgain(`resync: ${reason}`);
  }

  /** Synced by an established leader, durably: a voter again; the store's mark goes. */
  resyncDone(): void {
    if (!this.resyncing) return;
    this.resyncing = false;
    this.pending.resyncDone = true;
  }

  /** Back to LOOKING: something failed or the quorum is gone. */
  lookAgain(reason: string): void {
    this.electionReason = reason;
    this.serving = false;
    if (this.role.kind === "leading") this.role.leader.stop();
    this.role = { kind: "looking", election: this.newElection() };
    const step = this.role.election.start();
    this.outbox.push(...step.send);
    this.hooks.roleChanged(this.status());
    if (step.decided !== undefined) this.decide(step.decided);
  }

  // ---- election -------------------------------------------------------------------------

  private newElection(): Election {
    const e = new Election(this.cfg, selfVote(this.cfg.self, this.log.lastZxid, this.currentEpoch), this.lastRound, () => this.connected, this.resyncing);
    this.lastRound = e.round;
    return e;
  }

  private onNotification(from: ServerId, msg: Extract<PeerMessage, { type: "notification" }>): void {
    if (this.role.kind === "looking") {
      const step = this.role.election.receive(from, msg.vote, msg.round, msg.state, msg.resyncing === true);
      this.lastRound = this.role.election.round;
      this.outbox.push(...step.send);
      if (step.decided !== undefined) this.decide(step.decided);
      return;
    }
    // Our leader dropped its state to resync: it leads no more, look now (not after syncLimit).
    if (this.role.kind === "following" && from === this.role.follower.leaderId && msg.state === "looking" && msg.resyncing === true) {
      return this.lookAgain(`leader ${from} is resyncing`);
    }
    // Following a node that says it follows another: it will never lead us.
    if (this.role.kind === "following" && from === this.role.follower.leaderId && msg.state === "following" && this.role.follower.joining) {
      return this.lookAgain(`chosen leader ${from} follows ${msg.vote.leader}`);
    }
    // Another node leads, established in an epoch this node never accepted: a quorum is
    // already with it, so this node's own attempt (to lead, or to follow a third) cannot win.
    if (msg.state === "leading" && msg.vote.leader === from && msg.vote.epoch > this.acceptedEpoch) {
      if (this.role.kind === "leading" && this.role.leader.establishing) return this.lookAgain(`server ${from} leads epoch ${msg.vote.epoch}`);
      if (this.role.kind === "following" && this.role.follower.joining && this.role.follower.leaderId !== from) return this.lookAgain(`server ${from} leads epoch ${msg.vote.epoch}`);
    }
    // Settled: tell a looking peer whom we follow, so it can join.
    if (msg.state === "looking") {
      const leader = this.role.kind === "leading" ? this.cfg.self : this.role.follower.leaderId;
      this.send(from, { type: "notification", vote: { leader, zxid: this.log.lastZxid, epoch: this.currentEpoch }, round: this.lastRound, state: this.role.kind });
    }
  }

  private decide(leader: ServerId): void {
    if (leader === this.cfg.self) {
      this.role = { kind: "leading", leader: new LeaderRole(this) };
      this.hooks.roleChanged(this.status());
      this.role.leader.start();
    } else {
      this.role = { kind: "following", follower: new FollowerRole(this, leader) };
      this.hooks.roleChanged(this.status());
      this.role.follower.start();
    }
  }
}
