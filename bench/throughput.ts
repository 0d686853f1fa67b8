// Throughput, latency and CPU per operation of a 3-node Keeper against a 3-node Apache ZooKeeper
// 3.8, in the same run, one system after the other, driven by the same load generator: a
// pipelined raw jute client of our own (bench/lib/ops-worker.ts) in several processes, closed
// loop, over the ZooKeeper wire protocol. Both systems fsync their log before acknowledging.
//
// For each system: start, warm up (every workload, the JVM and V8 alike), then KEEPER_BENCH_RUNS
// runs of every workload (the figures are the median of the runs), then one run of every
// workload with about 3x the client load: if that raises the figure, the base load did not
// saturate the servers and the output says so. Server CPU per operation is the sum of the 3
// server processes' CPU (from /proc) over the window, divided by the requests answered in it.
//
//   npm run bench -- throughput                         (about 8-10 minutes)
//   KEEPER_BENCH_SECONDS=3 KEEPER_BENCH_RUNS=1 KEEPER_BENCH_WARM_SECONDS=2 npm run bench -- throughput
//   KEEPER_BENCH_WORKLOADS=setData,getData   KEEPER_BENCH_SYSTEMS=keeper
//   KEEPER_BENCH_JSON=/tmp/throughput.json   (every figure of every run)
//   KEEPER_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"   (node flags for every Keeper node)
//   KEEPER_BENCH_DOC=0                       (leave docs/benchmarks-throughput.md as it is)
//   KEEPER_BENCH_WORKERS / _SESSIONS / _DEPTH               (base client load: 2 x 16 x 16)
//   KEEPER_BENCH_SAT_WORKERS / _SAT_SESSIONS / _SAT_DEPTH   (saturation check: 3 x 32 x 16)
//   KEEPER_SYNC_LIMIT_TICKS=100 ...          (any KEEPER_* setting reaches the Keeper nodes; the
//                                             report names them. Keeper's default 500 ms syncLimit
//                                             elects again and again on a CPU-starved machine,
//                                             ZooKeeper's is 10 s)
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../test/support/processes.ts";
import { createPaths } from "./lib/jute-session.ts";
import { runOps, type OpsSummary, type PipelineShape } from "./lib/ops-load.ts";
import { rssMiB } from "./lib/procfs.ts";
import type { Workload } from "./lib/ops-worker.ts";
import { keeperTarget, leaderEpoch, zookeeperTarget, type PipelineCounters, type ScaleTarget } from "./lib/scale-targets.ts";
import { machineInfo, median } from "./lib/stats.ts";
import { zookeeperUnavailable, zookeeperVersion } from "./lib/zookeeper.ts";

export const name = "throughput";

const env = process.env;
const num = (v: string | undefined, d: number): number => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : d);
const ALL_WORKLOADS: Workload[] = ["setData", "create", "getData", "mixed", "multi"];

export const CONFIG = {
  seconds: num(env.KEEPER_BENCH_SECONDS, 8),
  // About 5 x 3 s of warm-up, 15 x 8 s of runs and 5 x 8 s of saturation check per system, plus
  // a few seconds per phase to fork the load processes and connect: under 10 minutes in all.
  runs: Math.max(1, Math.round(num(env.KEEPER_BENCH_RUNS, 3))),
  warmSeconds: num(env.KEEPER_BENCH_WARM_SECONDS, 3),
  workloads: (env.KEEPER_BENCH_WORKLOADS ?? ALL_WORKLOADS.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is Workload => (ALL_WORKLOADS as string[]).includes(s)),
  base: { workers: num(env.KEEPER_BENCH_WORKERS, 2), sessionsPerWorker: num(env.KEEPER_BENCH_SESSIONS, 16), depth: num(env.KEEPER_BENCH_DEPTH, 16) },
  saturation: { workers: num(env.KEEPER_BENCH_SAT_WORKERS, 3), sessionsPerWorker: num(env.KEEPER_BENCH_SAT_SESSIONS, 32), depth: num(env.KEEPER_BENCH_SAT_DEPTH, 16) },
  keys: 1000,
  dataBytes: 100,
  /** A multi: one sequential create and multiOps - 1 setData. */
  multiOps: 4,
  zkHeap: env.KEEPER_BENCH_ZK_HEAP ?? "1g",
  /** The saturation run may be this much above the median of the base runs and still count as flat. */
  flatTolerance: 0.1,
};
const ROOT = "/tp";

type Load = { workers: number; sessionsPerWorker: number; depth: number };

export interface WorkloadResult {
  workload: Workload;
  runs: OpsSummary[];
  saturation?: OpsSummary;
  median: {
    opsPerSec: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    serverCpuUsPerOp: number;
    clientCores: number;
    clientCpuUsPerOp: number;
    hostBusyCores: number;
    /** Host busy cores not used by the servers or the client: other work on the machine. */
    otherCores: number;
    maxWorkerCores: number;
  };
  /** Saturation run / median of the base runs. */
  saturationRatio: number;
  verdict: string;
}

export interface SystemResult {
  system: "Keeper" | "ZooKeeper";
  workloads: WorkloadResult[];
  warmup: OpsSummary[];
  epochBefore?: number | undefined;
  epochAfter?: number | undefined;
  /** Resident memory of the 3 servers after the last run, MiB. */
  rssMiB: number[];
  /** Keeper: warnings and errors its nodes logged, by message, and how many role changes they logged. */
  warnings: Record<string, number>;
  roleChanges: number;
}

export interface ThroughputReport {
  config: typeof CONFIG;
  /** KEEPER_* settings in the environment (other than KEEPER_BENCH_*): the Keeper nodes inherit them. */
  keeperSettings: Record<string, string>;
  zookeeperVersion: string;
  commit: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  machine: Record<string, string>;
  elapsedS: number;
  keeper?: SystemResult | { error: string };
  zookeeper?: SystemResult | { error: string };
  zookeeperSkipped?: string;
}

function commitOf(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: REPO_ROOT, encoding: "utf8" }).trim() !== "";
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return "unknown";
  }
}

/** Busy cores of the host that were neither the servers nor the load processes. */
const otherCores = (o: OpsSummary): number => Math.max(0, o.hostBusyCores - o.clientCores - o.serverCores.reduce((a, b) => a + b, 0));

const createParent = (w: number, s: number): string => `${ROOT}/c${w}-${s}`;

/** The znodes every workload needs: the keys (with data) and one create parent per session. */
async function setup(t: ScaleTarget): Promise<void> {
  const s = t.zkServers()[0]!;
  const data = new Uint8Array(CONFIG.dataBytes).fill(120);
  await createPaths(s.host, s.port, [ROOT, ...Array.from({ length: CONFIG.keys }, (_, i) => `${ROOT}/k${i}`)], data);
  const parents: string[] = [];
  const maxWorkers = Math.max(CONFIG.base.workers, CONFIG.saturation.workers);
  const maxSessions = Math.max(CONFIG.base.sessionsPerWorker, CONFIG.saturation.sessionsPerWorker);
  for (let w = 0; w < maxWorkers; w++) for (let k = 0; k < maxSessions; k++) parents.push(createParent(w, k));
  await createPaths(s.host, s.port, parents, new Uint8Array(0));
}

async function ops(t: ScaleTarget, workload: Workload, load: Load, seconds: number): Promise<OpsSummary> {
  const before = await t.pipeline?.();
  const o = await runOps({
    servers: t.zkServers(),
    serverPids: t.pids(),
    ...load,
    workload,
    root: ROOT,
    keys: CONFIG.keys,
    createParent,
    dataBytes: CONFIG.dataBytes,
    multiOps: CONFIG.multiOps,
    durationMs: seconds * 1000,
  });
  const after = await t.pipeline?.();
  const shape = before && after ? pipelineShape(before, after) : undefined;
  return shape ? { ...o, pipeline: shape } : o;
}

/** The leader's batching over one window, from the difference of its counters (undefined if it changed). */
function pipelineShape(before: PipelineCounters[], after: PipelineCounters[]): PipelineShape | undefined {
  const a = after.find((m) => m.leading);
  const b = before.find((m) => m.id === a?.id && m.leading);
  if (!a || !b) return undefined;
  const txns = a.txns - b.txns;
  const frames = a.framesOut - b.framesOut;
  return { leaderTxnsPerFsync: txns / (a.batches - b.batches), leaderMessagesPerFrame: (a.messagesOut - b.messagesOut) / frames, leaderFramesPerTxn: frames / txns };
}

const k = (x: number): string => (Number.isFinite(x) ? (x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x >= 1000 ? `${(x / 1000).toFixed(2)}k` : x.toFixed(0)) : "n/a");
const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const pct = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${Math.round(x * 100)}%` : "n/a");

function line(system: string, o: OpsSummary, label: string): string {
  const errs = Object.entries(o.codes)
    .filter(([c]) => c !== "OK")
    .map(([c, n]) => `${c} ${n}`)
    .join(", ");
  return (
    `${system}: ${label.padEnd(10)} ${o.workload.padEnd(7)} ${o.workers}x${o.sessions / o.workers}x${o.depth}: ${k(o.opsPerSec)}/s, p50 ${f(o.p50Ms)} p99 ${f(o.p99Ms)} p99.9 ${f(o.p999Ms)} ms, ` +
    `server ${f(o.serverCpuUsPerOp, 0)} us/op (${o.serverCores.map((c) => f(c, 2)).join("+")} cores), client ${f(o.clientCores, 2)} cores (${o.workerCores.map((c) => f(c, 2)).join(", ")}), host busy ${f(o.hostBusyCores, 2)} cores (others ${f(otherCores(o), 2)})` +
    (o.pipeline ? `, leader: ${f(o.pipeline.leaderTxnsPerFsync)} txns/fsync, ${f(o.pipeline.leaderMessagesPerFrame)} msgs/frame, ${f(o.pipeline.leaderFramesPerTxn, 2)} frames/txn` : "") +
    (errs ? `, errors: ${errs}` : "") +
    (o.drops ? `, DROPS ${o.drops}: ${o.dropReasons.slice(0, 3).join("; ")}` : "")
  );
}

function verdictOf(ratio: number, sat: OpsSummary | undefined, maxWorkerCores: number, baseDrops: number): string {
  if (sat === undefined) return "not checked";
  if (sat.drops > 0 || baseDrops > 0) return `INCONCLUSIVE: connections dropped (${baseDrops} in the base runs, ${sat.drops} with 3x the load)`;
  const busyClient = maxWorkerCores > 0.9 ? `; a client process used ${f(maxWorkerCores, 2)} cores` : "";
  if (!Number.isFinite(ratio)) return "n/a";
  if (ratio > 1 + CONFIG.flatTolerance) return `RISES ${pct(ratio - 1)} with 3x the client load: the base load did not saturate the servers${busyClient}`;
  return `saturated: ${pct(ratio - 1)} with 3x the client load${busyClient}`;
}

async function measure(t: ScaleTarget, log: (l: string) => void): Promise<SystemResult> {
  t.startAll();
  await t.waitServing("/", 120_000);
  await setup(t);
  const epochBefore = await leaderEpoch(t);
  const warmup: OpsSummary[] = [];
  if (CONFIG.warmSeconds > 0) {
    for (const w of CONFIG.workloads) {
      const o = await ops(t, w, CONFIG.base, CONFIG.warmSeconds);
      warmup.push(o);
      log(line(t.system, o, "warm-up"));
    }
  }
  const runs = new Map<Workload, OpsSummary[]>(CONFIG.workloads.map((w) => [w, []]));
  for (let r = 1; r <= CONFIG.runs; r++) {
    for (const w of CONFIG.workloads) {
      const o = await ops(t, w, CONFIG.base, CONFIG.seconds);
      runs.get(w)!.push(o);
      log(line(t.system, o, `run ${r}`));
    }
  }
  const sats = new Map<Workload, OpsSummary>();
  for (const w of CONFIG.workloads) {
    const o = await ops(t, w, CONFIG.saturation, CONFIG.seconds);
    sats.set(w, o);
    log(line(t.system, o, "3x load"));
  }
  const epochAfter = await leaderEpoch(t);
  const rss = t.pids().map(rssMiB);
  const workloads = CONFIG.workloads.map((w): WorkloadResult => {
    const rs = runs.get(w)!;
    const m = (get: (o: OpsSummary) => number): number => median(rs.map(get));
    const med = {
      opsPerSec: m((o) => o.opsPerSec),
      p50Ms: m((o) => o.p50Ms),
      p99Ms: m((o) => o.p99Ms),
      p999Ms: m((o) => o.p999Ms),
      serverCpuUsPerOp: m((o) => o.serverCpuUsPerOp),
      clientCores: m((o) => o.clientCores),
      clientCpuUsPerOp: m((o) => o.clientCpuUsPerOp),
      hostBusyCores: m((o) => o.hostBusyCores),
      otherCores: m(otherCores),
      maxWorkerCores: Math.max(...rs.flatMap((o) => o.workerCores)),
    };
    const sat = sats.get(w);
    const ratio = sat ? sat.opsPerSec / med.opsPerSec : NaN;
    return { workload: w, runs: rs, ...(sat ? { saturation: sat } : {}), median: med, saturationRatio: ratio, verdict: verdictOf(ratio, sat, med.maxWorkerCores, rs.reduce((n, o) => n + o.drops, 0)) };
  });
  if (epochBefore !== epochAfter) log(`${t.system}: THE LEADER CHANGED during the measurements (epoch ${epochBefore} -> ${epochAfter})`);
  const warnings = Object.fromEntries(t.warnings());
  const roleChanges = t.logEvents().filter((e) => e.msg === "role").length;
  if (Object.keys(warnings).length > 0) log(`${t.system}: warnings logged by the servers: ${JSON.stringify(warnings).slice(0, 1000)}`);
  if (t.system === "Keeper") log(`${t.system}: "role" lines logged by the servers since they started: ${roleChanges}`);
  return { system: t.system, workloads, warmup, epochBefore, epochAfter, rssMiB: rss, warnings, roleChanges };
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
    for (const e of t.logEvents().slice(-20)) log(`  [node ${e.node}] ${e.line.slice(0, 300)}`);
    return { error: (err as Error).message.split("\n")[0]! };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // A graceful stop first, so node flags such as --cpu-prof get to write their files.
    await t.stopAll().catch(() => 0);
    await t.cleanup();
  }
}

const ok = (r: SystemResult | { error: string } | undefined): SystemResult | undefined => (r && !("error" in r) ? r : undefined);
const ratio = (a: number | undefined, b: number | undefined): string => (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : "n/a");

/** The markdown tables of a report: throughput and latency, CPU, saturation check. */
export function tables(report: ThroughputReport): string[] {
  const kr = ok(report.keeper);
  const zr = ok(report.zookeeper);
  const get = (r: SystemResult | undefined, w: Workload) => r?.workloads.find((x) => x.workload === w);
  const out: string[] = [];
  out.push("| workload | Keeper ops/s | ZooKeeper ops/s | Keeper / ZooKeeper | p50 ms K / ZK | p99 ms K / ZK | p99.9 ms K / ZK | p99 K / ZK |");
  out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const w of report.config.workloads) {
    const a = get(kr, w)?.median;
    const b = get(zr, w)?.median;
    const range = (r: WorkloadResult | undefined) => (r && r.runs.length > 1 ? ` (${k(Math.min(...r.runs.map((o) => o.opsPerSec)))}-${k(Math.max(...r.runs.map((o) => o.opsPerSec)))})` : "");
    out.push(
      `| ${w} | ${k(a?.opsPerSec ?? NaN)}${range(get(kr, w))} | ${k(b?.opsPerSec ?? NaN)}${range(get(zr, w))} | ${ratio(a?.opsPerSec, b?.opsPerSec)} | ${f(a?.p50Ms ?? NaN)} / ${f(b?.p50Ms ?? NaN)} | ${f(a?.p99Ms ?? NaN)} / ${f(b?.p99Ms ?? NaN)} | ${f(a?.p999Ms ?? NaN)} / ${f(b?.p999Ms ?? NaN)} | ${ratio(a?.p99Ms, b?.p99Ms)} |`,
    );
  }
  out.push("");
  out.push("| workload | server CPU us/op Keeper | ZooKeeper | Keeper / ZooKeeper | client cores K / ZK | client us/op K / ZK | busiest client process, cores | server cores K / ZK | other work on the host, cores K / ZK |");
  out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const w of report.config.workloads) {
    const a = get(kr, w)?.median;
    const b = get(zr, w)?.median;
    out.push(
      `| ${w} | ${f(a?.serverCpuUsPerOp ?? NaN, 0)} | ${f(b?.serverCpuUsPerOp ?? NaN, 0)} | ${ratio(a?.serverCpuUsPerOp, b?.serverCpuUsPerOp)} | ${f(a?.clientCores ?? NaN, 2)} / ${f(b?.clientCores ?? NaN, 2)} | ${f(a?.clientCpuUsPerOp ?? NaN, 0)} / ${f(b?.clientCpuUsPerOp ?? NaN, 0)} | ${f(a?.maxWorkerCores ?? NaN, 2)} / ${f(b?.maxWorkerCores ?? NaN, 2)} | ${f(a ? a.serverCpuUsPerOp * a.opsPerSec / 1e6 : NaN, 2)} / ${f(b ? b.serverCpuUsPerOp * b.opsPerSec / 1e6 : NaN, 2)} | ${f(a?.otherCores ?? NaN, 2)} / ${f(b?.otherCores ?? NaN, 2)} |`,
    );
  }
  out.push("");
  const s = report.config.saturation;
  out.push(`Saturation check: one more run of each workload with ${s.workers} processes x ${s.sessionsPerWorker} sessions x ${s.depth} in flight (${s.workers * s.sessionsPerWorker * s.depth} against ${report.config.base.workers * report.config.base.sessionsPerWorker * report.config.base.depth}).`);
  out.push("");
  out.push("| workload | Keeper: 3x load ops/s | Keeper verdict | ZooKeeper: 3x load ops/s | ZooKeeper verdict |");
  out.push("| --- | ---: | --- | ---: | --- |");
  for (const w of report.config.workloads) {
    const a = get(kr, w);
    const b = get(zr, w);
    out.push(`| ${w} | ${k(a?.saturation?.opsPerSec ?? NaN)} | ${a?.verdict ?? "n/a"} | ${k(b?.saturation?.opsPerSec ?? NaN)} | ${b?.verdict ?? "n/a"} |`);
  }
  const mem = (r: SystemResult | undefined) => (r ? `${r.rssMiB.map((x) => f(x, 0)).join(" + ")} MiB` : "n/a");
  out.push("");
  out.push(`Resident memory of the 3 servers after the last run: Keeper ${mem(kr)}, ZooKeeper ${mem(zr)} (ZooKeeper's heap capped at ${report.config.zkHeap}).`);
  return out;
}

function errorsOf(r: SystemResult | undefined): string[] {
  if (!r) return [];
  const out: string[] = [];
  for (const w of r.workloads)
    for (const o of [...w.runs, ...(w.saturation ? [w.saturation] : [])]) {
      const errs = Object.entries(o.codes).filter(([c]) => c !== "OK");
      if (errs.length || o.drops) out.push(`${r.system} ${o.workload} (${o.sessions}x${o.depth}): ${errs.map(([c, n]) => `${c} ${n}`).join(", ")}${o.drops ? ` drops ${o.drops}` : ""}`);
    }
  if (r.epochBefore !== r.epochAfter) out.push(`${r.system}: the leader changed during the measurements (epoch ${r.epochBefore} -> ${r.epochAfter})`);
  return out;
}

const NOTES_MARK = "<!-- Notes below this line are kept when the benchmark rewrites this page. -->";

export function markdown(report: ThroughputReport, notes: string): string {
  const c = report.config;
  const la = (x: number[]) => x.map((v) => v.toFixed(2)).join(" / ");
  const loaded = report.loadAverageAtStart[0]! >= 3 || report.loadAverageAtEnd[0]! >= 3;
  const errors = [...errorsOf(ok(report.keeper)), ...errorsOf(ok(report.zookeeper))];
  return [
    "# Throughput, latency and CPU per operation",
    "",
    `Measured ${report.machine.date?.slice(0, 10) ?? new Date().toISOString().slice(0, 10)} at commit ${report.commit} by \`npm run bench -- throughput\` (bench/throughput.ts), in ${Math.round(report.elapsedS)} s.`,
    `Load average (1 / 5 / 15 min) at the start ${la(report.loadAverageAtStart)}, at the end ${la(report.loadAverageAtEnd)}.`,
    ...(loaded
      ? [
          "",
          "**Taken on a loaded machine**: other work shared the 2 cores during this run (a load average of 3 or more",
          "on 2 cores), so the absolute figures are low and noisy and the ratios less certain than they look. Re-run",
          "on a quiet machine before drawing conclusions.",
        ]
      : []),
    "",
    "## Method",
    "",
    `A 3-node Keeper and a 3-node Apache ZooKeeper ${report.zookeeperVersion} (Debian's package, -Xmx${c.zkHeap}, default`,
    "settings: fsync on, tickTime 2000, syncLimit 5) on loopback, one after the other in the same run, on the same machine.",
    Object.keys(report.keeperSettings ?? {}).length > 0
      ? `Keeper ran with these settings from the environment: ${Object.entries(report.keeperSettings).map(([key, v]) => `${key}=${v}`).join(", ")}; everything else at its defaults.`
      : "Keeper ran with its default settings (tick 100 ms, syncLimit 5 ticks: a follower drops a leader silent for 500 ms, where ZooKeeper waits 10 s).",
    "Both are driven by the same load generator: a pipelined raw jute client of our own (bench/lib/ops-worker.ts)",
    `in ${c.base.workers} processes x ${c.base.sessionsPerWorker} sessions, each session keeping ${c.base.depth} requests in flight (closed loop),`,
    "sessions spread evenly over the 3 members; only reply headers are decoded, so the client's CPU goes to the wire.",
    `Data is ${c.dataBytes} bytes. Workloads: setData and getData of a random one of ${c.keys} znodes, sequential create under`,
    `the session's own parent, mixed (90% getData / 10% setData), and multi (one sequential create and ${c.multiOps - 1} setData`,
    "in one multi; a multi counts as one operation).",
    "",
    `Each system is warmed up first (every workload for ${c.warmSeconds} s, which warms the JVM's JIT as well as V8's),`,
    `then every workload runs ${c.runs} times for ${c.seconds} s; the figures are the median of the runs (ops/s also shows`,
    "the range). Latency is from the request's send to its reply, over every request answered in the window.",
    "Server CPU per operation is the CPU of the 3 server processes over the window (from /proc), divided by the",
    "requests answered in it; client CPU is the load processes' own. Other work on the host is the machine's busy",
    "cores (from /proc/stat) minus the servers' and the client's: CPU that neither system could use.",
    "",
    "## Results",
    "",
    ...tables(report),
    "",
    "A verdict of RISES means the figure for that system is a floor, not its capacity. On this machine the",
    "client processes and all 3 servers share the same cores, so more client load also takes CPU from the servers.",
    "",
    ...(errors.length ? ["Errors and drops seen:", "", ...errors.map((e) => `- ${e}`), ""] : ["No request failed, no connection dropped, no leader changed during the measurements.", ""]),
    `Machine: ${Object.entries(report.machine)
      .map(([key, v]) => `${key} ${v}`)
      .join(", ")}.`,
    "",
    "What moved these figures, and what is left: [performance.md](performance.md).",
    "",
    NOTES_MARK,
    notes,
  ].join("\n");
}

export async function run(opts: { log?: (line: string) => void; writeDoc?: boolean } = {}): Promise<ThroughputReport> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const systems = (env.KEEPER_BENCH_SYSTEMS ?? "keeper,zookeeper").split(",").map((s) => s.trim());
  const b = CONFIG.base;
  log(`${CONFIG.workloads.join(", ")}: ${CONFIG.runs} runs of ${CONFIG.seconds} s after ${CONFIG.warmSeconds} s of warm-up each; client ${b.workers} processes x ${b.sessionsPerWorker} sessions x ${b.depth} in flight`);
  const started = Date.now();
  const keeperSettings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith("KEEPER_") && !e[0].startsWith("KEEPER_BENCH_") && e[1] !== undefined));
  if (Object.keys(keeperSettings).length > 0) log(`Keeper nodes run with ${JSON.stringify(keeperSettings)} from the environment`);
  const report: ThroughputReport = { config: CONFIG, keeperSettings, zookeeperVersion: zookeeperVersion(), commit: commitOf(), loadAverageAtStart: loadavg(), loadAverageAtEnd: [], machine: {}, elapsedS: 0 };
  log(`load average at the start: ${report.loadAverageAtStart.map((x) => x.toFixed(2)).join(" / ")}`);
  // KEEPER_BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") reaches every Keeper node, as in the scale benchmark.
  const nodeFlags = (env.KEEPER_BENCH_NODE_FLAGS ?? "").split(/\s+/).filter((f) => f !== "");
  if (systems.includes("keeper")) report.keeper = await measureSafely(() => keeperTarget({ nodeFlags }), log);
  const why = systems.includes("zookeeper") ? zookeeperUnavailable() : "not selected (KEEPER_BENCH_SYSTEMS)";
  if (why) {
    report.zookeeperSkipped = why;
    log(`ZooKeeper baseline skipped: ${why}`);
  } else report.zookeeper = await measureSafely(() => zookeeperTarget([`-Xmx${CONFIG.zkHeap}`]), log);
  report.elapsedS = (Date.now() - started) / 1000;
  report.loadAverageAtEnd = loadavg();
  report.machine = machineInfo();
  if (env.KEEPER_BENCH_JSON) writeFileSync(env.KEEPER_BENCH_JSON, JSON.stringify(report, null, 1));
  log("");
  for (const l of tables(report)) log(l);
  for (const e of [...errorsOf(ok(report.keeper)), ...errorsOf(ok(report.zookeeper))]) log(`! ${e}`);
  const complete = ok(report.keeper) !== undefined && ok(report.zookeeper) !== undefined && CONFIG.workloads.length === ALL_WORKLOADS.length;
  if ((opts.writeDoc ?? env.KEEPER_BENCH_DOC !== "0") && complete) {
    const file = join(REPO_ROOT, "docs/benchmarks-throughput.md");
    const old = existsSync(file) ? readFileSync(file, "utf8") : "";
    const at = old.indexOf(NOTES_MARK);
    writeFileSync(file, markdown(report, at >= 0 ? old.slice(at + NOTES_MARK.length).replace(/^\n/, "") : ""));
    log(`\nwrote ${file}`);
  } else log("\ndocs/benchmarks-throughput.md left as it is (both systems and every workload are needed, and KEEPER_BENCH_DOC not 0)");
  const failed = [report.keeper, report.zookeeper].find((r) => r !== undefined && "error" in r);
  if (failed && "error" in failed) throw new Error(`throughput benchmark: ${failed.error}`);
  return report;
}
