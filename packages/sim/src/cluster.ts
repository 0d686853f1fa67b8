// A whole ensemble of real replicas (the same ZabReplica the server runs) on simulated time,
// network and disks, with seeded faults: link breaks, partitions, crashes that lose what was
// not yet durable, restarts, and sequential clients with sessions (ephemerals, expiry, pauses)
// issuing reads and writes through any node, every operation recorded in a History.
import { BootReplay, ReplicatedState, ZabReplica, asServerId, emptyStat, quorumSize, type ForwardedRequest, type PersistBatch, type ServerId, type TreeOutcome, type Txn, type WriteRequest, type ZabConfig } from "@keeper/core";
import { Code, CreateMode, OPEN_ACL_UNSAFE, type SessionId, type Zxid } from "@keeper/protocol";
import { HistoryChecker, InvariantViolation } from "./checker.ts";
import { SimDisk } from "./disk.ts";
import { History } from "./history.ts";
import { ABSENT, type HistoryOp, type KeyState, type OpInput } from "./linearizability.ts";
import { SimNetwork, type MessageFaults } from "./network.ts";
import { Random } from "./random.ts";

export interface SimOptions {
  nodes: 3 | 5;
  seed: number;
  /** Simulated milliseconds to run. */
  durationMs: number;
  tickMs: number;
  latencyMs: [number, number];
  fsyncMs: [number, number];
  /** Per simulated millisecond, the chance of each fault starting. */
  faultRate: number;
  /**
   * Per simulated millisecond, the chance of a disk fault: a flipped bit in a stored record (log
   * or snapshot; it fails its check at the next boot, which follows at once half the time) or a
   * full disk for a while (writes fail, the node refuses client writes, then recovers).
   */
  diskFaultRate: number;
  /** Loss, duplication and reordering of the messages ZAB tolerates them on, during storms. */
  messageFaults: MessageFaults | undefined;
  /** Snapshot a node's disk after this many applies (exercises SNAP sync). */
  snapshotEvery: number;
  logWindowTxns: number;
  clients: number;
  /** Test-only protocol bug injected into every replica (to prove the checkers catch bugs). */
  testFault?: "commitWithoutQuorum";
  /**
   * Test-only bug in the simulated server, to prove the checkers catch it.
   * "syncReadEarly": answer sync+read at once from the local tree, without waiting for the sync.
   * "replayBadRecords": a store that does not check what it reads replays flipped records.
   */
  simFault?: "syncReadEarly" | "replayBadRecords";
  /** Keys the clients work on: /k0 .. /k{keys-1}. */
  keys: number;
  /** Session timeouts the clients ask for, ms. */
  sessionTimeoutMs: [number, number];
  /** Per client operation, the chance the client pauses (no pings) past its session timeout. */
  clientPauseRate: number;
  /** Check writes + sync-reads for linearizability at the end of the run. */
  checkLinearizability: boolean;
  /** Linearizability is checked on at most this many ops per key (a prefix of the history). */
  maxOpsPerKey: number;
}

/** The znode a memory flip adds (see SimCluster.memoryFlip); no client uses it. */
const CORRUPT_PATH = "/sim-bitrot";
const isCorrupted = (state: ReplicatedState): boolean => state.tree.node(CORRUPT_PATH) !== undefined;
/** The digest the history checker compares, or none for a replica corrupted on purpose. */
const checkedDigest = (state: ReplicatedState): string | undefined => (isCorrupted(state) ? undefined : state.tree.digest());

/** SNAP pieces in the simulation: small, so one SNAP is many messages. */
const SNAP_CHUNK_BYTES = 96;
/** Nodes of a streamed SNAP written per simulation step. */
const SNAP_NODES_PER_STEP = 2;
/** Committed transactions a follower applies per input: small, so a backlog spans many steps. */
const APPLY_BATCH_TXNS = 3;

export const defaultSimOptions: Omit<SimOptions, "seed"> = {
  nodes: 3,
  durationMs: 20_000,
  tickMs: 50,
  latencyMs: [1, 15],
  fsyncMs: [1, 8],
  faultRate: 0.002,
  diskFaultRate: 0.0005,
  messageFaults: { drop: 0.02, duplicate: 0.03, reorder: 0.1, lateMs: 200 },
  snapshotEvery: 40,
  logWindowTxns: 20,
  clients: 4,
  keys: 5,
  sessionTimeoutMs: [1000, 3000],
  clientPauseRate: 0.004,
  checkLinearizability: true,
  maxOpsPerKey: 1000,
};

interface SimNode {
  id: ServerId;
  disk: SimDisk;
  replica: ZabReplica | undefined;
  inFlight: { batch: PersistBatch; at: number } | undefined;
  appliedSinceSnapshot: number;
  nextTickAt: number;
}

/** A client as ZooKeeper's sees itself: one connection, one session, one op at a time. */
interface SimClient {
  id: number;
  node: ServerId | undefined;
  session: SessionId | undefined;
  timeoutMs: number;
  /** Its node applied the closeSession of its session: the server ended it. */
  sessionEnded: boolean;
  /** createSession in flight: its token (0 if none) and when it was asked. */
  token: number;
  tokenAt: number;
  op: { rec: HistoryOp; cxid: number; at: number } | undefined;
  nextCxid: number;
  nextOpAt: number;
  lastPingAt: number;
  pausedUntil: number;
  /** The highest zxid this client has seen: it never connects to a node behind it. */
  seen: number;
}

export class SimCluster {
  readonly rng: Random;
  private readonly diskRng: Random;
  /** opts.diskFaultRate until the schedule ends (opts stay as given, for the replay command). */
  private diskFaultRate: number;
  readonly net: SimNetwork;
  readonly check = new HistoryChecker();
  readonly history: History;
  readonly keys: string[];
  readonly nodes = new Map<ServerId, SimNode>();
  readonly clients: SimClient[] = [];
  now = 0;
  readonly events: string[] = [];
  private readonly healAt = new Map<string, number>();
  private readonly restartAt = new Map<ServerId, number>();
  stats = { crashes: 0, partitions: 0, breaks: 0, bitFlips: 0, memoryFlips: 0, runtimeResyncs: 0, corruptedAtEnd: 0, resyncBoots: 0, diskFulls: 0, writesRefusedDiskFull: 0, acked: 0, reads: 0, syncReads: 0, unknown: 0, sessions: 0, expiries: 0, pauses: 0, snaps: 0, snapChunks: 0, bootReplayed: 0, appliesDeferred: 0 };
  private nextToken = 1;

  constructor(readonly opts: SimOptions) {
    this.rng = new Random(opts.seed);
    // Disk faults draw from their own stream: with diskFaultRate 0 a seed runs exactly as it
    // did before they existed, so pinned regression seeds keep their schedules.
    this.diskRng = new Random(opts.seed ^ 0x5eed_d15c);
    this.diskFaultRate = opts.diskFaultRate;
    this.net = new SimNetwork(this.rng, opts.latencyMs);
    this.keys = Array.from({ length: opts.keys }, (_, i) => `/k${i}`);
    this.history = new History(this.keys, opts.maxOpsPerKey);
    for (let i = 1; i <= opts.nodes; i++) {
      const id = asServerId(i);
      this.nodes.set(id, { id, disk: new SimDisk(), replica: undefined, inFlight: undefined, appliedSinceSnapshot: 0, nextTickAt: this.rng.int(opts.tickMs) });
    }
    for (const n of this.nodes.values()) this.boot(n);
    for (let c = 0; c < opts.clients; c++) {
      this.clients.push({ id: c, node: undefined, session: undefined, timeoutMs: 0, sessionEnded: false, token: 0, tokenAt: 0, op: undefined, nextCxid: 1, nextOpAt: 200 + this.rng.int(500), lastPingAt: 0, pausedUntil: 0, seen: 0 });
    }
  }

  private config(id: ServerId): ZabConfig {
    return {
      self: id,
      voters: [...this.nodes.keys()],
      tickMs: this.opts.tickMs,
      dataBytesMax: 1024 * 1024,
      heartbeatTicks: 1,
      syncLimitTicks: 5,
      initLimitTicks: 10,
      finalizeTicks: 1,
      electionResendTicks: 4,
      logWindowTxns: this.opts.logWindowTxns,
      // Tiny pieces, a few nodes per step: a SNAP spans many steps, with commits, crashes and
      // partitions landing in the middle of it.
      snapChunkBytes: SNAP_CHUNK_BYTES,
      // A few applies per step: a DIFF committed at once is applied over many steps, with
      // client reads, crashes and new commits in between.
      applyBatchTxns: APPLY_BATCH_TXNS,
      ...(this.opts.testFault ? { testFault: this.opts.testFault } : {}),
    };
  }

  private log(line: string): void {
    this.events.push(`${String(this.now).padStart(6)} ${line}`);
    if (this.events.length > 400) this.events.shift();
  }

  private boot(n: SimNode): void {
    const boot = n.disk.boot(this.opts.simFault === "replayBadRecords");
    if (boot.resyncing) {
      this.stats.resyncBoots++;
      this.log(`node ${n.id} boots resyncing: ${boot.why}`);
    }
    // The committed part of the log is applied before the node joins, as the server does; the
    // checker sees each of those transactions as an apply like any other.
    let prev = boot.state.lastZxid;
    new BootReplay(boot, boot.committed).step(Infinity, (txn) => {
      this.check.applied(n.id, prev, txn, checkedDigest(boot.state));
      prev = txn.hdr.zxid;
      this.stats.bootReplayed++;
    });
    const replica: ZabReplica = new ZabReplica(this.config(n.id), boot, {
      applied: (txn, outcome) => this.onApplied(n, replica, txn, outcome),
      stateReset: (state) => {
        this.prevApplied.set(n.id, state.lastZxid);
        this.checkEphemeralOwners(n.id, replica);
      },
      // Replicas that apply one history never differ: a reported divergence is a bug.
      diverged: (e) => {
        // Replicas that apply one history never differ unless a fault corrupted one.
        if (this.stats.memoryFlips === 0) throw new InvariantViolation(`node ${n.id}: ${e.action} with no corruption injected: ${e.reason}`);
        this.log(`node ${n.id} ${e.action}: ${e.reason}`);
        if (e.action === "resync") this.stats.runtimeResyncs++;
      },
      roleChanged: (s) => {
        this.log(`node ${n.id} ${s.role}${s.serving ? " serving" : ""} epoch ${s.currentEpoch} leader ${s.leader ?? "-"}${s.integrity !== "ok" ? ` (${s.integrity})` : ""}${s.role === "looking" ? `: ${s.electionReason}` : ""}`);
        if (s.role === "leading" && s.serving) this.check.leading(n.id, s.currentEpoch);
        if (!s.serving) this.dropClientsOf(n.id);
      },
    });
    n.replica = replica;
    n.nextTickAt = this.now + 1 + this.rng.int(this.opts.tickMs);
    this.prevApplied.set(n.id, boot.state.lastZxid);
    replica.now = this.now;
    replica.start();
    for (const other of this.nodes.values()) {
      if (other === n || !other.replica || !this.net.linkUp(n.id, other.id)) continue;
      replica.peerUp(other.id);
      other.replica.peerUp(n.id);
    }
    this.drainAll();
  }

  private onApplied(n: SimNode, replica: ZabReplica, txn: Txn, outcome: TreeOutcome): void {
    const prev = this.prevApplied.get(n.id) ?? (0 as Zxid);
    const z = txn.hdr.zxid;
    const first = !this.check.isCommitted(z);
    this.check.applied(n.id, prev, txn, checkedDigest(replica.state));
    this.prevApplied.set(n.id, z);
    n.appliedSinceSnapshot++;
    const tree = replica.state.tree;
    // Ephemerals never outlive their session, on any node.
    this.checkEphemeralOwners(n.id, replica);
    const body = txn.body;
    if (body.type === "closeSession" && tree.ephemerals(txn.hdr.sessionId).size > 0) {
      throw new InvariantViolation(`node ${n.id} applied closeSession of 0x${txn.hdr.sessionId.toString(16)} at ${z.toString(16)} but it still owns ${[...tree.ephemerals(txn.hdr.sessionId)].join(", ")}`);
    }
    if (first) {
      // The committed value of every key this transaction changed, for checking plain reads;
      // and a session's expiry as one op per ephemeral key it deleted, at the commit instant.
      if (body.type === "closeSession") {
        for (const path of body.ephemerals) if (this.keys.includes(path)) this.history.expired(path, txn.hdr.sessionId, this.now, z, n.id);
      }
      for (const path of this.keysTouched(txn)) this.history.committedValue(path, z, this.keyState(replica, path));
    }
    // Answer the clients connected here.
    for (const c of this.clients) {
      if (c.node !== n.id) continue;
      if (body.type === "createSession") {
        if (c.token !== 0 && txn.hdr.cxid === c.token && c.session === undefined) {
          c.session = txn.hdr.sessionId;
          c.sessionEnded = false;
          c.token = 0;
          c.seen = Math.max(c.seen, z);
          c.lastPingAt = this.now;
          this.stats.sessions++;
          this.check.acknowledged(z, `session of client ${c.id}`);
        }
        continue;
      }
      if (c.session === undefined || txn.hdr.sessionId !== c.session) continue;
      if (body.type === "closeSession") {
        // The server ends the session and closes the connection: an op in flight is lost.
        c.sessionEnded = true;
        this.stats.expiries++;
        if (c.op) this.loseOp(c);
        continue;
      }
      if (!c.op || c.op.cxid !== txn.hdr.cxid) continue;
      const rec = c.op.rec;
      c.op = undefined;
      c.seen = Math.max(c.seen, z);
      this.check.acknowledged(z, `client ${c.id} op #${rec.id} ${rec.input.kind} ${rec.key}`);
      if (rec.input.kind === "syncGet") {
        // Keeper's sync+read: read the local tree the moment the sync is applied.
        this.stats.syncReads++;
        this.history.complete(rec, this.now, outcome.err === Code.OK ? this.readOutput(replica, rec.key) : { err: outcome.err }, z);
      } else {
        this.stats.acked++;
        const version = outcome.result?.type === "setData" ? outcome.result.stat.version : undefined;
        this.history.complete(rec, this.now, { err: outcome.err, ...(version !== undefined ? { version } : {}) }, z);
      }
      if (outcome.err === Code.SESSIONEXPIRED) c.sessionEnded = true;
    }
  }

  private keysTouched(txn: Txn): string[] {
    const b = txn.body;
    switch (b.type) {
      case "create":
      case "delete":
      case "setData":
        return this.keys.includes(b.path) ? [b.path] : [];
      case "multi":
        return b.ops.map((o) => o.path).filter((p) => this.keys.includes(p));
      case "closeSession":
        return b.ephemerals.filter((p) => this.keys.includes(p));
      default:
        return [];
    }
  }

  private keyState(replica: ZabReplica, path: string): KeyState {
    const node = replica.state.tree.node(path);
    if (!node) return ABSENT;
    return { exists: true, data: new TextDecoder().decode(node.data), version: node.stat.version, owner: node.stat.ephemeralOwner };
  }

  private readOutput(replica: ZabReplica, path: string) {
    const s = this.keyState(replica, path);
    return s.exists ? { err: Code.OK, exists: true, data: s.data, version: s.version, owner: s.owner } : { err: Code.OK, exists: false };
  }

  /** No node holds an ephemeral whose session is not in its own session table. */
  private checkEphemeralOwners(id: ServerId, replica: ZabReplica): void {
    const { tree, sessions } = replica.state;
    for (const s of tree.sessionsWithEphemerals()) {
      if (!sessions.has(s)) throw new InvariantViolation(`node ${id} at ${tree.lastZxid.toString(16)}: ephemerals ${[...tree.ephemerals(s)].join(", ")} owned by session 0x${s.toString(16)}, which is not in its session table`);
    }
  }

  private readonly prevApplied = new Map<ServerId, Zxid>();

  /** The client's connection is gone before its answer came: the outcome is unknown. */
  private loseOp(c: SimClient): void {
    if (!c.op) return;
    this.history.lost(c.op.rec);
    this.stats.unknown++;
    c.op = undefined;
  }

  private dropClientsOf(id: ServerId): void {
    for (const c of this.clients) if (c.node === id) this.disconnect(c);
  }

  private disconnect(c: SimClient): void {
    c.node = undefined;
    // Like ZooKeeper's client, wait a little before reconnecting, so clients spread out.
    c.nextOpAt = this.now + this.rng.range(1, 300);
    this.loseOp(c);
    c.token = 0;
  }

  /** Carries out every node's outputs: start persists, send messages. */
  private drainAll(): void {
    for (const n of this.nodes.values()) this.drain(n);
  }

  private drain(n: SimNode): void {
    const r = n.replica;
    if (!r) return;
    if (!n.inFlight) {
      const batch = r.takePersist();
      if (batch) n.inFlight = { batch, at: this.now + this.rng.range(this.opts.fsyncMs[0], this.opts.fsyncMs[1]) };
    }
    for (const { to, msg } of r.takeMessages()) {
      if (msg.type === "snap") this.stats.snaps++;
      else if (msg.type === "snapChunk") this.stats.snapChunks++;
      this.net.send(this.now, n.id, to, msg);
    }
  }

  // ---- faults --------------------------------------------------------------------------

  private crash(n: SimNode): void {
    this.log(`crash node ${n.id}`);
    this.stats.crashes++;
    n.replica = undefined;
    n.inFlight = undefined; // not durable: lost
    this.prevApplied.delete(n.id);
    this.dropClientsOf(n.id);
    for (const other of this.nodes.values()) {
      if (other === n) continue;
      this.net.breakLink(n.id, other.id);
      other.replica?.peerDown(n.id);
    }
    this.restartAt.set(n.id, this.now + this.rng.range(100, 3000));
  }

  /**
   * A flipped bit in one stored record of a node (half the time the node crashes at once, so its
   * next boot reads it), or its disk full for a while. Never on a node whose disk is already
   * failing this way: one bad record per node between boots is enough to exercise every path.
   */
  private diskFault(): void {
    const n = this.diskRng.pick([...this.nodes.values()]);
    if (this.diskRng.chance(0.2)) return this.memoryFlip(n);
    if (this.diskRng.chance(0.5)) {
      // Data loss on a majority is beyond what replication covers (the ensemble then waits,
      // safely, for an operator): flips stay on a minority of nodes at any time.
      const damaged = [...this.nodes.values()].filter((x) => x !== n && this.damaged(x)).length;
      if (damaged + 1 > this.nodes.size - quorumSize(this.nodes.size)) return;
      const what = n.disk.flip(this.diskRng.next());
      if (!what) return;
      this.stats.bitFlips++;
      this.log(`bit flip on node ${n.id}: ${what}`);
      if (n.replica && this.diskRng.chance(0.5) && [...this.nodes.values()].filter((x) => x.replica).length > 1) this.crash(n);
      return;
    }
    n.disk.fullUntil = this.now + this.diskRng.range(200, 3000);
    this.stats.diskFulls++;
    this.log(`disk full on node ${n.id} until ${n.disk.fullUntil}`);
  }

  /** Holds a record that fails its check, is resyncing (it may have lost what it acked), or its memory was corrupted. */
  private damaged(n: SimNode): boolean {
    return n.disk.hasBadRecords || n.disk.resyncMark || n.replica?.resyncing === true || (n.replica !== undefined && isCorrupted(n.replica.state));
  }

  /**
   * Bad memory: a znode appears in one running replica's tree that no transaction created. Its
   * state now differs from everyone's at the same zxid; only the run-time digest check can tell,
   * and the node must stop serving and resync (or, a leader, be outvoted and resync). Clients
   * never read the node, so the history checks stay exact; its digest is exempt until it resyncs.
   */
  private memoryFlip(n: SimNode): void {
    const r = n.replica;
    if (!r || isCorrupted(r.state)) return;
    const damaged = [...this.nodes.values()].filter((x) => x !== n && this.damaged(x)).length;
    if (damaged + 1 > this.nodes.size - quorumSize(this.nodes.size)) return;
    r.state.tree.restoreNode(CORRUPT_PATH, new Uint8Array([1]), OPEN_ACL_UNSAFE, { ...emptyStat(), czxid: r.state.lastZxid, mzxid: r.state.lastZxid, pzxid: r.state.lastZxid });
    this.stats.memoryFlips++;
    this.log(`memory flip on node ${n.id} (${r.status().role}) at ${r.state.lastZxid.toString(16)}`);
  }

  private partition(): void {
    const ids = [...this.nodes.keys()];
    const a = this.rng.pick(ids);
    const b = this.rng.pick(ids.filter((x) => x !== a));
    const oneWay = this.rng.chance(0.3);
    this.log(`partition ${a}${oneWay ? "->" : "<->"}${b}`);
    this.stats.partitions++;
    this.net.cut.add(`${a}>${b}`);
    if (!oneWay) this.net.cut.add(`${b}>${a}`);
    this.cutLink(a, b);
    this.healAt.set(`${a}>${b}`, this.now + this.rng.range(200, 4000));
    if (!oneWay) this.healAt.set(`${b}>${a}`, this.healAt.get(`${a}>${b}`)!);
  }

  private cutLink(a: ServerId, b: ServerId): void {
    this.net.breakLink(a, b);
    this.nodes.get(a)!.replica?.peerDown(b);
    this.nodes.get(b)!.replica?.peerDown(a);
  }

  private reconnect(a: ServerId, b: ServerId): void {
    const na = this.nodes.get(a)!;
    const nb = this.nodes.get(b)!;
    if (!na.replica || !nb.replica || !this.net.linkUp(a, b)) return;
    na.replica.peerUp(b);
    nb.replica.peerUp(a);
  }

  /** Faults come in storms with calm between (so sessions can outlive a leader and expire). */
  private calm = false;
  private phaseUntil = 0;

  private injectFaults(): void {
    if (this.now >= this.phaseUntil) {
      this.calm = !this.calm && this.rng.chance(0.5);
      this.phaseUntil = this.now + this.rng.range(1000, 4000);
      this.net.messageFaults = this.calm ? undefined : this.opts.messageFaults;
    }
    if (this.calm) return;
    if (this.rng.chance(this.opts.faultRate)) {
      const n = this.rng.pick([...this.nodes.values()].filter((x) => x.replica));
      if (n && [...this.nodes.values()].filter((x) => x.replica).length > 1) this.crash(n);
    }
    if (this.rng.chance(this.opts.faultRate)) this.partition();
    if (this.diskFaultRate > 0 && this.diskRng.chance(this.diskFaultRate)) this.diskFault();
    if (this.rng.chance(this.opts.faultRate)) {
      const ids = [...this.nodes.keys()];
      const a = this.rng.pick(ids);
      const b = this.rng.pick(ids.filter((x) => x !== a));
      this.log(`break link ${a}-${b}`);
      this.stats.breaks++;
      this.cutLink(a, b);
      this.reconnect(a, b);
    }
  }

  private healAndRestart(): void {
    for (const [k, at] of this.healAt) {
      if (at > this.now) continue;
      this.healAt.delete(k);
      this.net.cut.delete(k);
      const [a, b] = k.split(">").map((x) => asServerId(Number(x))) as [ServerId, ServerId];
      this.log(`heal ${a}>${b}`);
      this.reconnect(a, b);
    }
    for (const [id, at] of this.restartAt) {
      if (at > this.now) continue;
      this.restartAt.delete(id);
      this.log(`restart node ${id}`);
      this.boot(this.nodes.get(id)!);
    }
  }

  // ---- clients -------------------------------------------------------------------------

  /** After the fault schedule, clients stop issuing so the ensemble can settle. */
  private quiescing = false;

  private clientStep(c: SimClient): void {
    if (c.pausedUntil > this.now) return;
    if (c.node === undefined) {
      if (c.nextOpAt > this.now) return; // reconnect backoff
      // Connect: a serving node that is not behind what this client has seen (ZooKeeper
      // refuses a client whose last zxid is ahead of the server's).
      const serving = [...this.nodes.values()].filter((n) => n.replica?.status().serving && n.replica.state.lastZxid >= c.seen);
      if (serving.length === 0) return;
      const n = this.rng.pick(serving);
      c.node = n.id;
      c.lastPingAt = this.now;
      // The session moves with the client; a node that no longer has it says it expired.
      if (c.session !== undefined && !n.replica!.state.sessions.has(c.session)) c.sessionEnded = true;
      else if (c.session !== undefined) n.replica!.touchSessions([c.session]);
    }
    const r = this.nodes.get(c.node)!.replica!;
    r.now = this.now;
    if (c.session !== undefined && c.sessionEnded) {
      c.session = undefined;
      c.sessionEnded = false;
    }
    if (c.session === undefined) {
      if (c.token !== 0) {
        // No answer within the timeout: reconnect elsewhere and ask again.
        if (this.now - c.tokenAt > c.timeoutMs) this.disconnect(c);
        return;
      }
      if (this.quiescing) return;
      if (this.refusedDiskFull(c)) return;
      c.timeoutMs = this.rng.range(this.opts.sessionTimeoutMs[0], this.opts.sessionTimeoutMs[1]);
      c.token = this.nextToken++;
      c.tokenAt = this.now;
      if (!r.submit({ type: "createSession", token: c.token, timeoutMs: c.timeoutMs, password: new Uint8Array(4) })) c.token = 0;
      return;
    }
    // Pings keep the session alive while the client waits or idles.
    if (this.now - c.lastPingAt >= c.timeoutMs / 3) this.touch(c, r);
    if (c.op) {
      // ZooKeeper's client gives up on a connection silent for 2/3 of the timeout.
      if (this.now - c.op.at > (c.timeoutMs * 2) / 3) this.disconnect(c);
      return;
    }
    if (this.quiescing || c.nextOpAt > this.now) return;
    c.nextOpAt = this.now + this.rng.range(2, 40);
    if (this.rng.chance(this.opts.clientPauseRate)) {
      // A long GC pause: no pings past the session timeout, so the session expires for real.
      c.pausedUntil = this.now + c.timeoutMs + this.rng.range(200, 3000);
      this.stats.pauses++;
      this.log(`client ${c.id} pauses until ${c.pausedUntil} (session 0x${c.session.toString(16)}, timeout ${c.timeoutMs})`);
      return;
    }
    if (this.rng.chance(0.01)) {
      // Move to another node now and then (as a client rebalancing would): the session goes along.
      this.log(`client ${c.id} moves off node ${c.node}`);
      this.disconnect(c);
      return;
    }
    this.touch(c, r);
    this.issue(c, r);
  }

  private refusedDiskFull(c: SimClient): boolean {
    if (!this.nodes.get(c.node!)!.disk.isFull(this.now)) return false;
    this.stats.writesRefusedDiskFull++;
    return true;
  }

  private touch(c: SimClient, r: ZabReplica): void {
    c.lastPingAt = this.now;
    r.touchSessions([c.session!]);
  }

  private issue(c: SimClient, r: ZabReplica): void {
    const session = c.session!;
    // Skewed towards /k0, so that clients contend on one key while the others stay simple.
    const key = this.rng.chance(0.4) ? this.keys[0]! : this.rng.pick(this.keys);
    const data = `c${c.id}.${this.nextToken++}`;
    const bytes = new TextEncoder().encode(data);
    const guess = (): number => (this.rng.chance(0.5) ? -1 : this.rng.int(3));
    let input: OpInput;
    let request: WriteRequest | undefined;
    const roll = this.rng.int(10);
    if (roll < 2) {
      const ephemeral = this.rng.chance(0.5);
      input = { kind: "create", data, owner: ephemeral ? session : 0 };
      request = { type: "create", path: key, data: bytes, acl: [...OPEN_ACL_UNSAFE], mode: ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT, ttlMs: 0 };
    } else if (roll < 3) {
      const version = guess();
      input = { kind: "delete", version };
      request = { type: "delete", path: key, version };
    } else if (roll < 6) {
      const version = guess();
      input = { kind: "setData", data, version };
      request = { type: "setData", path: key, data: bytes, version };
    } else if (roll < 8) {
      input = { kind: "get" };
    } else {
      input = { kind: "syncGet" };
      request = { type: "sync", path: key };
    }
    // A node in the NOSPACE alarm refuses writes at once: the client gets an error, nothing happened.
    if (request !== undefined && input.kind !== "syncGet" && this.refusedDiskFull(c)) return;
    const rec = this.history.invoke(c.id, session, key, input, this.now, c.node);
    if (request === undefined || (input.kind === "syncGet" && this.opts.simFault === "syncReadEarly")) {
      // A plain read is answered at once from the node's tree: sequentially consistent only.
      // (With the syncReadEarly fault, so is a sync+read: the bug the checker must catch.)
      this.stats.reads++;
      const z = r.state.lastZxid;
      this.history.complete(rec, this.now, this.readOutput(r, key), z);
      c.seen = Math.max(c.seen, z);
      return;
    }
    const cxid = c.nextCxid++;
    c.op = { rec, cxid, at: this.now };
    if (!r.submit({ type: "write", sessionId: session, cxid, request, conn: 0 } as ForwardedRequest)) this.disconnect(c);
  }

  // ---- the loop ------------------------------------------------------------------------

  /** Advances simulated time by 1 ms, running everything due. */
  step(): void {
    this.now++;
    this.injectFaults();
    this.healAndRestart();
    for (const m of this.net.due(this.now)) {
      const r = this.nodes.get(m.to)?.replica;
      if (!r) continue;
      r.now = this.now;
      r.receive(m.from, m.msg);
      this.drain(this.nodes.get(m.to)!);
    }
    for (const n of this.nodes.values()) {
      const r = n.replica;
      if (!r) continue;
      r.now = this.now;
      // A full disk fails the write: the batch is held and written once space returns (as the
      // server's NOSPACE alarm does); nothing in it is acknowledged meanwhile.
      if (n.inFlight && n.inFlight.at <= this.now && !n.disk.isFull(this.now)) {
        const b = n.inFlight.batch;
        n.disk.write(b);
        n.inFlight = undefined;
        r.persisted(b.seq, b.append.length > 0 ? b.append[b.append.length - 1]!.hdr.zxid : undefined);
      }
      if (n.nextTickAt <= this.now) {
        n.nextTickAt += this.opts.tickMs;
        r.tick();
      }
      if (r.streaming) r.streamSnapshots(SNAP_NODES_PER_STEP);
      if (r.applyBehind) {
        this.stats.appliesDeferred++;
        r.applyMore();
      }
      if (n.appliedSinceSnapshot >= this.opts.snapshotEvery && !n.inFlight) {
        n.disk.compact(r.state, 5);
        n.appliedSinceSnapshot = 0;
      }
      this.drain(n);
    }
    for (const c of this.clients) this.clientStep(c);
    this.drainAll();
  }

  /** Runs the schedule, then heals everything and checks the ensemble converges. */
  run(): void {
    try {
      while (this.now < this.opts.durationMs) this.step();
      this.healEverything();
      this.quiescing = true;
      const settleUntil = this.now + 15_000;
      while (this.now < settleUntil && !this.converged()) this.step();
      if (!this.converged()) throw new InvariantViolation(`did not converge after healing: ${this.describe()}`);
      // A corrupted leader that syncs a follower by SNAP hands it the corruption, and a copy
      // agrees with its source: the digest check cannot catch that (docs/deployment.md). Counted,
      // not failed; everything else (committed order, acknowledged writes, linearizability,
      // convergence) must hold regardless.
      this.stats.corruptedAtEnd = [...this.nodes.values()].filter((n) => isCorrupted(n.replica!.state)).length;
      this.check.checkAcknowledged();
      if (this.opts.checkLinearizability) this.history.checkLinearizability();
    } catch (e) {
      if (e instanceof Error) e.message += `\nseed ${this.opts.seed} (${this.opts.nodes} nodes); last events:\n${this.events.slice(-40).join("\n")}\nreplay: ${this.replayCommand()}`;
      throw e;
    }
  }

  replayCommand(): string {
    const o = this.opts;
    const mf = o.messageFaults;
    const dmf = defaultSimOptions.messageFaults;
    const sameFaults = mf === dmf || (mf !== undefined && dmf !== undefined && mf.drop === dmf.drop && mf.duplicate === dmf.duplicate && mf.reorder === dmf.reorder && mf.lateMs === dmf.lateMs);
    const messageFaults = sameFaults ? "" : ` --message-faults ${mf ? `${mf.drop},${mf.duplicate},${mf.reorder},${mf.lateMs}` : "off"}`;
    const diskFaults = o.diskFaultRate !== defaultSimOptions.diskFaultRate ? ` --disk-faults ${o.diskFaultRate}` : "";
    const extra = `${diskFaults}${o.testFault ? ` --fault ${o.testFault}` : ""}${o.simFault ? ` --fault ${o.simFault}` : ""}${o.durationMs !== defaultSimOptions.durationMs ? ` --duration ${o.durationMs}` : ""}${messageFaults}`;
    return `npm run sim -- --nodes ${o.nodes} --seed ${o.seed}${extra}`;
  }

  private healEverything(): void {
    this.opts.faultRate = 0;
    this.diskFaultRate = 0;
    for (const n of this.nodes.values()) n.disk.fullUntil = 0;
    this.net.messageFaults = undefined;
    for (const k of [...this.healAt.keys()]) this.healAt.set(k, this.now);
    for (const k of [...this.restartAt.keys()]) this.restartAt.set(k, this.now);
    this.healAndRestart();
  }

  converged(): boolean {
    const rs = [...this.nodes.values()].map((n) => n.replica);
    if (rs.some((r) => !r || !r.status().serving)) return false;
    const zx = new Set(rs.map((r) => r!.state.lastZxid));
    const dg = new Set(rs.map((r) => r!.state.tree.digest()));
    return zx.size === 1 && dg.size === 1 && this.clients.every((c) => c.op === undefined);
  }

  describe(): string {
    return [...this.nodes.values()].map((n) => {
      const s = n.replica?.status();
      return s ? `${n.id}:${s.role}${s.serving ? "*" : ""} e${s.currentEpoch} log ${s.lastLoggedZxid.toString(16)} commit ${s.committedZxid.toString(16)}` : `${n.id}:down`;
    }).join(", ");
  }
}
