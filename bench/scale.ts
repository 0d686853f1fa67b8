// Scale: load a million znodes (KEEPER_BENCH_ZNODES) through the ZooKeeper port into a 3-node
// Keeper and into a 3-node Apache ZooKeeper 3.8, one after the other in the same run, with the
// same client, then restart each ensemble on its data. Reports create rate (overall and per
// tenth of the load), client errors, leader changes, Keeper's event-loop delay, server and
// client CPU, resident memory after the load and after the restart, disk, restart to serving,
// and `mntr` latency, against the goals of issue 10.
//
//   npm run bench -- scale                      (1,000,000 znodes; about 10-20 minutes)
//   KEEPER_BENCH_ZNODES=50000 npm run bench -- scale
//   KEEPER_BENCH_SYSTEMS=keeper npm run bench -- scale
//   KEEPER_BENCH_KEEPER_LOG=/tmp/k.log KEEPER_BENCH_NODE_FLAGS=--trace-gc ...   (every line the
//   Keeper nodes print, stamped, into a file that is kept; node flags for the servers)
//   KEEPER_BENCH_SCALE_JSON=/tmp/scale.json ...   (every figure of the run, as JSON)
//
// The client: 2 child processes (bench/lib/load-worker.ts), 8 sessions each, spread over the 3
// members, each session keeping 32 creates in flight (closed loop) on raw jute frames.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { REPO_ROOT } from "../test/support/processes.ts";
import { EnsembleWatch } from "./lib/ensemble-watch.ts";
import { createPaths } from "./lib/jute-session.ts";
import { runLoad } from "./lib/load.ts";
import { cpuSeconds, duBytes, hostCpu, rssMiB } from "./lib/procfs.ts";
import { keeperStory, notesOf, scaleMarkdown, scaleTable, stallSummary, type ScaleReport, type SystemResult } from "./lib/scale-report.ts";
import { keeperTarget, leaderEpoch, mntrValue, timeMntr, zookeeperTarget, type ScaleTarget } from "./lib/scale-targets.ts";
import { machineInfo, sleep } from "./lib/stats.ts";
import { zookeeperUnavailable, zookeeperVersion } from "./lib/zookeeper.ts";

export const name = "scale";

const env = process.env;
export const SCALE = {
  znodes: Number(env.KEEPER_BENCH_ZNODES ?? 1_000_000),
  parents: 1000,
  dataBytes: 100,
  workers: 2,
  sessionsPerWorker: 8,
  depth: 32,
  /** Creates, then deletes, before the measured load: warms the JIT of both systems. */
  warmZnodes: Number(env.KEEPER_BENCH_WARM ?? 20_000),
  zkHeap: env.KEEPER_BENCH_ZK_HEAP ?? "1g",
  mntrCalls: 20,
  sessionTimeoutMs: 30_000,
  /** How long the roles are watched after a restart, for a second election. */
  settleAfterRestartMs: 10_000,
};
const ROOT = "/scale";
const WARM_ROOT = "/scale-warm";
const WARM_PARENTS = 100;

function loadPlan(t: ScaleTarget, op: "create" | "delete", total: number, root: string, parents: number) {
  return {
    servers: t.zkServers(),
    workers: SCALE.workers,
    sessionsPerWorker: SCALE.sessionsPerWorker,
    depth: SCALE.depth,
    op,
    total,
    root,
    parents,
    dataBytes: SCALE.dataBytes,
    sessionTimeoutMs: SCALE.sessionTimeoutMs,
    timeoutMs: 120_000 + total * 2,
  };
}

async function parents(t: ScaleTarget, root: string, count: number): Promise<void> {
  const s = t.zkServers()[0]!;
  await createPaths(s.host, s.port, [root, ...Array.from({ length: count }, (_, i) => `${root}/p${i}`)], new Uint8Array(0));
}

/** Seconds of CPU per second of wall time for each PID over a span: call before, then call what it returns. */
function cpuMeter(pids: number[]): () => { cores: number[]; hostBusyCores: number } {
  const t0 = performance.now();
  const c0 = pids.map(cpuSeconds);
  const h0 = hostCpu();
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const h1 = hostCpu();
    const ncpu = (h1.total - h0.total) / secs;
    return { cores: pids.map((p, i) => (cpuSeconds(p) - c0[i]!) / secs), hostBusyCores: ((h1.busy - h0.busy) / (h1.total - h0.total)) * ncpu };
  };
}

/** Warms both systems' JIT with creates and deletes of their own, then makes the parents. */
async function prepare(t: ScaleTarget, log: (l: string) => void): Promise<number> {
  t.startAll();
  await t.waitServing("/", 120_000);
  let warmOpsPerSec = NaN;
  if (SCALE.warmZnodes > 0) {
    log(`${t.system}: serving; warming up with ${SCALE.warmZnodes} creates and deletes`);
    await parents(t, WARM_ROOT, WARM_PARENTS);
    const warm = await runLoad(loadPlan(t, "create", SCALE.warmZnodes, WARM_ROOT, WARM_PARENTS));
    const del = await runLoad(loadPlan(t, "delete", SCALE.warmZnodes, WARM_ROOT, WARM_PARENTS));
    warmOpsPerSec = warm.opsPerSec;
    log(`${t.system}: warm-up ${Math.round(warm.opsPerSec)} creates/s, ${Math.round(del.opsPerSec)} deletes/s`);
  }
  await parents(t, ROOT, SCALE.parents);
  return warmOpsPerSec;
}

/** The measured load, with the roles watched and the servers' CPU metered throughout. */
async function loadPhase(t: ScaleTarget, log: (l: string) => void) {
  log(`${t.system}: loading ${SCALE.znodes} znodes`);
  const epochBefore = await leaderEpoch(t);
  const cpu = cpuMeter(t.pids());
  // The same delay measured in this (nearly idle) process: what the machine alone does to a
  // Node event loop, to tell a server's own stalls from the scheduler's.
  const control = monitorEventLoopDelay({ resolution: 20 });
  control.enable();
  const watch = new EnsembleWatch(() => t.poll()).start();
  const loadStartedAt = Date.now();
  let lastLogged = 0;
  const load = await runLoad({
    ...loadPlan(t, "create", SCALE.znodes, ROOT, SCALE.parents),
    onProgress: (done) => {
      if (done - lastLogged < SCALE.znodes / 10) return;
      lastLogged = done;
      log(`${t.system}:   ${done} created`);
    },
  });
  const summary = await watch.stop();
  control.disable();
  const used = cpu();
  const epochAfter = await leaderEpoch(t);
  log(`${t.system}: creates completed, second by second: ${load.perSecond.join(" ")}`);
  log(`${t.system}: ${load.done} created in ${(load.wallMs / 1000).toFixed(1)} s (${Math.round(load.opsPerSec)}/s), codes ${JSON.stringify(load.counters.codes)}, leader changes ${summary.leaderChanges}, epoch ${epochBefore} -> ${epochAfter}`);
  return { load, loadStartedAt, watch: summary, serverCores: used.cores, hostBusyCores: used.hostBusyCores, controlDelayMaxMs: Math.max(0, control.max / 1e6 - 20), epochBefore, epochAfter };
}

/** SIGTERM all, start all, time until every member serves; then the roles for a while longer. */
async function restartPhase(t: ScaleTarget, log: (l: string) => void) {
  log(`${t.system}: restarting (SIGTERM all, start all)`);
  const stopMs = await t.stopAll();
  const restartStartedAt = Date.now();
  const t0 = performance.now();
  t.startAll();
  const watch = new EnsembleWatch(() => t.poll()).start();
  await t.waitServing(`${ROOT}/p0`, 600_000);
  const restartMs = performance.now() - t0;
  const rssAfterRestartMiB = t.pids().map(rssMiB);
  await sleep(SCALE.settleAfterRestartMs);
  const restartWatch = await watch.stop();
  const rssAfterSettleMiB = t.pids().map(rssMiB);
  const countAfterRestart = await Promise.all(t.zkServers().map(async (s) => mntrValue((await timeMntr(s.port, 1)).last, "zk_znode_count")));
  const epochAfterRestart = await leaderEpoch(t);
  log(`${t.system}: stopped in ${(stopMs / 1000).toFixed(1)} s, serving again after ${(restartMs / 1000).toFixed(1)} s, epoch now ${epochAfterRestart}`);
  return { stopMs, restartStartedAt, restartMs, rssAfterRestartMiB, restartWatch, rssAfterSettleMiB, countAfterRestart, epochAfterRestart };
}

async function measure(t: ScaleTarget, log: (l: string) => void): Promise<SystemResult> {
  const warmOpsPerSec = await prepare(t, log);
  const loaded = await loadPhase(t, log);
  const rssAfterLoadMiB = t.pids().map(rssMiB);
  const diskBytes = t.dataDirs().map(duBytes);
  const mntr = await Promise.all(t.zkServers().map((s) => timeMntr(s.port, SCALE.mntrCalls)));
  const restarted = await restartPhase(t, log);
  return {
    system: t.system,
    warmOpsPerSec,
    ...loaded,
    rssAfterLoadMiB,
    diskBytes,
    mntrMs: mntr.map((m) => m.ms),
    countAfterLoad: mntr.map((m) => mntrValue(m.last, "zk_znode_count")),
    ...restarted,
    logEvents: t.logEvents(),
    warnings: Object.fromEntries(t.warnings()),
  };
}

async function measureSafely(make: () => Promise<ScaleTarget>, log: (l: string) => void): Promise<SystemResult | { error: string }> {
  const t = await make();
  const onSignal = (): void => {
    void t.cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await measure(t, log);
  } catch (err) {
    log(`${t.system}: FAILED ${(err as Error).stack ?? String(err)}`);
    const events = t.logEvents().slice(-40);
    for (const e of events) log(`  [node ${e.node}] ${e.line.slice(0, 400)}`);
    return { error: (err as Error).message.split("\n")[0]! };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await t.cleanup();
  }
}

export async function run(opts: { log?: (line: string) => void; writeDoc?: boolean } = {}): Promise<ScaleReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const systems = (env.KEEPER_BENCH_SYSTEMS ?? "keeper,zookeeper").split(",").map((s) => s.trim());
  log(`${SCALE.znodes} znodes of ${SCALE.dataBytes} bytes under ${SCALE.parents} parents; client: ${SCALE.workers} processes x ${SCALE.sessionsPerWorker} sessions x ${SCALE.depth} in flight`);
  const started = Date.now();
  const report: ScaleReport = { scale: SCALE, zookeeperVersion: zookeeperVersion(), machine: {}, elapsedS: 0 };
  const keeperLog = env.KEEPER_BENCH_KEEPER_LOG;
  if (keeperLog) log(`Keeper's output goes to ${keeperLog}`);
  const nodeFlags = (env.KEEPER_BENCH_NODE_FLAGS ?? "").split(/\s+/).filter((f) => f !== "");
  if (systems.includes("keeper")) report.keeper = await measureSafely(() => keeperTarget({ nodeFlags, ...(keeperLog ? { logFile: keeperLog } : {}) }), log);
  const why = systems.includes("zookeeper") ? zookeeperUnavailable() : "not selected (KEEPER_BENCH_SYSTEMS)";
  if (why) {
    report.zookeeperSkipped = why;
    log(`ZooKeeper baseline skipped: ${why}`);
  } else report.zookeeper = await measureSafely(() => zookeeperTarget([`-Xmx${SCALE.zkHeap}`]), log);
  report.elapsedS = (Date.now() - started) / 1000;
  report.machine = machineInfo();
  // Everything measured, for a later look (the page shows a digest of it).
  if (env.KEEPER_BENCH_SCALE_JSON) writeFileSync(env.KEEPER_BENCH_SCALE_JSON, JSON.stringify(report, null, 1));
  const k = report.keeper;
  if (k && !("error" in k)) {
    log(`\nKeeper's event-loop stalls: ${stallSummary(k).join("; ") || "none"}`);
    log("Keeper's log (warnings, stalls of 1 s or more, roles, snapshots, boots; L+ = into the load, R+ = into the restart):");
    for (const line of keeperStory(k, 2_000)) log(`  ${line}`);
  }
  log("");
  for (const line of scaleTable(report)) log(line);
  // The page compares the two systems: a run of one of them leaves it as it is.
  if ((opts.writeDoc ?? true) && report.keeper !== undefined && report.zookeeper !== undefined) {
    const file = join(REPO_ROOT, "docs/benchmarks-scale.md");
    writeFileSync(file, scaleMarkdown(report, existsSync(file) ? notesOf(readFileSync(file, "utf8")) : ""));
    log(`\nwrote ${file}`);
  } else log("\ndocs/benchmarks-scale.md left as it is: it compares both systems, and this run did not measure both");
  const failed = [report.keeper, report.zookeeper].find((r) => r !== undefined && "error" in r);
  if (failed && "error" in failed) throw new Error(`scale benchmark: ${failed.error}`);
  return report;
}
