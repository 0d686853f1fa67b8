// /metrics and mntr of a live 3-node ensemble (real processes): typed Prometheus families under
// ZooKeeper's names, latencies that count the requests actually made, synced followers that
// are the followers actually synced, and after the leader is SIGKILLed, the new leader's view of
// its one remaining follower, elections counted and timed, and every election's reason in the
// log. Then the operators' files: every metric the Grafana dashboard and the alert rules query
// is exported by the live nodes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import type { KeeperClient } from "@keeper/client";
import { poll, startEnsemble, type Ensemble, type EnsembleNode } from "../support/ensemble.ts";
import { exportedNames, metricsInPromQL, scrape, valueOf, type Exposition } from "../support/prom-text.ts";
import { mntr, zkPortOf } from "../support/zk-tools.ts";

const REPO_ROOT = join(import.meta.dirname, "../..");
const CREATES = 20;
const READS = 30;

describe("metrics of a live ensemble", () => {
  let e: Ensemble;
  let client: KeeperClient;
  let leader: EnsembleNode;
  let follower: EnsembleNode;
  const scrapes = new Map<number, Exposition>();

  beforeAll(async () => {
    e = await startEnsemble({ size: 3, extraArgs: ["--log-level", "info"] });
    leader = (await e.waitForLeader()).node;
    follower = e.nodes.find((n) => n !== leader)!;
    // The client talks to a follower, so its writes go through the leader and back.
    client = await e.connect({ hosts: [follower] });
    for (let i = 0; i < CREATES; i++) await client.create(`/m${i}`, `v${i}`);
    for (let i = 0; i < READS; i++) await client.getData(`/m${i % CREATES}`);
    await client.setData("/m0", "changed");
    // Every node applied the writes (a follower applies on COMMIT).
    await e.waitConverged();
    for (const n of e.nodes) scrapes.set(n.id, await scrape(n.clientPort));
  }, 90_000);

  afterAll(async () => {
    await client?.close().catch(() => {});
    await e?.cleanup();
  });

  beforeEach(() => {
    onTestFailed(() => {
      for (const n of e?.nodes ?? []) console.error(n.output().slice(-4000));
    });
  });

  it("exports counters as counters, histograms as histograms, gauges as gauges, under ZooKeeper's names", () => {
    const m = scrapes.get(follower.id)!;
    expect(m.types.get("readlatency")).toBe("histogram");
    expect(m.types.get("updatelatency")).toBe("histogram");
    expect(m.types.get("fsynctime")).toBe("histogram");
    expect(m.types.get("election_time")).toBe("histogram");
    expect(m.types.get("packets_received")).toBe("counter");
    expect(m.types.get("looking_count")).toBe("counter");
    for (const g of ["znode_count", "watch_count", "ephemerals_count", "approximate_data_size", "num_alive_connections", "outstanding_requests", "global_sessions", "local_sessions", "quorum_size", "synced_followers", "learners"]) {
      expect(m.types.get(g), g).toBe("gauge");
    }
    // Node's own process metrics.
    for (const p of ["process_resident_memory_bytes", "process_open_fds", "nodejs_eventloop_lag_p99_seconds", "nodejs_heap_size_used_bytes"]) expect(m.types.has(p), p).toBe(true);
    expect(m.types.get("nodejs_gc_duration_seconds")).toBe("histogram");
  });

  it("times exactly the requests this node answered, by operation, and every log write", () => {
    const m = scrapes.get(follower.id)!;
    expect(valueOf(m, "updatelatency_count", { op: "create" })).toBe(CREATES);
    expect(valueOf(m, "updatelatency_count", { op: "setData" })).toBe(1);
    expect(valueOf(m, "readlatency_count", { op: "getData" })).toBe(READS);
    // A write through the leader takes at least one fsync on a quorum: never zero time.
    expect(valueOf(m, "updatelatency_sum", { op: "create" })).toBeGreaterThan(0);
    expect(valueOf(m, "znode_count")).toBeGreaterThanOrEqual(CREATES + 1);
    expect(valueOf(m, "num_alive_connections")).toBe(1);
    // The other follower answered no client.
    const other = scrapes.get(e.nodes.find((n) => n !== leader && n !== follower)!.id)!;
    expect(valueOf(other, "updatelatency_count", { op: "create" })).toBeUndefined();
    for (const [id, s] of scrapes) {
      expect(valueOf(s, "fsynctime_count"), `node ${id}`).toBeGreaterThan(0);
      expect(valueOf(s, "election_time_count"), `node ${id}`).toBeGreaterThanOrEqual(1);
      expect(valueOf(s, "looking_count"), `node ${id}`).toBeGreaterThanOrEqual(1);
      expect(valueOf(s, "propagation_latency_count"), `node ${id}`).toBeGreaterThanOrEqual(CREATES + 1);
      expect(valueOf(s, "quorum_size"), `node ${id}`).toBe(2);
      expect(valueOf(s, "keeper_has_leader"), `node ${id}`).toBe(1);
      expect(valueOf(s, "keeper_leader_id"), `node ${id}`).toBe(leader.id);
      expect(valueOf(s, "keeper_data_dir_free_bytes"), `node ${id}`).toBeGreaterThan(0);
    }
    expect(valueOf(scrapes.get(follower.id)!, "follower_sync_time_count")).toBe(1);
    expect(valueOf(scrapes.get(leader.id)!, "keeper_leader_sync_time_count")).toBe(1);
  });

  it("shows roles, and on the leader each follower synced with its lag", () => {
    const l = scrapes.get(leader.id)!;
    expect(valueOf(l, "keeper_role", { role: "leading" })).toBe(1);
    expect(valueOf(l, "keeper_role", { role: "following" })).toBe(0);
    expect(valueOf(l, "learners")).toBe(2);
    expect(valueOf(l, "synced_followers")).toBe(2);
    for (const n of e.nodes.filter((x) => x !== leader)) {
      expect(valueOf(l, "keeper_follower_synced", { follower: String(n.id) })).toBe(1);
      // Converged and idle: nothing left to acknowledge.
      expect(valueOf(l, "keeper_follower_lag_txns", { follower: String(n.id) })).toBe(0);
      expect(valueOf(l, "keeper_peer_connected", { peer: String(n.id) })).toBe(1);
      expect(valueOf(scrapes.get(n.id)!, "keeper_role", { role: "following" })).toBe(1);
      expect(valueOf(scrapes.get(n.id)!, "synced_followers")).toBe(0);
    }
  });

  it("mntr reports the same real numbers: latencies, descriptors, synced followers", async () => {
    const f = await mntr(await zkPortOf(follower));
    expect(Number(f.zk_max_latency)).toBeGreaterThan(0);
    expect(Number(f.zk_avg_latency)).toBeGreaterThan(0);
    expect(Number(f.zk_max_latency)).toBeGreaterThanOrEqual(Number(f.zk_min_latency));
    // The same /proc/self/fd that process_open_fds reads: far more than the one client connection.
    const fds = Number(f.zk_open_file_descriptor_count);
    const scraped = valueOf(await scrape(follower.clientPort), "process_open_fds")!;
    expect(Math.abs(fds - scraped)).toBeLessThanOrEqual(3);
    expect(fds).toBeGreaterThan(5);
    const l = await mntr(await zkPortOf(leader));
    expect(l).toMatchObject({ zk_followers: "2", zk_synced_followers: "2", zk_quorum_size: "2" });
  });

  it("after the leader is killed: the new leader counts one synced follower, the dead link, and the election's reason is logged", async () => {
    const old = leader;
    await old.kill("SIGKILL");
    const next = (await e.waitForLeader({ notId: old.id })).node;
    const survivor = e.nodes.find((n) => n !== old && n !== next)!;
    const m = await poll(
      async () => {
        const s = await scrape(next.clientPort);
        return valueOf(s, "synced_followers") === 1 && valueOf(s, "keeper_peer_connected", { peer: String(old.id) }) === 0 ? s : undefined;
      },
      { timeoutMs: 10_000, what: "the new leader to show one synced follower and the old leader's link down" },
    );
    expect(valueOf(m, "learners")).toBe(1);
    expect(valueOf(m, "keeper_follower_synced", { follower: String(survivor.id) })).toBe(1);
    expect(valueOf(m, "keeper_follower_synced", { follower: String(old.id) })).toBeUndefined();
    for (const n of [next, survivor]) {
      const s = await scrape(n.clientPort);
      expect(valueOf(s, "looking_count"), `node ${n.id}`).toBeGreaterThanOrEqual(2);
      expect(valueOf(s, "election_time_count"), `node ${n.id}`).toBeGreaterThanOrEqual(2);
      // Why the survivors looked again: their leader's link closed, or it fell silent.
      expect(n.output()).toMatch(new RegExp(`election started: (lost the connection to leader ${old.id}|no word from leader ${old.id})`));
    }
    expect(valueOf(await scrape(survivor.clientPort), "follower_sync_time_count")).toBeGreaterThanOrEqual(2);
    expect(valueOf(m, "keeper_leader_sync_time_count")).toBe(1);
  }, 60_000);

  it("a node left alone is read-only: not serving, no leader, looking", async () => {
    const [a, b] = e.running();
    await b!.kill("SIGKILL");
    const m = await poll(
      async () => {
        const s = await scrape(a!.clientPort);
        return valueOf(s, "keeper_read_only") === 1 ? s : undefined;
      },
      { timeoutMs: 15_000, what: `node ${a!.id} to report read-only` },
    );
    expect(valueOf(m, "keeper_serving")).toBe(0);
    expect(valueOf(m, "keeper_has_leader")).toBe(0);
    expect(valueOf(m, "keeper_leader_id")).toBe(0);
    expect(valueOf(m, "keeper_role", { role: "looking" })).toBe(1);
    expect(valueOf(m, "synced_followers")).toBe(0);
    await b!.start();
    await e.waitForLeader({ timeoutMs: 30_000 });
  }, 60_000);

  it("exports every metric the Grafana dashboard and the alert rules query", async () => {
    const exported = new Set<string>();
    for (const n of e.running()) for (const name of exportedNames(await scrape(n.clientPort))) exported.add(name);
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, "deploy/grafana/dashboards/keeper.json"), "utf8")) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr })));
    expect(queries.length).toBeGreaterThan(20);
    const rules = readFileSync(join(REPO_ROOT, "deploy/prometheus/keeper-alerts.yml"), "utf8");
    for (const m of rules.matchAll(/^\s+expr: (.+)$/gm)) queries.push({ where: "keeper-alerts.yml", expr: m[1]! });
    expect(queries.filter((q) => q.where === "keeper-alerts.yml").length).toBeGreaterThanOrEqual(10);
    // `up` is Prometheus's own, written for every scrape target.
    const missing = queries.flatMap((q) => metricsInPromQL(q.expr).filter((name) => name !== "up" && !exported.has(name)).map((name) => `${name} (${q.where}: ${q.expr})`));
    expect(missing).toEqual([]);
  });
});
