// One node's Prometheus metrics, rendered by prom-client. Names are ZooKeeper's (its Prometheus
// provider exports them without a prefix) where the fact is the same, so dashboards and alerts
// written for ZooKeeper read Keeper; facts ZooKeeper has no name for carry a keeper_ prefix.
// Times are in milliseconds, as ZooKeeper's; histograms where ZooKeeper has summaries, so that
// quantiles can be aggregated across nodes (histogram_quantile) and _sum/_count still match.
//
// Gauges and counters are read from one facts snapshot at scrape time (the same one /status
// shows), so the request path only pays for the histograms it feeds.
import { statfs } from "node:fs/promises";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { FastHistogram } from "./fast-histogram.ts";
import type { Logger } from "../logger.ts";
import type { MetricFacts } from "./facts.ts";
import { RequestLatency } from "./request-latency.ts";

/** Request and disk latencies: 0.1 ms (a read) to 10 s (a stalled disk). */
const LATENCY_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Elections, syncs and snapshots: 10 ms to 2 min. */
const PHASE_BUCKETS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000];

const ROLES = ["looking", "following", "leading"] as const;

export class NodeMetrics {
  readonly registry = new Registry();
  readonly requests: RequestLatency;
  /** One synced LevelDB batch write of the log (ZooKeeper: fsynctime). */
  readonly fsyncMs: FastHistogram;
  /** From the leader stamping a transaction to this node applying it (ZooKeeper: propagation_latency). */
  readonly propagationMs: FastHistogram;
  readonly snapshotMs: FastHistogram;
  readonly electionMs: FastHistogram;
  readonly followerSyncMs: FastHistogram;
  readonly leaderSyncMs: FastHistogram;
  readonly lookingCount: Counter;

  private readonly gauges = new Map<string, Gauge>();
  private readonly counters = new Map<string, { counter: Counter; last: number }>();
  private readonly role: Gauge<"role">;
  private readonly peerConnected: Gauge<"peer">;
  private readonly followerLag: Gauge<"follower">;
  private readonly followerSynced: Gauge<"follower">;

  constructor(
    private readonly dataDir: string,
    slowRequestMs: number,
    log: Logger,
  ) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    const histogram = (name: string, help: string, buckets: number[]) => new FastHistogram(name, help, buckets, undefined, registry);
    const readLatency = new FastHistogram("readlatency", "Read request latency on this node in ms, arrival to reply, by operation", LATENCY_BUCKETS_MS, "op", registry);
    const updateLatency = new FastHistogram("updatelatency", "Update request latency on this node in ms, arrival to reply (after commit and apply), by operation", LATENCY_BUCKETS_MS, "op", registry);
    this.requests = new RequestLatency(readLatency, updateLatency, slowRequestMs, log);
    this.fsyncMs = histogram("fsynctime", "Time to make one batch of the transaction log durable, in ms", LATENCY_BUCKETS_MS);
    this.propagationMs = histogram("propagation_latency", "Time from the leader stamping a transaction to this node applying it, in ms (leader's wall clock)", LATENCY_BUCKETS_MS);
    this.snapshotMs = histogram("snapshottime", "Time to write one snapshot, in ms", PHASE_BUCKETS_MS);
    this.electionMs = histogram("election_time", "Time from starting to look for a leader to deciding on one, in ms", PHASE_BUCKETS_MS);
    this.followerSyncMs = histogram("follower_sync_time", "Time for this node, as a follower, to sync with a new leader and serve, in ms", PHASE_BUCKETS_MS);
    this.leaderSyncMs = histogram("keeper_leader_sync_time", "Time for this node, as a new leader, to sync a quorum and serve, in ms", PHASE_BUCKETS_MS);
    this.lookingCount = new Counter({ name: "looking_count", help: "Elections this node started (times it went LOOKING)", registers: [registry] });
    this.role = new Gauge({ name: "keeper_role", help: "1 for this node's current role (looking, following, leading), 0 for the others", labelNames: ["role"], registers: [registry] });
    this.peerConnected = new Gauge({ name: "keeper_peer_connected", help: "1 while the peer link to this ensemble member is up", labelNames: ["peer"], registers: [registry] });
    this.followerLag = new Gauge({ name: "keeper_follower_lag_txns", help: "On the leader: logged transactions each synced follower has not yet acknowledged (at least the in-memory log window's length when it is behind all of it)", labelNames: ["follower"], registers: [registry] });
    this.followerSynced = new Gauge({ name: "keeper_follower_synced", help: "On the leader: 1 for a follower that is synced and acknowledging proposals, 0 for one still syncing", labelNames: ["follower"], registers: [registry] });
    for (const [name, help] of GAUGES) this.gauges.set(name, new Gauge({ name, help, registers: [registry] }));
    for (const [name, help] of COUNTERS) this.counters.set(name, { counter: new Counter({ name, help, registers: [registry] }), last: 0 });
    const disk = { free: new Gauge({ name: "keeper_data_dir_free_bytes", help: "Free bytes on the file system of the data directory (for unprivileged users)", registers: [registry] }), size: new Gauge({ name: "keeper_data_dir_size_bytes", help: "Size in bytes of the file system of the data directory", registers: [registry] }) };
    this.diskGauges = disk;
  }

  private readonly diskGauges: { free: Gauge; size: Gauge };

  /** The Prometheus text for one scrape. */
  async render(facts: MetricFacts): Promise<string> {
    this.update(facts);
    await this.updateDisk();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private update(f: MetricFacts): void {
    const set = (name: (typeof GAUGES)[number][0], v: number) => this.gauges.get(name)!.set(v);
    set("znode_count", f.nodes);
    set("watch_count", f.watches.watches);
    set("keeper_watched_paths", f.watches.paths);
    set("ephemerals_count", f.ephemerals);
    set("approximate_data_size", f.approximateDataSize);
    set("num_alive_connections", f.clients);
    set("outstanding_requests", f.outstanding);
    set("global_sessions", f.sessions);
    set("local_sessions", f.localSessions);
    set("quorum_size", f.quorumSize);
    set("keeper_voters", f.peers.length || 1);
    set("learners", f.learners.length);
    set("synced_followers", f.learners.filter((l) => l.synced).length);
    set("uptime", f.uptimeMs);
    set("keeper_serving", f.serving ? 1 : 0);
    set("keeper_read_only", f.state === "read-only" ? 1 : 0);
    set("keeper_has_leader", f.leader !== null && f.serving ? 1 : 0);
    set("keeper_leader_id", f.leader ?? 0);
    set("keeper_epoch", f.epoch);
    set("keeper_accepted_epoch", f.acceptedEpoch);
    set("keeper_last_zxid", f.lastZxid);
    set("keeper_last_logged_zxid", f.lastLoggedZxid);
    const latency = this.requests.summary();
    set("keeper_event_loop_p99_ms", f.eventLoop.p99Ms);
    set("keeper_event_loop_max_ms", f.eventLoop.maxMs);
    set("avg_latency", latency.avgMs);
    set("min_latency", latency.minMs);
    set("max_latency", latency.maxMs);
    for (const r of ROLES) this.role.labels(r).set(f.role === r ? 1 : 0);
    this.peerConnected.reset();
    for (const p of f.peers) if (!p.self) this.peerConnected.labels(String(p.id)).set(p.connected ? 1 : 0);
    this.followerLag.reset();
    this.followerSynced.reset();
    for (const l of f.learners) {
      this.followerSynced.labels(String(l.id)).set(l.synced ? 1 : 0);
      // Behind the whole log window, the core gives the window's length: a lower bound, still enough to alert on.
      if (l.lagTxns !== undefined) this.followerLag.labels(String(l.id)).set(l.lagTxns);
    }
    const mirror = (name: (typeof COUNTERS)[number][0], v: number) => {
      const c = this.counters.get(name)!;
      if (v > c.last) c.counter.inc(v - c.last);
      c.last = v;
    };
    mirror("packets_received", f.counters.requests);
    mirror("packets_sent", f.packetsSent);
    mirror("keeper_reads_total", f.counters.reads);
    mirror("keeper_writes_total", f.counters.writes);
    mirror("keeper_request_errors_total", f.counters.errors);
    mirror("connection_request_count", f.counters.connects);
    mirror("keeper_read_only_connects_total", f.counters.readOnlyConnects);
    mirror("connection_rejected", f.counters.refusedNotServing);
    mirror("keeper_throttle_pauses_total", f.counters.throttlePauses);
    mirror("keeper_replies_too_big_total", f.counters.repliesTooBig);
    mirror("keeper_slow_requests_total", this.requests.slowCount);
    mirror("keeper_log_batches_total", f.log.batches);
    mirror("keeper_log_txns_total", f.log.txns);
    mirror("keeper_snapshots_total", f.log.snapshots);
    mirror("keeper_digest_mismatches_total", f.log.divergences);
    mirror("keeper_resyncs_total", f.log.resyncs);
    mirror("keeper_peer_messages_sent_total", f.log.messagesOut);
    mirror("keeper_peer_messages_received_total", f.log.messagesIn);
    mirror("keeper_peer_frames_sent_total", f.log.framesOut);
    mirror("keeper_event_loop_stalls_total", f.eventLoop.stalls);
  }

  private async updateDisk(): Promise<void> {
    try {
      const s = await statfs(this.dataDir);
      this.diskGauges.free.set(s.bavail * s.bsize);
      this.diskGauges.size.set(s.blocks * s.bsize);
    } catch {
      // The directory is gone (a test cleaning up): no disk figures rather than made-up ones.
      this.diskGauges.free.reset();
      this.diskGauges.size.reset();
    }
  }
}

const GAUGES = [
  ["znode_count", "Znodes in the tree"],
  ["watch_count", "Watches set on this node (data and child)"],
  ["keeper_watched_paths", "Distinct paths watched on this node"],
  ["ephemerals_count", "Ephemeral znodes in the tree"],
  ["approximate_data_size", "Path lengths plus data bytes over all znodes (ZooKeeper's approximate data size)"],
  ["num_alive_connections", "Client connections open on this node"],
  ["outstanding_requests", "Client requests received by this node and not yet answered"],
  ["global_sessions", "Replicated sessions in the ensemble"],
  ["local_sessions", "Read-only sessions local to this node"],
  ["quorum_size", "Votes needed for a quorum"],
  ["keeper_voters", "Voting members of the ensemble"],
  ["learners", "On the leader: followers connected to it (synced or syncing); 0 elsewhere"],
  ["synced_followers", "On the leader: followers synced and acknowledging proposals; 0 elsewhere"],
  ["uptime", "Time since this node started, in ms"],
  ["keeper_serving", "1 while this node serves clients read-write (it has an established leader with a quorum)"],
  ["keeper_read_only", "1 while this node has no quorum and serves reads to read-only clients"],
  ["keeper_has_leader", "1 while this node follows or is an established leader"],
  ["keeper_leader_id", "Server id of the leader this node serves with, 0 when none"],
  ["keeper_epoch", "Current epoch (the leader's, once synced)"],
  ["keeper_accepted_epoch", "Epoch this node has accepted"],
  ["keeper_last_zxid", "Last transaction id applied on this node"],
  ["keeper_last_logged_zxid", "Last transaction id in this node's log (applied or not)"],
  ["keeper_event_loop_p99_ms", "99th percentile of event-loop delay over the last completed window (10 s), in ms"],
  ["keeper_event_loop_max_ms", "Longest event-loop delay in the last completed window and the current one, in ms"],
  ["avg_latency", "Average request latency since start, in ms"],
  ["min_latency", "Smallest request latency since start, in ms"],
  ["max_latency", "Largest request latency since start, in ms"],
] as const;

const COUNTERS = [
  ["packets_received", "Client requests received"],
  ["packets_sent", "Messages sent to clients (replies and watch events)"],
  ["keeper_reads_total", "Read requests received"],
  ["keeper_writes_total", "Write requests received"],
  ["keeper_request_errors_total", "Requests refused before reaching the leader (bad arguments, read-only, too big)"],
  ["connection_request_count", "Client connect requests"],
  ["keeper_read_only_connects_total", "Connect requests served read-only"],
  ["connection_rejected", "Connect requests refused because this node was not serving"],
  ["keeper_throttle_pauses_total", "Times a connection stopped being read because the node had too many requests in flight"],
  ["keeper_replies_too_big_total", "Reads refused because their reply would exceed the reply size limit"],
  ["keeper_slow_requests_total", "Requests slower than the slow-request threshold"],
  ["keeper_log_batches_total", "Synced batches written to the transaction log"],
  ["keeper_log_txns_total", "Transactions written to the log"],
  ["keeper_snapshots_total", "Snapshots written"],
  ["keeper_digest_mismatches_total", "Digest disagreements with the leader (or, on a leader, a quorum) seen by this node"],
  ["keeper_resyncs_total", "Times this node dropped a state that diverged and took a leader's"],
  ["keeper_peer_messages_sent_total", "Messages sent to peers"],
  ["keeper_peer_messages_received_total", "Messages received from peers"],
  ["keeper_peer_frames_sent_total", "WebSocket frames sent to peers (messages of one turn to one peer share a frame)"],
  ["keeper_event_loop_stalls_total", "Event-loop stalls longer than the stall warning threshold"],
] as const;
