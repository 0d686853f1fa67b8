// The scale benchmark's results: one value per system, rendered as the console table and as
// docs/benchmarks-scale.md, with each figure's ratio Keeper / ZooKeeper and PASS/MISS against
// the goals of issue 10.
import type { WatchSummary } from "./ensemble-watch.ts";
import type { LogEvent } from "./keeper-cluster.ts";
import type { LoadResult } from "./load.ts";

export interface SystemResult {
  system: "Keeper" | "ZooKeeper";
  warmOpsPerSec: number;
  load: LoadResult;
  /** Epoch ms at the start of the load and of the restart, to place log lines. */
  loadStartedAt: number;
  restartStartedAt: number;
  watch: WatchSummary;
  /** CPU of each server during the load, in cores (1.0 = one core busy throughout). */
  serverCores: number[];
  /** The whole machine's busy cores during the load, every process included. */
  hostBusyCores: number;
  rssAfterLoadMiB: number[];
  diskBytes: number[];
  mntrMs: number[][];
  countAfterLoad: number[];
  stopMs: number;
  restartMs: number;
  /** Roles watched from the restart until SETTLE after every member served. */
  restartWatch: WatchSummary;
  rssAfterRestartMiB: number[];
  rssAfterSettleMiB: number[];
  countAfterRestart: number[];
  /** The leader's epoch before and after the load and after the restart (ZooKeeper: its currentEpoch file). */
  epochBefore: number | undefined;
  epochAfter: number | undefined;
  epochAfterRestart: number | undefined;
  /** The longest event-loop delay of the benchmark's own, nearly idle, process during the load: the machine's share. */
  controlDelayMaxMs: number;
  logEvents: LogEvent[];
  warnings: Record<string, number>;
}

export type Outcome = SystemResult | { error: string };

export interface ScaleReport {
  scale: { znodes: number; parents: number; dataBytes: number; workers: number; sessionsPerWorker: number; depth: number; warmZnodes: number; zkHeap: string; mntrCalls: number; sessionTimeoutMs: number; settleAfterRestartMs: number };
  keeper?: Outcome;
  zookeeper?: Outcome;
  zookeeperSkipped?: string;
  zookeeperVersion: string;
  machine: Record<string, string>;
  elapsedS: number;
}

const ok = (o: Outcome | undefined): SystemResult | undefined => (o !== undefined && !("error" in o) ? o : undefined);
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const fmt = (x: number | undefined, d = 0): string => (x !== undefined && Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "n/a");
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN;
};

/** Requests that failed as a client sees them: every error reply and every request lost with its connection, less re-issues that found their work done. */
export function clientErrors(r: SystemResult): number {
  return Object.entries(r.load.counters.codes).reduce((n, [code, v]) => (code === "OK" ? n : n + v), 0) - r.load.counters.retriedDone;
}

interface Row {
  label: string;
  get: (r: SystemResult) => number;
  digits: number;
  /** Whether to show Keeper / ZooKeeper. */
  ratio: boolean;
  goal?: { text: string; met: (k: SystemResult, z: SystemResult | undefined) => boolean | undefined };
}

const epochs = (a: number | undefined, b: number | undefined): number => (a !== undefined && b !== undefined ? b - a : NaN);

const ratioOf = (row: Row, k: SystemResult, z: SystemResult | undefined): number | undefined => (z ? row.get(k) / row.get(z) : undefined);

const ROWS: Row[] = [
  { label: "znodes created", get: (r) => r.load.done, digits: 0, ratio: false },
  { label: "create rate (creates/s)", get: (r) => r.load.opsPerSec, digits: 0, ratio: true, goal: { text: ">= 1.0x ZooKeeper", met: (k, z) => (z ? k.load.opsPerSec >= z.load.opsPerSec : undefined) } },
  { label: "slowest tenth of the load (creates/s)", get: (r) => Math.min(...r.load.decileRates), digits: 0, ratio: true },
  { label: "client errors (requests)", get: clientErrors, digits: 0, ratio: false, goal: { text: "0", met: (k) => clientErrors(k) === 0 } },
  { label: "connections dropped", get: (r) => r.load.counters.drops, digits: 0, ratio: false },
  { label: "leader changes during the load", get: (r) => r.watch.leaderChanges, digits: 0, ratio: false, goal: { text: "0", met: (k) => k.watch.leaderChanges === 0 } },
  { label: "max event-loop delay (ms)", get: (r) => (r.system === "Keeper" ? Math.max(0, ...Object.values(r.watch.eventLoopMaxMs)) : NaN), digits: 0, ratio: false, goal: { text: "< 100 ms", met: (k) => Math.max(0, ...Object.values(k.watch.eventLoopMaxMs)) < 100 } },
  { label: "max event-loop delay of an idle Node process on the machine (ms)", get: (r) => r.controlDelayMaxMs, digits: 0, ratio: false },
  { label: "role polls unanswered within 1 s", get: (r) => sum(Object.values(r.watch.unanswered)), digits: 0, ratio: false },
  { label: "longest time without a completed create (ms)", get: (r) => r.load.longestNoProgressMs, digits: 0, ratio: true },
  { label: "server CPU during the load (cores, 3 servers)", get: (r) => sum(r.serverCores), digits: 2, ratio: true },
  { label: "server CPU per create (us, 3 servers)", get: (r) => (sum(r.serverCores) * 1e6) / r.load.opsPerSec, digits: 0, ratio: true },
  { label: "client CPU during the load (cores)", get: (r) => r.load.clientCores, digits: 2, ratio: false },
  { label: "machine busy during the load (cores of all)", get: (r) => r.hostBusyCores, digits: 2, ratio: false },
  { label: "RSS after the load (MiB, 3 servers)", get: (r) => sum(r.rssAfterLoadMiB), digits: 0, ratio: true, goal: { text: "<= 0.5x ZooKeeper", met: (k, z) => (z ? sum(k.rssAfterLoadMiB) <= 0.5 * sum(z.rssAfterLoadMiB) : undefined) } },
  { label: "RSS after the restart (MiB, 3 servers)", get: (r) => sum(r.rssAfterRestartMiB), digits: 0, ratio: true, goal: { text: "<= 0.5x ZooKeeper", met: (k, z) => (z ? sum(k.rssAfterRestartMiB) <= 0.5 * sum(z.rssAfterRestartMiB) : undefined) } },
  { label: "disk after the load (MiB, 3 servers)", get: (r) => sum(r.diskBytes) / 2 ** 20, digits: 0, ratio: true },
  { label: "stop, SIGTERM to exit (s)", get: (r) => r.stopMs / 1000, digits: 1, ratio: true },
  { label: "restart to serving (s)", get: (r) => r.restartMs / 1000, digits: 1, ratio: true, goal: { text: "<= 0.5x ZooKeeper", met: (k, z) => (z ? k.restartMs <= 0.5 * z.restartMs : undefined) } },
  { label: "elections during the load (epochs)", get: (r) => epochs(r.epochBefore, r.epochAfter), digits: 0, ratio: false },
  { label: "elections through the restart (epochs)", get: (r) => epochs(r.epochAfter, r.epochAfterRestart), digits: 0, ratio: false },
  { label: "`mntr` latency, median (ms)", get: (r) => pct(r.mntrMs.flat(), 0.5), digits: 1, ratio: true },
  { label: "`mntr` latency, max (ms)", get: (r) => Math.max(...r.mntrMs.flat()), digits: 1, ratio: true, goal: { text: "< 50 ms", met: (k) => Math.max(...k.mntrMs.flat()) < 50 } },
];

export function scaleTable(report: ScaleReport): string[] {
  const k = ok(report.keeper);
  const z = ok(report.zookeeper);
  const lines = ["| measure | Keeper | ZooKeeper | Keeper / ZooKeeper | goal | |", "| --- | ---: | ---: | ---: | --- | --- |"];
  for (const row of ROWS) {
    const label = row.label;
    const kv = k ? row.get(k) : NaN;
    const zv = z ? row.get(z) : NaN;
    const ratio = k && row.ratio ? ratioOf(row, k, z) : undefined;
    const met = k && row.goal ? row.goal.met(k, z) : undefined;
    const verdict = row.goal === undefined ? "" : met === undefined ? "n/a" : met ? "PASS" : "**MISS**";
    lines.push(`| ${label} | ${fmt(kv, row.digits)} | ${fmt(zv, row.digits)} | ${ratio !== undefined && Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : ""} | ${row.goal?.text ?? ""} | ${verdict} |`);
  }
  if (report.keeper && "error" in report.keeper) lines.push("", `Keeper run failed: ${report.keeper.error}`);
  if (report.zookeeper && "error" in report.zookeeper) lines.push("", `ZooKeeper run failed: ${report.zookeeper.error}`);
  if (report.zookeeperSkipped) lines.push("", `ZooKeeper not measured: ${report.zookeeperSkipped}`);
  return lines;
}

function perNode(report: ScaleReport): string[] {
  const lines = ["| system | node | server CPU (cores) | RSS after load (MiB) | RSS after restart (MiB) | RSS 10 s later (MiB) | disk (MiB) | `mntr` median / max (ms) | znodes after restart | max event-loop delay (ms) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"];
  for (const r of [ok(report.keeper), ok(report.zookeeper)]) {
    if (!r) continue;
    r.serverCores.forEach((c, i) => {
      const m = r.mntrMs[i] ?? [];
      lines.push(`| ${r.system} | ${i + 1} | ${fmt(c, 2)} | ${fmt(r.rssAfterLoadMiB[i])} | ${fmt(r.rssAfterRestartMiB[i])} | ${fmt(r.rssAfterSettleMiB[i])} | ${fmt((r.diskBytes[i] ?? NaN) / 2 ** 20)} | ${fmt(pct(m, 0.5), 1)} / ${fmt(Math.max(...m), 1)} | ${fmt(r.countAfterRestart[i])} | ${r.system === "Keeper" ? fmt(r.watch.eventLoopMaxMs[i + 1]) : "n/a"} |`);
    });
  }
  return lines;
}

function loadDetails(r: SystemResult): string[] {
  const c = r.load.counters;
  const out = [
    `- ${r.system}: ${fmt(r.load.done)} of ${fmt(r.load.total)} created in ${fmt(r.load.wallMs / 1000, 1)} s; per tenth of the load (creates/s): ${r.load.decileRates.map((x) => fmt(x)).join(", ")}.`,
    `  Replies and lost requests by code: ${Object.entries(c.codes).map(([k, v]) => `${k} ${fmt(v)}`).join(", ") || "none"}; re-issued after a drop and found done: ${fmt(c.retriedDone)}; connections dropped: ${fmt(c.drops)}; failed reconnects: ${fmt(c.reconnectFailures)}.`,
    `  Warm-up: ${fmt(r.warmOpsPerSec)} creates/s. Client CPU per worker process: ${r.load.workerCores.map((x) => fmt(x, 2)).join(", ")} cores. Longest time without a completed create: ${fmt(r.load.longestNoProgressMs)} ms, ${fmt(r.load.longestNoProgressAtMs / 1000, 1)} s into the load.`,
  ];
  if (r.watch.leaders.length > 0) out.push(`  Leaders seen during the load (node@epoch): ${r.watch.leaders.join(", ")}; after the restart: ${r.restartWatch.leaders.join(", ")}.`);
  if (c.dropReasons.length > 0) out.push(`  First drops: ${c.dropReasons.slice(0, 6).map((d) => `\`${d}\``).join("; ")}.`);
  if (r.watch.roleChanges.length > 0) out.push(`  Role changes during the load (polled every 500 ms): ${r.watch.roleChanges.slice(0, 12).join("; ")}${r.watch.roleChanges.length > 12 ? `; ... (${r.watch.roleChanges.length} in all)` : ""}.`);
  if (r.restartWatch.roleChanges.length > 0) out.push(`  Role changes from the restart on: ${r.restartWatch.roleChanges.slice(0, 12).join("; ")}.`);
  return out;
}

/** A stall shorter than this is only counted in the story (stallSummary); longer ones are shown. */
const STALL_SHOWN_MS = 1_000;

function stallMsOf(e: LogEvent): number | undefined {
  if (e.msg !== STALL_MSG) return undefined;
  return Number(/"stallMs":(\d+)/.exec(e.line)?.[1] ?? NaN);
}
const STALL_MSG = "event loop stalled: peers and clients went unanswered meanwhile";

/** Per node: event-loop stalls logged (over the node's stallWarnMs), the longest, and how many lasted 500 ms or more (the peer silence window). */
export function stallSummary(r: SystemResult): string[] {
  const by = new Map<number, number[]>();
  for (const e of r.logEvents) {
    const ms = stallMsOf(e);
    if (ms !== undefined) by.set(e.node, [...(by.get(e.node) ?? []), ms]);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([node, xs]) => `node ${node}: ${xs.length} logged, ${xs.filter((x) => x >= 500).length} of them 500 ms or more, the longest ${Math.max(...xs)} ms`);
}

/** Keeper's warnings and role lines, timed from the start of the load (L+) or the restart (R+). */
export function keeperStory(r: SystemResult, max = 60): string[] {
  const when = (t: number): string => (t >= r.restartStartedAt ? `R+${((t - r.restartStartedAt) / 1000).toFixed(1)}s` : t >= r.loadStartedAt ? `L+${((t - r.loadStartedAt) / 1000).toFixed(1)}s` : "before");
  const keep = r.logEvents.filter((e) => (e.level >= 40 && (stallMsOf(e) ?? Infinity) >= STALL_SHOWN_MS) || e.msg === "role" || e.msg === "loaded" || e.msg === "snapshot saved" || e.msg.startsWith("this node was paused"));
  const lines = keep.slice(0, max).map((e) => {
    let rest = "";
    try {
      const j = JSON.parse(e.line) as Record<string, unknown>;
      for (const k of ["level", "time", "pid", "hostname", "node", "msg"]) delete j[k];
      rest = ` ${JSON.stringify(j)}`;
    } catch {
      // not a pino line (a message printed before the logger existed): msg is the line
    }
    return `${when(e.time)} node ${e.node} ${e.level >= 50 ? "ERROR" : e.level >= 40 ? "WARN" : "info"} ${e.msg.slice(0, 300)}${rest}`;
  });
  if (keep.length > max) lines.push(`... ${keep.length - max} more (all of them in the benchmark's console output)`);
  return lines;
}

const NOTES_BEGIN = "<!-- notes: written by hand, kept when the benchmark rewrites this file -->";
const NOTES_END = "<!-- end of notes -->";

/** The hand-written notes block of an earlier version of the page, markers included, or "". */
export function notesOf(previous: string): string {
  const a = previous.indexOf(NOTES_BEGIN);
  const b = previous.indexOf(NOTES_END);
  return a >= 0 && b > a ? previous.slice(a, b + NOTES_END.length) : "";
}

/** The page; `notes` (from notesOf) goes after the figures, or an empty block for them. */
export function scaleMarkdown(report: ScaleReport, notes = ""): string {
  const s = report.scale;
  const k = ok(report.keeper);
  const z = ok(report.zookeeper);
  const reduced = s.znodes < 1_000_000 ? ` This run was at reduced scale (${fmt(s.znodes)} znodes, not the goal's 1,000,000).` : "";
  const warnings = k ? Object.entries(k.warnings).sort((a, b) => b[1] - a[1]) : [];
  return [
    "# Scale: a million znodes",
    "",
    `Measured ${report.machine.date?.slice(0, 10) ?? ""} by \`npm run bench -- scale\` (bench/scale.ts), whole benchmark ${fmt(report.elapsedS)} s.${reduced}`,
    "",
    `${fmt(s.znodes)} znodes of ${s.dataBytes} bytes under ${fmt(s.parents)} parents (\`/scale/p<i mod ${s.parents}>/n<i>\`) are created`,
    "through the ZooKeeper wire protocol in a 3-node Keeper and then in a 3-node Apache ZooKeeper",
    `${report.zookeeperVersion}, on loopback on one machine, one system after the other. The client is the same`,
    `for both: ${s.workers} child processes x ${s.sessionsPerWorker} sessions (spread over the 3 members) x ${s.depth} creates in flight per`,
    "session, closed loop, on raw jute frames (bench/lib/load-worker.ts), so that it is not the bottleneck: its",
    "CPU is in the table. A dropped connection counts every request in flight on it as CONNECTIONLOSS (as",
    "ZooKeeper's client reports them); the session reconnects to the next member and re-issues them, and a",
    "re-issued create answered NODEEXISTS counts as created.",
    "",
    `Before the measured load each ensemble creates and deletes ${fmt(s.warmZnodes)} znodes (JIT warm-up of both), then the`,
    `${fmt(s.parents)} parents. During the load every member's role is polled every 500 ms (Keeper: admin /status \`state\`,`,
    "`epoch` and `eventLoop.maxMs`; ZooKeeper: `srvr` Mode and its version-2/currentEpoch file); a leader change",
    "is a new (leader, epoch) pair, and the epoch's rise counts elections. Server CPU comes from",
    "/proc/<pid>/stat, RSS from /proc/<pid>/status VmRSS right after the load, disk from `du` of each data",
    `directory (blocks allocated). \`mntr\` latency: ${s.mntrCalls} sequential calls`,
    "per member after the load. Restart: SIGTERM to all 3, wait for them to exit, start all 3, and time",
    "until every member serves in a settled role and answers a read on its ZooKeeper port; RSS is read then,",
    `and the roles are watched for ${s.settleAfterRestartMs / 1000} s more.`,
    "",
    "- Keeper: `keeper server` processes as `keeper ensemble` starts them (`--server-id`, `--data-dir`, `--peers`,",
    "  `--client-port`, `--zk-port`, `--peer-host`), default settings, log level info (the server's default).",
    `- ZooKeeper: QuorumPeerMain from Debian's package, -Xmx${s.zkHeap}, tickTime 2000, initLimit 10, syncLimit 5,`,
    "  default snapCount (100,000), forceSync on.",
    "",
    "Ratios are Keeper / ZooKeeper; the goals are issue 10's.",
    "",
    ...scaleTable(report),
    "",
    "## Per member",
    "",
    ...perNode(report),
    "",
    "## The load in detail",
    "",
    ...[k, z].flatMap((r) => (r ? loadDetails(r) : [])),
    "",
    ...(k
      ? [
          "## Keeper's log",
          "",
          `Warnings and errors by message: ${warnings.map(([m, n]) => `"${m}" x${n}`).join(", ") || "none"}.`,
          `Event-loop stalls (logged by each node over 200 ms): ${stallSummary(k).join("; ") || "none"}.`,
          `Warnings (stalls of ${STALL_SHOWN_MS} ms or more only), role changes, pauses, snapshots and boots, timed from the start of the load (L+) or of the restart (R+):`,
          "",
          "```",
          ...keeperStory(k, 80),
          "```",
          "",
        ]
      : []),
    notes || `${NOTES_BEGIN}\n${NOTES_END}`,
    "",
    "## Machine",
    "",
    `${Object.entries(report.machine).map(([key, v]) => `${key} ${v}`).join(", ")}.`,
    "The client and the three servers of the system under test share the machine's cores (the",
    "\"machine busy\" row counts every process, other work on the machine included), so the figures are",
    "relative: compare the two columns, not these numbers with another machine's.",
    "",
    "## Reproduce",
    "",
    "```sh",
    "npm run bench -- scale                                   # 1,000,000 znodes, rewrites this file",
    "KEEPER_BENCH_ZNODES=50000 npm run bench -- scale         # a quick run",
    "KEEPER_BENCH_SYSTEMS=keeper npm run bench -- scale       # Keeper alone (leaves this file as it is)",
    "KEEPER_BENCH_NODE_FLAGS=--trace-gc KEEPER_BENCH_KEEPER_LOG=/tmp/keeper.log KEEPER_BENCH_SYSTEMS=keeper npm run bench -- scale",
    "                                                         # every line the Keeper members print, kept in a file",
    "```",
    "",
  ].join("\n");
}
