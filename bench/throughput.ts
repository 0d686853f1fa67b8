// Throughput, latency and memory of a 3-node Keeper against a 3-node Apache ZooKeeper 3.8 in
// the same run, both driven by the same client library (node-zookeeper-client) over the same
// ZooKeeper wire protocol, so the comparison is the servers', not the clients'.
//
//   npm run bench -- throughput          (KEEPER_BENCH_SECONDS=N per phase, default 5)
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { REPO_ROOT } from "../test/support/processes.ts";
import { startEnsemble } from "../test/support/ensemble.ts";
import { machineInfo } from "./lib/stats.ts";
import { ZkEnsemble, zookeeperUnavailable, zookeeperVersion } from "./lib/zookeeper.ts";

export const name = "throughput";

const SECONDS = Number(process.env.KEEPER_BENCH_SECONDS ?? 5);
const CLIENTS = 16;
/** Requests each client keeps in flight (ZooKeeper clients pipeline on one connection). */
const DEPTH = 8;
const DATA = Buffer.alloc(128, 120);

interface Client {
  setData(path: string): Promise<void>;
  getData(path: string): Promise<void>;
  create(path: string): Promise<void>;
  close(): void;
}

async function connect(server: string): Promise<Client> {
  const zk = createRequire(import.meta.url)("node-zookeeper-client") as any;
  const c = zk.createClient(server, { sessionTimeout: 30_000, spinDelay: 100, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no connection to ${server}`)), 15_000);
    c.once("connected", () => {
      clearTimeout(t);
      resolve();
    });
    c.connect();
  });
  const cb = (res: () => void, rej: (e: Error) => void) => (err: Error | null) => (err ? rej(err) : res());
  return {
    setData: (p) => new Promise((res, rej) => c.setData(p, DATA, -1, cb(res, rej))),
    getData: (p) => new Promise((res, rej) => c.getData(p, cb(res, rej))),
    create: (p) => new Promise((res, rej) => c.create(p, DATA, cb(res, rej))),
    close: () => c.close(),
  };
}

interface PhaseResult {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Every client keeps DEPTH requests in flight on its own znode for SECONDS. */
async function phase(clients: Client[], op: (c: Client, i: number) => Promise<void>): Promise<PhaseResult> {
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let ops = 0;
  const worker = async (c: Client, i: number) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await op(c, i);
      lat.push(performance.now() - t0);
      ops++;
    }
  };
  const started = performance.now();
  await Promise.all(clients.flatMap((c, i) => Array.from({ length: DEPTH }, () => worker(c, i))));
  const secs = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { opsPerSec: ops / secs, p50Ms: q(0.5), p99Ms: q(0.99) };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface SystemResult {
  writes: PhaseResult;
  reads: PhaseResult;
  creates: PhaseResult;
  rssMb: number;
}

async function measure(servers: string[], pids: () => number[], tag: string): Promise<SystemResult> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => connect(servers[i % servers.length]!)));
  try {
    const root = `/bench-${tag}-${Date.now()}`;
    await clients[0]!.create(root);
    await Promise.all(clients.map((c, i) => c.create(`${root}/c${i}`)));
    const writes = await phase(clients, (c, i) => c.setData(`${root}/c${i}`));
    const reads = await phase(clients, (c, i) => c.getData(`${root}/c${i}`));
    let n = 0;
    const creates = await phase(clients, (c, i) => c.create(`${root}/c${i}/n${n++}`));
    const rss = pids().reduce((sum, pid) => sum + rssMb(pid), 0);
    return { writes, reads, creates, rssMb: rss };
  } finally {
    for (const c of clients) c.close();
  }
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

export async function run(opts: { log?: (line: string) => void; writeDoc?: boolean } = {}): Promise<{ keeper: SystemResult; zookeeper?: SystemResult }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  log(`${CLIENTS} clients x ${DEPTH} in flight, ${SECONDS} s per phase, ${DATA.length}-byte data`);
  const keeperEnsemble = await startEnsemble({ size: 3 });
  let keeper: SystemResult;
  try {
    const statuses = await Promise.all(keeperEnsemble.nodes.map((n) => n.status()));
    const servers = statuses.map((s) => `127.0.0.1:${s!.zkPort}`);
    keeper = await measure(servers, () => statuses.map((s) => s!.pid as number), "keeper");
    log(`keeper:    ${JSON.stringify(keeper)}`);
  } finally {
    await keeperEnsemble.cleanup();
  }
  let zookeeper: SystemResult | undefined;
  const why = zookeeperUnavailable();
  if (why) {
    log(`ZooKeeper baseline skipped: ${why}`);
  } else {
    const zk = await ZkEnsemble.create(3);
    try {
      zk.startAll();
      await zk.waitAllServing();
      zookeeper = await measure(zk.nodes.map((n) => n.address), () => zk.nodes.map((n) => n.child!.pid!), "zk");
      log(`zookeeper: ${JSON.stringify(zookeeper)}`);
    } finally {
      await zk.cleanup();
    }
  }
  const rows: Array<[string, (r: SystemResult) => number, number, boolean]> = [
    ["setData throughput (ops/s)", (r) => r.writes.opsPerSec, 0, true],
    ["setData latency p50 (ms)", (r) => r.writes.p50Ms, 1, false],
    ["setData latency p99 (ms)", (r) => r.writes.p99Ms, 1, false],
    ["create throughput (ops/s)", (r) => r.creates.opsPerSec, 0, true],
    ["getData throughput (ops/s)", (r) => r.reads.opsPerSec, 0, true],
    ["getData latency p50 (ms)", (r) => r.reads.p50Ms, 1, false],
    ["getData latency p99 (ms)", (r) => r.reads.p99Ms, 1, false],
    ["resident memory, 3 servers (MiB)", (r) => r.rssMb, 0, false],
  ];
  const table = [
    "| measure | Keeper | ZooKeeper | Keeper / ZooKeeper |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map(([label, get, d]) => {
      const k = get(keeper);
      const z = zookeeper ? get(zookeeper) : NaN;
      return `| ${label} | ${fmt(k, d)} | ${fmt(z, d)} | ${Number.isFinite(z) ? (k / z).toFixed(2) : "n/a"} |`;
    }),
  ];
  for (const line of table) log(line);
  if (opts.writeDoc ?? true) {
    const info = machineInfo();
    const doc = [
      "# Throughput, latency and memory",
      "",
      `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench -- throughput\` (bench/throughput.ts): a 3-node`,
      `Keeper and a 3-node Apache ZooKeeper ${zookeeperVersion()} (Debian's package, default settings: fsync on,`,
      "tickTime 2000) on loopback, one after the other on the same machine, both driven by",
      `node-zookeeper-client over ZooKeeper's wire protocol: ${CLIENTS} clients spread over the servers, each`,
      `keeping ${DEPTH} requests in flight on its own znode, ${SECONDS} s per phase, ${DATA.length}-byte data. Writes are`,
      "acknowledged only after a quorum made them durable on both systems. Ratios above 1 mean Keeper",
      "is higher (better for throughput, worse for latency and memory).",
      "",
      ...table,
      "",
      `Machine: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
      "The client and all six servers share the machine's cores, so these are relative figures.",
      "",
      "What moved these figures, and what is left: [performance.md](performance.md).",
      "",
    ].join("\n");
    writeFileSync(join(REPO_ROOT, "docs/benchmarks-throughput.md"), doc);
  }
  return { keeper, ...(zookeeper ? { zookeeper } : {}) };
}
