// The parent side of the throughput benchmark's load: forks `workers` child processes
// (bench/lib/ops-worker.ts), waits until every session of every worker is connected, says "go"
// to all, and meters the servers' CPU (from /proc, the PIDs given) and the whole host's over the
// same window. Merges the workers' counts and latency histograms into one result. Children are
// killed (by their PID) if they do not exit on their own.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Histogram } from "./histogram.ts";
import type { OpsJob, OpsMessage, OpsResult, Workload } from "./ops-worker.ts";
import { cpuSeconds, hostCpu } from "./procfs.ts";

export interface OpsPlan {
  servers: Array<{ host: string; port: number }>;
  serverPids: number[];
  workers: number;
  sessionsPerWorker: number;
  depth: number;
  workload: Workload;
  root: string;
  keys: number;
  /** Parent of worker w, session s's sequential creates. */
  createParent: (w: number, s: number) => string;
  dataBytes: number;
  multiOps: number;
  durationMs: number;
  sessionTimeoutMs?: number;
}

export interface OpsSummary {
  workload: Workload;
  workers: number;
  sessions: number;
  depth: number;
  /** Requests answered per second (a multi counts once). */
  opsPerSec: number;
  /** Requests answered OK per second. */
  okPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Server CPU (all 3 processes) per answered request, microseconds. */
  serverCpuUsPerOp: number;
  /** CPU of each server process over the window, in cores. */
  serverCores: number[];
  /** CPU of all load workers over the window, in cores, and per worker. */
  clientCores: number;
  workerCores: number[];
  /** Client CPU per answered request, microseconds. */
  clientCpuUsPerOp: number;
  /** Busy cores of the whole host over the window (everything on the machine). */
  hostBusyCores: number;
  codes: Record<string, number>;
  drops: number;
  dropReasons: string[];
  wallMs: number;
  /** Keeper only: how its leader's write pipeline batched over the window (from /status counters). */
  pipeline?: PipelineShape;
}

export interface PipelineShape {
  /** Transactions per synced log batch (group commit). */
  leaderTxnsPerFsync: number;
  /** Peer messages per WebSocket frame the leader sent. */
  leaderMessagesPerFrame: number;
  /** Frames the leader sent per logged transaction. */
  leaderFramesPerTxn: number;
}

const tsxLoader = (): string => {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return "tsx";
  }
};

export async function runOps(plan: OpsPlan): Promise<OpsSummary> {
  const file = join(import.meta.dirname, "ops-worker.ts");
  const children: ChildProcess[] = [];
  const readies: Array<Promise<void>> = [];
  const results: Array<Promise<OpsResult>> = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    for (let w = 0; w < plan.workers; w++) {
      const child = fork(file, [], { execArgv: ["--import", tsxLoader()], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      children.push(child);
      let ready: () => void = () => {};
      let fail: (e: Error) => void = () => {};
      readies.push(
        new Promise<void>((resolve, reject) => {
          ready = resolve;
          fail = reject;
        }),
      );
      results.push(
        new Promise<OpsResult>((resolve, reject) => {
          let finished = false;
          child.on("message", (m: OpsMessage) => {
            if (m.kind === "ready") ready();
            else if (m.kind === "done") {
              finished = true;
              resolve(m.result);
            } else {
              const e = new Error(`load worker ${w} failed: ${m.error}`);
              fail(e);
              reject(e);
            }
          });
          child.once("exit", (code, signal) => {
            if (finished) return;
            const e = new Error(`load worker ${w} exited (${code ?? signal}) before finishing`);
            fail(e);
            reject(e);
          });
        }),
      );
      // Keep unhandled-rejection noise away; failures surface through the awaits below.
      results[w]!.catch(() => {});
      readies[w]!.catch(() => {});
      const job: OpsJob = {
        servers: plan.servers,
        firstServer: w * plan.sessionsPerWorker,
        sessions: plan.sessionsPerWorker,
        depth: plan.depth,
        workload: plan.workload,
        root: plan.root,
        keys: plan.keys,
        createParents: Array.from({ length: plan.sessionsPerWorker }, (_, s) => plan.createParent(w, s)),
        dataBytes: plan.dataBytes,
        multiOps: plan.multiOps,
        durationMs: plan.durationMs,
        sessionTimeoutMs: plan.sessionTimeoutMs ?? 30_000,
      };
      child.send(job);
    }
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`load workers not done ${plan.durationMs + 60_000} ms after start`)), plan.durationMs + 60_000);
    });
    await Promise.race([Promise.all(readies), timeout]);
    const c0 = plan.serverPids.map(cpuSeconds);
    const h0 = hostCpu();
    const t0 = performance.now();
    for (const c of children) c.send("go");
    // The servers' window is the workers' window (give or take the IPC hop of "go").
    await new Promise((r) => setTimeout(r, plan.durationMs));
    const secs = (performance.now() - t0) / 1000;
    const serverCpu = plan.serverPids.map((p, i) => cpuSeconds(p) - c0[i]!);
    const h1 = hostCpu();
    const all = await Promise.race([Promise.all(results), timeout]);
    return summarize(plan, all, serverCpu, secs, (h1.busy - h0.busy) / secs);
  } finally {
    clearTimeout(timer);
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once("exit", r));
        const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}

function summarize(plan: OpsPlan, all: OpsResult[], serverCpu: number[], secs: number, hostBusyCores: number): OpsSummary {
  const hist = new Histogram();
  const codes: Record<string, number> = {};
  let done = 0;
  let ok = 0;
  let cpuUs = 0;
  let drops = 0;
  const dropReasons: string[] = [];
  for (const r of all) {
    hist.add(r.hist);
    done += r.done;
    ok += r.ok;
    cpuUs += r.cpuUs;
    drops += r.drops;
    dropReasons.push(...r.dropReasons);
    for (const [k, v] of Object.entries(r.codes)) codes[k] = (codes[k] ?? 0) + v;
  }
  const wallMs = Math.max(...all.map((r) => r.wallMs));
  const serverTotal = serverCpu.reduce((a, b) => a + b, 0);
  let max = NaN;
  for (let i = hist.counts.length - 1; i >= 0; i--)
    if (hist.counts[i]! > 0) {
      max = hist.quantileMs(1);
      break;
    }
  return {
    workload: plan.workload,
    workers: plan.workers,
    sessions: plan.workers * plan.sessionsPerWorker,
    depth: plan.depth,
    opsPerSec: done / (wallMs / 1000),
    okPerSec: ok / (wallMs / 1000),
    p50Ms: hist.quantileMs(0.5),
    p99Ms: hist.quantileMs(0.99),
    p999Ms: hist.quantileMs(0.999),
    maxMs: max,
    serverCpuUsPerOp: done > 0 ? (serverTotal * 1e6) / done : NaN,
    serverCores: serverCpu.map((c) => c / secs),
    clientCores: cpuUs / 1000 / wallMs,
    workerCores: all.map((r) => r.cpuUs / 1000 / r.wallMs),
    clientCpuUsPerOp: done > 0 ? cpuUs / done : NaN,
    hostBusyCores,
    codes,
    drops,
    dropReasons,
    wallMs,
  };
}
