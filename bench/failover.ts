// Failover benchmark: how long writes stop when the leader dies (SIGKILL) or freezes
// (SIGSTOP), for Keeper and, as the baseline, Apache ZooKeeper, with 3 and 5 servers on
// loopback.
//
// One client, connected to the followers only (so the number measures the ensemble's
// failover, not how fast a client notices that its own server died), issues a setData every
// ~2 ms without waiting for the previous one (open loop, each call with a 1 s timeout). The
// gap of one run is
//
//   (first success of a write issued after the signal) - (last success of a write issued before it)
//
// After each run the victim is restarted (SIGKILL) or resumed with SIGCONT (SIGSTOP) and the
// next run starts once every server is back in the ensemble. Runs: KEEPER_BENCH_RUNS (default
// 5). Sizes: KEEPER_BENCH_SIZES (default "3,5"). Systems: KEEPER_BENCH_SYSTEMS (default
// "keeper,zookeeper"). The whole benchmark is bounded by KEEPER_BENCH_BUDGET_S (default 540 s):
// runs that would start after it are skipped, and the report says so.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Code, KeeperError, type KeeperClient } from "@keeper/client";
import { defaultServerConfig } from "@keeper/server";
import { REPO_ROOT } from "../test/support/processes.ts";
import { startEnsemble, type Ensemble } from "../test/support/ensemble.ts";
import { machineInfo, median, ms, sleep, summarize } from "./lib/stats.ts";
import { ZkEnsemble, zkConnect, zookeeperUnavailable, zookeeperVersion, type ZkClient } from "./lib/zookeeper.ts";

export const name = "failover";

type Fault = "SIGKILL" | "SIGSTOP";
/** Which servers the benchmark client may use: the followers only, or all with the leader first. */
type Attach = "followers" | "leader";
interface Scenario {
  key: string;
  fault: Fault;
  attach: Attach;
  label: string;
}
const SCENARIOS: Scenario[] = [
  { key: "kill", fault: "SIGKILL", attach: "followers", label: "SIGKILL" },
  { key: "stop", fault: "SIGSTOP", attach: "followers", label: "SIGSTOP" },
  { key: "kill-on-leader", fault: "SIGKILL", attach: "leader", label: "SIGKILL, client on the leader" },
];
type SystemName = "keeper" | "zookeeper";

const CALL_TIMEOUT_MS = 1_000;
const WRITE_EVERY_MS = 2;
const MAX_IN_FLIGHT = 200;
/** A run whose writes have not resumed after this long counts as failed. */
const RUN_TIMEOUT_MS = 45_000;

interface Writer {
  setData(path: string, data: string): Promise<void>;
  close(): Promise<void>;
}

/** What the benchmark needs from an ensemble, Keeper's or ZooKeeper's. */
interface Cluster {
  /** Waits until every server is back and serving; returns the leader's id. */
  waitAllServing(timeoutMs: number): Promise<number>;
  ids(): number[];
  /** The current serving leader among the servers other than `exclude`, if there is one right now. */
  leader(exclude?: number): Promise<number | undefined>;
  /** A client that may use exactly these servers, in this order (no shuffling). */
  connectTo(ids: number[]): Promise<Writer>;
  signal(id: number, sig: NodeJS.Signals): void;
  restart(id: number): Promise<void>;
  /** Creates `path` (empty-ish data) if it is missing. */
  createPath(path: string): Promise<void>;
  cleanup(): Promise<void>;
}

// ---- Keeper ---------------------------------------------------------------------------------

async function keeperCluster(size: number): Promise<Cluster> {
  const e: Ensemble = await startEnsemble({ size, leaderTimeoutMs: 60_000 });
  return {
    ids: () => e.nodes.map((n) => n.id),
    leader: async (exclude) => {
      const nodes = e.nodes.filter((n) => n.id !== exclude && n.running);
      const sts = await Promise.all(nodes.map(async (n) => ({ id: n.id, s: await n.status(300) })));
      return sts.find((x) => x.s?.state === "leading" && x.s.serving)?.id;
    },
    async waitAllServing(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        const sts = await e.statuses(e.nodes);
        last = JSON.stringify(sts.map((s) => [s.node.id, s.status.state, s.status.serving, s.status.leader]));
        const leader = sts.find((s) => s.status.state === "leading" && s.status.serving);
        if (sts.length === e.nodes.length && leader && sts.every((s) => s.status.serving && s.status.leader === leader.node.id)) return leader.node.id;
        await sleep(25);
      }
      throw new Error(`keeper ensemble not fully serving after ${timeoutMs} ms: ${last}\n${e.output().slice(-5000)}`);
    },
    async connectTo(ids) {
      // random() near 1 makes the client's shuffle keep the given order.
      const c: KeeperClient = await e.connect({ hosts: ids.map((id) => e.node(id)), sessionTimeoutMs: 10_000, random: () => 0.999_999 });
      return {
        setData: async (path, data) => {
          await c.setData(path, data, -1, { timeoutMs: CALL_TIMEOUT_MS });
        },
        close: () => Promise.race([c.close(), sleep(3_000)]),
      };
    },
    signal: (id, sig) => process.kill(e.node(id).pid!, sig),
    restart: async (id) => {
      const n = e.node(id);
      await n.kill("SIGKILL");
      await n.start();
    },
    createPath: async (path) => {
      const c = await e.connect();
      try {
        if ((await c.exists(path)) === null) await c.create(path, "0");
      } finally {
        await c.close();
      }
    },
    cleanup: () => e.cleanup(),
  };
}

// ---- ZooKeeper ------------------------------------------------------------------------------

async function zookeeperCluster(size: number): Promise<Cluster> {
  const e = await ZkEnsemble.create(size);
  try {
    e.startAll();
    await e.waitAllServing(60_000);
  } catch (err) {
    await e.cleanup();
    throw err;
  }
  const node = (id: number) => e.nodes.find((n) => n.id === id)!;
  return {
    ids: () => e.nodes.map((n) => n.id),
    leader: async (exclude) => {
      const nodes = e.nodes.filter((n) => n.id !== exclude && n.running);
      const modes = await Promise.all(nodes.map((n) => n.mode()));
      const i = modes.indexOf("leader");
      return i < 0 ? undefined : nodes[i]!.id;
    },
    waitAllServing: (timeoutMs) => e.waitAllServing(timeoutMs).then((n) => n.id),
    async connectTo(ids) {
      const c: ZkClient = await zkConnect(ids.map((id) => node(id).address).join(","), { sessionTimeoutMs: 10_000, spinDelayMs: 50, keepOrder: true });
      return {
        setData: (path, data) => withTimeout(c.setData(path, data), CALL_TIMEOUT_MS),
        close: async () => c.close(),
      };
    },
    signal: (id, sig) => node(id).signal(sig),
    restart: async (id) => {
      await node(id).kill();
      node(id).start();
    },
    createPath: async (path) => {
      const c = await zkConnect(e.connectString);
      try {
        await c.create(path, "0").catch((err: { code?: number }) => {
          if (err.code !== -110) throw err;
        });
      } finally {
        c.close();
      }
    },
    cleanup: () => e.cleanup(),
  };
}

function withTimeout<T>(p: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new KeeperError(Code.OPERATIONTIMEOUT, `no reply within ${timeoutMs} ms`)), timeoutMs);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

// ---- one run --------------------------------------------------------------------------------

interface RunResult {
  gapMs: number;
  /** Signal to the first success of a write issued after it. */
  recoveryMs: number;
  /** Signal to the first time another server reports itself the serving leader (polled every ~20 ms). */
  electedMs: number;
  failedWrites: number;
  oldLeader: number;
  newLeader: number;
}

async function oneRun(cluster: Cluster, scenario: Scenario, path: string): Promise<RunResult> {
  const fault = scenario.fault;
  const leader = await cluster.waitAllServing(60_000);
  const followers = cluster.ids().filter((id) => id !== leader);
  const writer = await cluster.connectTo(scenario.attach === "followers" ? followers : [leader, ...followers]);
  let stop = false;
  let killAt = Infinity;
  let lastOkBefore = -Infinity;
  let firstOkAfter = Infinity;
  let oksBefore = 0;
  let failed = 0;
  let inFlight = 0;
  let seq = 0;
  const pending = new Set<Promise<void>>();
  const loop = (async () => {
    while (!stop) {
      if (inFlight < MAX_IN_FLIGHT) {
        const issuedAt = performance.now();
        inFlight++;
        const p = writer.setData(path, String(seq++)).then(
          () => {
            const t = performance.now();
            if (issuedAt < killAt) {
              lastOkBefore = Math.max(lastOkBefore, t);
              oksBefore++;
            } else firstOkAfter = Math.min(firstOkAfter, t);
          },
          () => {
            failed++;
          },
        );
        const tracked = p.finally(() => {
          inFlight--;
          pending.delete(tracked);
        });
        pending.add(tracked);
      }
      await sleep(WRITE_EVERY_MS);
    }
  })();
  try {
    // Warm up: the writer is steadily succeeding.
    const warm = Date.now() + 15_000;
    while (oksBefore < 100 && Date.now() < warm) await sleep(10);
    if (oksBefore < 100) throw new Error(`writes are not succeeding before the fault (${oksBefore} ok, ${failed} failed)`);
    await sleep(100);
    failed = 0;
    killAt = performance.now();
    cluster.signal(leader, fault);
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    const elected = (async () => {
      while (Date.now() < deadline) {
        const l = await cluster.leader(leader).catch(() => undefined);
        if (l !== undefined) return performance.now() - killAt;
        await sleep(20);
      }
      return NaN;
    })();
    while (firstOkAfter === Infinity && Date.now() < deadline) await sleep(5);
    const electedMs = await elected;
    if (firstOkAfter === Infinity) throw new Error(`writes did not resume within ${RUN_TIMEOUT_MS} ms after ${fault} of leader ${leader}`);
    const newLeader = (await cluster.leader()) ?? -1;
    return { gapMs: firstOkAfter - lastOkBefore, recoveryMs: firstOkAfter - killAt, electedMs, failedWrites: failed, oldLeader: leader, newLeader };
  } finally {
    stop = true;
    await loop;
    await Promise.race([Promise.allSettled([...pending]), sleep(CALL_TIMEOUT_MS + 500)]);
    await writer.close();
    // Bring the victim back into the ensemble before the next run.
    if (fault === "SIGSTOP") cluster.signal(leader, "SIGCONT");
    else await cluster.restart(leader);
  }
}

// ---- the benchmark ---------------------------------------------------------------------------

export interface SeriesResult {
  system: SystemName;
  size: number;
  scenario: string;
  gaps: number[];
  recoveries: number[];
  elected: number[];
  errors: string[];
  skipped: number;
}

export interface FailoverReport {
  series: SeriesResult[];
  zookeeperSkipped: string | undefined;
  zookeeperVersion: string;
  runs: number;
  elapsedMs: number;
  machine: Record<string, string>;
}

export async function run(opts: { log?: (line: string) => void; writeDoc?: boolean } = {}): Promise<FailoverReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const runs = Math.max(1, Number(process.env.KEEPER_BENCH_RUNS ?? 5) || 5);
  const sizes = (process.env.KEEPER_BENCH_SIZES ?? "3,5").split(",").map(Number).filter((n) => n >= 3);
  const systems = (process.env.KEEPER_BENCH_SYSTEMS ?? "keeper,zookeeper").split(",").map((s) => s.trim()) as SystemName[];
  const budgetMs = 1000 * Number(process.env.KEEPER_BENCH_BUDGET_S ?? 540);
  const started = Date.now();
  const zkSkip = systems.includes("zookeeper") ? zookeeperUnavailable() : "not selected (KEEPER_BENCH_SYSTEMS)";
  if (zkSkip && systems.includes("zookeeper")) log(`ZooKeeper baseline skipped: ${zkSkip}`);
  const series: SeriesResult[] = [];
  for (const system of systems) {
    if (system === "zookeeper" && zkSkip) continue;
    for (const size of sizes) {
      const results = new Map(SCENARIOS.map((sc) => [sc.key, { system, size, scenario: sc.key, gaps: [], recoveries: [], elected: [], errors: [], skipped: 0 } as SeriesResult]));
      series.push(...results.values());
      if (Date.now() - started > budgetMs) {
        for (const r of results.values()) r.skipped = runs;
        log(`${system} ${size} nodes: skipped, time budget spent`);
        continue;
      }
      log(`${system}, ${size} nodes: starting the ensemble`);
      let cluster: Cluster;
      try {
        cluster = system === "keeper" ? await keeperCluster(size) : await zookeeperCluster(size);
      } catch (err) {
        const msg = `ensemble did not start: ${(err as Error).message.split("\n")[0]}`;
        for (const r of results.values()) r.errors.push(msg);
        log(`  ${msg}`);
        continue;
      }
      try {
        const path = "/failover-bench";
        await cluster.createPath(path);
        for (const scenario of SCENARIOS) {
          const res = results.get(scenario.key)!;
          const fault = scenario.label;
          for (let i = 0; i < runs; i++) {
            if (Date.now() - started > budgetMs) {
              res.skipped = runs - i;
              log(`  ${fault}: ${runs - i} runs skipped, time budget spent`);
              break;
            }
            try {
              const r = await oneRun(cluster, scenario, path);
              res.gaps.push(r.gapMs);
              res.recoveries.push(r.recoveryMs);
              res.elected.push(r.electedMs);
              log(`  ${fault} run ${i + 1}/${runs}: gap ${ms(r.gapMs)} (signal -> new leader serving ${ms(r.electedMs)}, -> first write ${ms(r.recoveryMs)}; leader ${r.oldLeader} -> ${r.newLeader}; ${r.failedWrites} writes failed)`);
            } catch (err) {
              res.errors.push((err as Error).message.split("\n")[0]!);
              log(`  ${fault} run ${i + 1}/${runs}: FAILED ${(err as Error).message.slice(0, 2000)}`);
            }
          }
        }
      } finally {
        await cluster.cleanup();
      }
    }
  }
  const report: FailoverReport = { series, zookeeperSkipped: systems.includes("zookeeper") ? zkSkip : undefined, zookeeperVersion: zookeeperVersion(), runs, elapsedMs: Date.now() - started, machine: machineInfo() };
  log("");
  log(table(report));
  if (opts.writeDoc ?? true) {
    const file = join(REPO_ROOT, "docs/benchmarks.md");
    writeFileSync(file, markdown(report));
    log(`\nwrote ${file}`);
  }
  return report;
}

function row(s: SeriesResult): { med: number; min: number; max: number; n: number } {
  const x = summarize(s.gaps);
  return { med: x.median, min: x.min, max: x.max, n: x.n };
}

function find(r: FailoverReport, system: SystemName, size: number, scenario: string): SeriesResult | undefined {
  return r.series.find((s) => s.system === system && s.size === size && s.scenario === scenario);
}

function table(r: FailoverReport): string {
  const lines = ["failover gap (last write before the signal -> first write after), median [min..max] over runs:"];
  const cells = (s: SeriesResult | undefined): string => {
    if (!s) return "not run";
    const x = row(s);
    const extra = (s.errors.length ? `, ${s.errors.length} failed` : "") + (s.skipped ? `, ${s.skipped} skipped` : "");
    return x.n ? `${ms(x.med)} [${ms(x.min)}..${ms(x.max)}] n=${x.n}${extra}` : `no result${extra}`;
  };
  for (const size of [...new Set(r.series.map((s) => s.size))]) {
    for (const { key, label } of SCENARIOS) {
      const k = find(r, "keeper", size, key);
      const z = find(r, "zookeeper", size, key);
      const ratio = k && z && row(k).n && row(z).n ? (row(k).med / row(z).med).toFixed(2) : "n/a";
      lines.push(`  ${size} nodes ${label}: keeper ${cells(k)} | zookeeper ${cells(z)} | keeper/zookeeper ${ratio}`);
    }
  }
  return lines.join("\n");
}

function markdown(r: FailoverReport): string {
  const sizes = [...new Set(r.series.map((s) => s.size))];
  const out: string[] = [];
  out.push("# Benchmarks", "");
  out.push("Throughput, latency and memory against ZooKeeper: [benchmarks-throughput.md](benchmarks-throughput.md).", "What moved these figures, and what is left: [performance.md](performance.md) (written by hand; this page is generated).", "");
  out.push("## Failover gap", "");
  out.push(
    "How long writes stop when the leader dies (SIGKILL) or freezes (SIGSTOP). One client issues a",
    `setData every ~${WRITE_EVERY_MS} ms without waiting for the previous one, each call with a ${CALL_TIMEOUT_MS} ms timeout.`,
    "The gap of one run is the time from the last success of a write issued before the signal to the",
    "first success of a write issued after it. Then the victim is restarted (SIGKILL) or resumed with",
    "SIGCONT (SIGSTOP), and the next run waits until every server is back in the ensemble.",
    "",
    "- **SIGKILL**, **SIGSTOP**: the client knows only the followers, so the number is the ensemble's",
    "  failover (detection, election, synchronisation), not how fast a client notices that its own",
    "  server died.",
    "- **SIGKILL, client on the leader**: the client knows every server and is attached to the leader",
    "  when it is killed; this adds the client's own reconnect (its backoff between rounds of hosts that",
    "  refuse it while they elect) to the gap: what an application attached to the leader sees.",
    "",
  );
  out.push(`Measured ${r.machine.date}, ${r.runs} runs per cell, whole benchmark ${Math.round(r.elapsedMs / 1000)} s.`, "");
  out.push("| ensemble | fault | Keeper median | Keeper min..max | ZooKeeper median | ZooKeeper min..max | ratio (Keeper / ZooKeeper) |");
  out.push("| --- | --- | --- | --- | --- | --- | --- |");
  for (const size of sizes) {
    for (const { key, label } of SCENARIOS) {
      const k = find(r, "keeper", size, key);
      const z = find(r, "zookeeper", size, key);
      const kc = k ? row(k) : undefined;
      const zc = z ? row(z) : undefined;
      const note = (s: SeriesResult | undefined): string => (s && (s.errors.length || s.skipped) ? ` (${[s.errors.length ? `${s.errors.length} failed` : "", s.skipped ? `${s.skipped} skipped` : ""].filter(Boolean).join(", ")})` : "");
      const med = (c: typeof kc, s: SeriesResult | undefined) => (c && c.n ? `${ms(c.med)} (n=${c.n})${note(s)}` : s ? `no result${note(s)}` : "not run");
      const range = (c: typeof kc) => (c && c.n ? `${ms(c.min)} .. ${ms(c.max)}` : "–");
      const ratio = kc?.n && zc?.n ? (kc.med / zc.med).toFixed(2) : "n/a";
      out.push(`| ${size} nodes | ${label} | ${med(kc, k)} | ${range(kc)} | ${med(zc, z)} | ${range(zc)} | ${ratio} |`);
    }
  }
  out.push("");
  out.push(
    "Where the gap goes: the median time from the signal until another server reports itself the serving",
    "leader (Keeper: its /status, ZooKeeper: `srvr`, both polled every ~20 ms), against the median time",
    "until the first write issued after the signal succeeded. The difference is the client finding a",
    "server that serves again (reconnect, backoff, session re-validation).",
    "",
    "| ensemble | fault | Keeper: new leader | Keeper: first write | ZooKeeper: new leader | ZooKeeper: first write |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const size of sizes) {
    for (const { key, label } of SCENARIOS) {
      const k = find(r, "keeper", size, key);
      const z = find(r, "zookeeper", size, key);
      const m = (xs: number[] | undefined) => (xs && xs.length ? ms(median(xs.filter(Number.isFinite))) : "–");
      out.push(`| ${size} nodes | ${label} | ${m(k?.elected)} | ${m(k?.recoveries)} | ${m(z?.elected)} | ${m(z?.recoveries)} |`);
    }
  }
  out.push("");
  const k3 = find(r, "keeper", 3, "kill");
  if (k3 && k3.gaps.length) {
    const m = median(k3.gaps);
    out.push(`Aim: Keeper's SIGKILL failover under 400 ms for 3 nodes on loopback (ZooKeeper 3.8 was reported at 504–972 ms). Measured median: ${ms(m)} — ${m < 400 ? "met" : "**not met**"}.`, "");
  }
  const errors = r.series.filter((s) => s.errors.length);
  if (errors.length) {
    out.push("Failed runs:", "");
    for (const s of errors) for (const e of s.errors) out.push(`- ${s.system} ${s.size} nodes ${SCENARIOS.find((x) => x.key === s.scenario)?.label}: ${e}`);
    out.push("");
  }
  out.push("### Setup", "");
  const d = defaultServerConfig();
  out.push(`- Keeper: \`keeper server\` processes (Node, run through tsx) with default timing: tickMs ${d.tickMs}, syncLimitTicks ${d.syncLimitTicks} (a follower gives up on a silent leader after ${d.tickMs * d.syncLimitTicks} ms), initLimitTicks ${d.initLimitTicks}. Client: \`@keeper/client\`, session timeout 10 s.`);
  if (r.zookeeperSkipped) {
    out.push(`- ZooKeeper: **not run** — ${r.zookeeperSkipped}.`);
  } else {
    out.push(
      `- ZooKeeper: Apache ZooKeeper from Debian's \`zookeeper\` package (${r.zookeeperVersion}), one JVM per server running \`org.apache.zookeeper.server.quorum.QuorumPeerMain\` from /usr/share/java/zookeeper.jar (heap -Xms64m -Xmx256m, slf4j-simple logging at warn), zoo.cfg per node: tickTime=2000, initLimit=10, syncLimit=5, server.N=127.0.0.1:peerPort:electionPort, 4lw.commands.whitelist=*, admin.enableServer=false; myid files. The leader is found with the \`srvr\` four-letter word (\`Mode: leader\`). Client: \`node-zookeeper-client\` 1.x, session timeout 10 s, spinDelay 50 ms (Keeper's client backs off 50 ms between rounds of hosts too), 1 s per-call timeout by Promise.race.`,
      "- ZooKeeper's timing is in ticks of 2 s: a follower gives up on a silent (SIGSTOPped) leader only after syncLimit × tickTime = 10 s, which is why its SIGSTOP gap is an order of magnitude above its SIGKILL gap. Keeper's tick is 100 ms. A ZooKeeper configured with a smaller tickTime would fail over faster on SIGSTOP; these are both systems' defaults.",
    );
  }
  out.push("- All servers and the client on 127.0.0.1, on the same machine; each server fsyncs its log (Keeper: LevelDB write with sync; ZooKeeper: forceSync=yes by default).", "");
  out.push("### Machine", "");
  for (const [k, v] of Object.entries(r.machine)) out.push(`- ${k}: ${v}`);
  out.push("");
  out.push("### Reproduce", "");
  out.push(
    "```sh",
    "apt-get update && apt-get install -y zookeeper   # the baseline (needs Java 17)",
    "npm install                                       # node-zookeeper-client is a devDependency",
    "npm run bench                                     # runs bench/*.ts, rewrites this file",
    "KEEPER_BENCH_RUNS=10 KEEPER_BENCH_SIZES=3 KEEPER_BENCH_SYSTEMS=keeper npm run bench",
    "```",
    "",
    "Without ZooKeeper installed the benchmark measures Keeper alone and says why here. The run is bounded by",
    "KEEPER_BENCH_BUDGET_S (default 540 s); skipped runs are counted in the table.",
    "",
  );
  return out.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
