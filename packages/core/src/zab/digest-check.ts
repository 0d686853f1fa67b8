// The run-time digest check, both sides (ZooKeeper 3.6's digest check, extended so the leader is
// checked too). The leader sends its digest at each commit point (and at UPTODATE); a follower
// compares its own when it has applied exactly that far and reports what it found in its next
// heartbeat reply. The leader tallies the reports per zxid: when a quorum holds its digest, a
// follower that differs is wrong and is told to resync; when a quorum of followers agree on
// another digest, the leader is the one alone and resyncs itself. Each side keeps a bounded
// number of entries: a follower that falls behind skips checks, it never buffers without limit.
import type { Zxid } from "@keeper/protocol";
import { isQuorum } from "./quorum.ts";
import type { DigestReport, ServerId } from "./types.ts";

/** Leader digests a follower waits to reach, and own digests it has yet to report. */
const FOLLOWER_CHECKS_MAX = 64;
const FOLLOWER_REPORTS_MAX = 16;
/** Commit points whose digest the leader remembers, and reports it keeps per follower. */
const LEADER_SENT_MAX = 256;
const LEADER_REPORTS_MAX = 32;

export type CheckResult = { kind: "match"; zxid: Zxid } | { kind: "mismatch"; zxid: Zxid; mine: string; leaders: string };

/** A follower's side: the leader's digests ahead of its applied state, checked as it gets there. */
export class FollowerDigestCheck {
  private readonly due: DigestReport[] = [];
  private reports: DigestReport[] = [];

  /** The leader's digest at `zxid`; `applied` is this replica's last applied zxid now. */
  expect(zxid: Zxid, digest: string, applied: Zxid): void {
    // Already past it (applied in a batch before the commit arrived): that point is skipped.
    if (zxid < applied) return;
    const last = this.due[this.due.length - 1];
    if (last && last.zxid >= zxid) return;
    if (this.due.length >= FOLLOWER_CHECKS_MAX) return;
    this.due.push({ zxid, digest });
  }

  /** This replica has applied exactly up to `zxid`, where its digest is `mine()`. */
  reached(zxid: Zxid, mine: () => string): CheckResult | undefined {
    while (this.due.length > 0 && this.due[0]!.zxid < zxid) this.due.shift();
    const head = this.due[0];
    if (!head || head.zxid !== zxid) return undefined;
    this.due.shift();
    const digest = mine();
    this.reports.push({ zxid, digest });
    if (this.reports.length > FOLLOWER_REPORTS_MAX) this.reports.shift();
    return digest === head.digest ? { kind: "match", zxid } : { kind: "mismatch", zxid, mine: digest, leaders: head.digest };
  }

  /** What to tell the leader in the next heartbeat reply (then forgotten). */
  takeReports(): DigestReport[] {
    const out = this.reports;
    this.reports = [];
    return out;
  }
}

export type Verdict =
  /** A quorum agrees with the leader at `zxid`: these followers differ and must resync. */
  | { kind: "followersWrong"; zxid: Zxid; followers: ServerId[] }
  /** A quorum of followers agree on `digest` at `zxid`, which is not the leader's. */
  | { kind: "leaderWrong"; zxid: Zxid; followers: ServerId[]; digest: string; leaders: string };

/** The leader's side: its own digests at the points it sent, and what followers found there. */
export class LeaderDigestTally {
  private readonly sent = new Map<Zxid, string>();
  private readonly reports = new Map<ServerId, Map<Zxid, string>>();

  constructor(private readonly self: ServerId, private readonly voters: readonly ServerId[]) {}

  /** The leader sent its digest at `zxid` (with a commit or UPTODATE). */
  sentDigest(zxid: Zxid, digest: string): void {
    if (this.sent.has(zxid)) return;
    this.sent.set(zxid, digest);
    // Maps iterate in insertion order, which is zxid order here: drop the oldest.
    if (this.sent.size > LEADER_SENT_MAX) this.sent.delete(this.sent.keys().next().value!);
  }

  /** A follower is gone or starts over: its reports no longer stand for its state. */
  forget(id: ServerId): void {
    this.reports.delete(id);
  }

  /**
   * Records `from`'s reports and judges each zxid they name. `counted` says which followers may
   * serve as witnesses (synced with this leader); the first verdict reached is returned.
   */
  report(from: ServerId, reports: readonly DigestReport[], counted: (id: ServerId) => boolean): Verdict | undefined {
    let mine = this.reports.get(from);
    if (!mine) this.reports.set(from, (mine = new Map()));
    for (const r of reports) {
      if (!this.sent.has(r.zxid)) continue;
      mine.set(r.zxid, r.digest);
      if (mine.size > LEADER_REPORTS_MAX) mine.delete(mine.keys().next().value!);
    }
    for (const r of reports) {
      const v = this.judge(r.zxid, counted);
      if (v) return v;
    }
    return undefined;
  }

  private judge(zxid: Zxid, counted: (id: ServerId) => boolean): Verdict | undefined {
    const leaders = this.sent.get(zxid);
    if (leaders === undefined) return undefined;
    const agree: ServerId[] = [this.self];
    const others = new Map<string, ServerId[]>();
    for (const [id, byZxid] of this.reports) {
      const d = byZxid.get(zxid);
      if (d === undefined || !counted(id)) continue;
      if (d === leaders) agree.push(id);
      else others.set(d, [...(others.get(d) ?? []), id]);
    }
    for (const [digest, ids] of others) if (isQuorum(ids, this.voters)) return { kind: "leaderWrong", zxid, followers: ids, digest, leaders };
    const wrong = [...others.values()].flat();
    if (wrong.length > 0 && isQuorum(agree, this.voters)) {
      for (const id of wrong) this.reports.delete(id);
      return { kind: "followersWrong", zxid, followers: wrong };
    }
    return undefined;
  }
}
