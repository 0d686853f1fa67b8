// Messages and identities of the replication protocol (ZAB-style). Everything here is data:
// the transport encodes it, the core decides on it.
import type { SessionId, Zxid } from "@keeper/protocol";
import type { CredentialCheck } from "../sessions/session-auth.ts";
import type { WriteRequest } from "../requests/prep.ts";
import type { Txn } from "../txn.ts";

declare const serverIdBrand: unique symbol;
export type ServerId = number & { readonly [serverIdBrand]: true };
export const asServerId = (n: number): ServerId => n as ServerId;

export type PeerRole = "looking" | "following" | "leading";

/** A vote names a leader and the history it would bring: compared by (epoch, zxid, leader). */
export interface Vote {
  leader: ServerId;
  zxid: Zxid;
  epoch: number;
}

/**
 * What a node hands its leader: a request to turn into a transaction, or who a client is
 * (SessionAuth). `conn` is the origin's number for the client's connection: a session that
 * reconnects gets a new one, and with it no identities until its client authenticates again.
 */
export type ForwardedRequest =
  /** Checked as whoever connection `conn` of the sending node proved to be: no identity travels. */
  | { type: "write"; sessionId: SessionId; conn: number; cxid: number; request: WriteRequest }
  /**
   * The session attached on connection `conn`, whose client is at `address` and presented a TLS
   * certificate with subject `certificate` (verified by that node, which alone saw it).
   */
  | { type: "bind"; sessionId: SessionId; conn: number; address: string; certificate?: string }
  /** A credential (an auth packet) the client sent on `conn`: the leader checks it. */
  | { type: "auth"; sessionId: SessionId; conn: number; scheme: string; auth: Uint8Array }
  /** Connection `conn` closed. */
  | { type: "unbind"; sessionId: SessionId; conn: number }
  /** `token` comes back as the createSession transaction's cxid, so the origin finds its client. */
  | { type: "createSession"; token: number; timeoutMs: number; password: Uint8Array }
  | { type: "closeSession"; sessionId: SessionId; cxid: number };

export type PeerMessage =
  /** Election: a looking node's vote, or a settled node telling a looking one whom it follows. */
  | {
      type: "notification";
      vote: Vote;
      round: number;
      state: PeerRole;
      /**
       * The sender is resyncing (it dropped a state that diverged): it takes no part in choosing
       * a leader, and its vote must not be counted or adopted (see ZabReplica.resync).
       */
      resyncing?: boolean;
    }
  /**
   * Discovery: follower -> leader. `syncId` names this attempt to join: every discovery and
   * sync message echoes it, so nothing left over from an earlier attempt is taken for this one.
   */
  | {
      type: "followerInfo";
      syncId: number;
      acceptedEpoch: number;
      lastZxid: Zxid;
      /**
       * The follower is resyncing: it may have forgotten proposals it acknowledged, so it never
       * counts towards the quorum that establishes a leader (only towards commits after that).
       */
      resyncing?: boolean;
    }
  /** Discovery: leader -> follower, the epoch it proposes. */
  | { type: "leaderInfo"; syncId: number; epoch: number }
  /** Discovery: follower -> leader, once it has accepted the epoch. */
  | { type: "ackEpoch"; syncId: number; epoch: number; currentEpoch: number; lastZxid: Zxid }
  /**
   * Sync: replace state with the leader's snapshot at `zxid`. `chunks` is the header then the
   * body, or just the header when the body came before it as snapChunk messages.
   */
  | { type: "snap"; syncId: number; zxid: Zxid; chunks: Uint8Array[] }
  /** Sync: the next body chunk of a SNAP streamed in pieces (a few hundred KiB each), ahead of its "snap". */
  | { type: "snapChunk"; syncId: number; chunk: Uint8Array }
  /** Sync: drop logged transactions after `zxid` (they were never committed). */
  | { type: "trunc"; syncId: number; zxid: Zxid }
  /** Sync: transactions the follower is missing, in order. */
  | { type: "diff"; syncId: number; txns: Txn[] }
  /** Sync done: the follower now holds the leader's history up to `zxid`. */
  | { type: "newLeader"; syncId: number; epoch: number; zxid: Zxid }
  /** Follower -> leader: everything up to `zxid` is durable here (cumulative). */
  | { type: "ack"; syncId: number; epoch: number; zxid: Zxid }
  /** Leader -> follower: start serving; everything up to `commitZxid` is committed. */
  | { type: "upToDate"; syncId: number; epoch: number; commitZxid: Zxid; digest?: string }
  | { type: "proposal"; epoch: number; txn: Txn }
  /**
   * Everything up to `zxid` is committed (cumulative). `digest`: the leader's tree digest at
   * `zxid`, which a follower at that zxid compares with its own (ZooKeeper 3.6's digest check).
   */
  | { type: "commit"; epoch: number; zxid: Zxid; digest?: string }
  /**
   * Heartbeat. Leader -> follower carries the commit point and the leader's digest there
   * (`digest`, so a quiet ensemble is checked too); follower -> leader the sessions its clients
   * touched and `digests`: its own digest at the leader's commit points it reached since the
   * last ping, so the leader can tell which side of a disagreement is alone.
   */
  | { type: "ping"; epoch: number; commitZxid: Zxid; sessions: SessionId[]; digest?: string; digests?: DigestReport[] }
  /**
   * Leader -> follower: a quorum agrees with the leader's digest at `zxid` and this follower's
   * differs, so its state is wrong: it drops it and takes the leader's (ZabReplica.resync).
   */
  | { type: "resync"; epoch: number; zxid: Zxid }
  /** Follower -> leader: a client request to prepare. */
  | { type: "forward"; epoch: number; req: ForwardedRequest };

/** A replica's digest (ReplicatedState.digest) once it had applied up to `zxid`. */
export interface DigestReport {
  zxid: Zxid;
  digest: string;
}

export interface Outgoing {
  to: ServerId;
  msg: PeerMessage;
}

/** What the shell must make durable, in this order, before calling persisted(seq). */
export interface PersistBatch {
  seq: number;
  epochs?: { accepted?: number; current?: number };
  /** Replace everything stored with this snapshot (state at `zxid`). */
  snapshot?: { zxid: Zxid; chunks: Uint8Array[] };
  /** Drop logged transactions with a zxid above this. */
  truncateAfter?: Zxid;
  append: Txn[];
  /**
   * This node's state diverged: before anything else in the batch, mark the store as resyncing
   * (durably, so a crash part way resyncs again at boot), then drop every snapshot, log record
   * and commit point. The epochs stay: they are promises made to peers.
   */
  resync?: true;
  /**
   * The resync is over (the node holds an established leader's history, durably): clear the
   * mark, after everything else in the batch.
   */
  resyncDone?: true;
  /**
   * The commit point when the batch was taken: every logged transaction up to it is committed
   * and never truncated, so a restart may apply them before it joins the ensemble (as
   * ZooKeeper replays its log at load) instead of all at once when a leader is established.
   */
  committed?: Zxid;
}

export interface ZabConfig {
  self: ServerId;
  /** Every voting member, self included. */
  voters: ServerId[];
  /** Largest znode data the leader's prep accepts. */
  dataBytesMax: number;
  /** Milliseconds per tick: converts session timeouts into ticks. */
  tickMs: number;
  /** Leader heartbeat period. */
  heartbeatTicks: number;
  /** Silence after which a follower abandons its leader, and a leader a follower. */
  syncLimitTicks: number;
  /** How long discovery + sync may take before the node looks again. */
  initLimitTicks: number;
  /** After a quorum agrees, wait this long for a better vote before deciding. */
  finalizeTicks: number;
  /** A looking node re-sends its vote this often. */
  electionResendTicks: number;
  /** Committed transactions kept in memory behind the commit point, for DIFF syncs. */
  logWindowTxns: number;
  /** ...and at most about this many bytes of them (default LOG_WINDOW_BYTES). */
  logWindowBytes?: number;
  /**
   * A follower applies at most this many committed transactions per input, so a large DIFF
   * committed at once (after a SNAP streamed under load, or a long absence) never stops it for
   * long; the shell calls applyMore() while applyBehind. Default: everything at once.
   */
  applyBatchTxns?: number;
  /**
   * How the leader checks a client's credential (the shell's hashing, and its super digest).
   * Without it no credential proves anything, and every client write is checked as its address.
   */
  credentials?: CredentialCheck;
  /** Bytes per piece of a SNAP streamed to a follower (default SNAP_CHUNK_BYTES). */
  snapChunkBytes?: number;
  /**
   * Test-only: a deliberate protocol bug, so tests can prove the simulator's checkers catch
   * it. "commitWithoutQuorum": the leader commits as soon as its own log is durable.
   */
  testFault?: "commitWithoutQuorum";
}
