// Leader election in the manner of ZooKeeper's FastLeaderElection: looking nodes exchange
// votes (epoch, zxid, id) in numbered rounds, adopt any better vote they hear, and decide once
// a quorum holds the same vote and no better one arrived during a short finalize wait. A node
// that is already following or leading answers with whom it follows, so a restarted node
// joins the running leader instead of starting a fight.
//
// A resyncing node (it dropped a state that diverged, so it may have forgotten proposals it
// acknowledged) only listens: its vote is marked, never counted or adopted by others, and it
// never decides by votes. It joins a leader only once a quorum *other than itself* follows it,
// so no leader is ever chosen, or established, with the help of a node that forgot.
import type { Zxid } from "@keeper/protocol";
import { isQuorum } from "./quorum.ts";
import type { Outgoing, PeerRole, ServerId, Vote, ZabConfig } from "./types.ts";

export function betterVote(a: Vote, b: Vote): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  if (a.zxid !== b.zxid) return a.zxid > b.zxid;
  return a.leader > b.leader;
}

const sameVote = (a: Vote, b: Vote) => a.leader === b.leader && a.zxid === b.zxid && a.epoch === b.epoch;

export interface ElectionStep {
  send: Outgoing[];
  decided?: ServerId;
}

export class Election {
  round = 0;
  vote: Vote;
  /** Same-round votes of looking nodes, self included. */
  private readonly votes = new Map<ServerId, Vote>();
  /** Whom settled (following / leading) nodes report, with their state. */
  private readonly settled = new Map<ServerId, { leader: ServerId; state: PeerRole }>();
  private finalizeAt: number | undefined;
  private ticks = 0;
  private lastSent = 0;

  /**
   * `reachable` says which peers are connected now: once every reachable voter holds our vote,
   * no better vote can arrive, so the finalize wait is skipped (it only avoids flapping; a
   * leader that meets a follower with a newer history steps down anyway).
   */
  constructor(
    private readonly cfg: ZabConfig,
    selfVote: Vote,
    lastRound: number,
    private readonly reachable: () => ReadonlySet<ServerId> = () => new Set(),
    private readonly resyncing = false,
  ) {
    this.vote = selfVote;
    this.round = lastRound + 1;
    this.votes.set(cfg.self, selfVote);
  }

  private broadcast(to?: ServerId): Outgoing[] {
    this.lastSent = this.ticks;
    const msg = { type: "notification" as const, vote: this.vote, round: this.round, state: "looking" as const, ...(this.resyncing ? { resyncing: true } : {}) };
    const targets = to === undefined ? this.cfg.voters.filter((v) => v !== this.cfg.self) : [to];
    return targets.map((t) => ({ to: t, msg }));
  }

  start(): ElectionStep {
    return { send: this.broadcast(), ...this.check() };
  }

  /** A peer just connected: tell it our vote. */
  greet(peer: ServerId): Outgoing[] {
    return this.broadcast(peer);
  }

  receive(from: ServerId, vote: Vote, round: number, state: PeerRole, fromResyncing = false): ElectionStep {
    if (!this.cfg.voters.includes(from)) return { send: [] };
    if (state !== "looking") {
      this.settled.set(from, { leader: vote.leader, state });
      return { send: [], ...this.checkSettled() };
    }
    this.settled.delete(from);
    // A resyncing peer's vote names a history it no longer holds: never count or adopt it.
    if (fromResyncing) {
      this.votes.delete(from);
      return { send: [] };
    }
    // Looking peers' votes are no business of a resyncing node: it waits for a settled quorum.
    if (this.resyncing) return { send: [] };
    let send: Outgoing[] = [];
    if (round > this.round) {
      // A newer round: join it, starting again from the better of our own vote and theirs.
      this.round = round;
      this.votes.clear();
      const mine = this.votes.get(this.cfg.self) ?? this.vote;
      this.vote = betterVote(vote, mine) ? vote : mine;
      this.votes.set(this.cfg.self, this.vote);
      this.finalizeAt = undefined;
      send = this.broadcast();
    } else if (round < this.round) {
      // A laggard: answer it so it catches up with this round.
      return { send: this.broadcast(from) };
    } else if (betterVote(vote, this.vote)) {
      this.vote = vote;
      this.votes.set(this.cfg.self, vote);
      this.finalizeAt = undefined;
      send = this.broadcast();
    } else if (!sameVote(vote, this.vote)) {
      // A worse vote in our round: the sender may never have seen ours (it was settled when we
      // sent it, and settled nodes do not keep votes). Tell it now, not at the next resend.
      send = this.broadcast(from);
    }
    this.votes.set(from, vote);
    return { send, ...this.check() };
  }

  private check(): { decided?: ServerId } {
    if (this.resyncing) return {};
    const agreeing = [...this.votes].filter(([, v]) => sameVote(v, this.vote)).map(([id]) => id);
    if (!isQuorum(agreeing, this.cfg.voters)) {
      this.finalizeAt = undefined;
      return {};
    }
    // Every voter we can reach agrees: nothing better can come now, decide.
    const connected = this.reachable();
    const allReachableAgree = this.cfg.voters.every((v) => v === this.cfg.self || !connected.has(v) || agreeing.includes(v));
    if (allReachableAgree || this.cfg.finalizeTicks === 0) return { decided: this.vote.leader };
    this.finalizeAt ??= this.ticks + this.cfg.finalizeTicks;
    return {};
  }

  /** A quorum of settled nodes follows one leader that says it leads: join it. */
  private checkSettled(): { decided?: ServerId } {
    const byLeader = new Map<ServerId, ServerId[]>();
    for (const [id, s] of this.settled) byLeader.set(s.leader, [...(byLeader.get(s.leader) ?? []), id]);
    for (const [leader, ids] of byLeader) {
      const leaderSaysSo = this.settled.get(leader)?.state === "leading";
      // A resyncing node does not count itself: a quorum must follow without it.
      const counted = this.resyncing ? ids : [...ids, this.cfg.self];
      if (leaderSaysSo && isQuorum(counted, this.cfg.voters)) return { decided: leader };
    }
    return {};
  }

  tick(): ElectionStep {
    this.ticks++;
    if (this.finalizeAt !== undefined && this.ticks >= this.finalizeAt && !this.resyncing) {
      this.finalizeAt = undefined;
      const agreeing = [...this.votes].filter(([, v]) => sameVote(v, this.vote)).map(([id]) => id);
      if (isQuorum(agreeing, this.cfg.voters)) return { send: [], decided: this.vote.leader };
    }
    if (this.ticks - this.lastSent >= this.cfg.electionResendTicks) return { send: this.broadcast() };
    return { send: [] };
  }
}

export function selfVote(self: ServerId, lastZxid: Zxid, currentEpoch: number): Vote {
  return { leader: self, zxid: lastZxid, epoch: currentEpoch };
}
