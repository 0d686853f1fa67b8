// npm run sim -- [--seeds N] [--start S] [--nodes 3|5] [--seed S] [--duration MS]
//                [--fault commitWithoutQuorum|syncReadEarly|replayBadRecords]
//                [--message-faults DROP,DUPLICATE,REORDER,LATE_MS|off] [--disk-faults RATE] [--verbose]
// Runs seeded simulations of a whole ensemble; a failing seed prints the command that replays it.
import { parseArgs } from "node:util";
import { SimCluster, defaultSimOptions, type SimOptions } from "./cluster.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "200" },
    start: { type: "string", default: "1" },
    seed: { type: "string" },
    nodes: { type: "string", default: "3" },
    duration: { type: "string" },
    fault: { type: "string" },
    "message-faults": { type: "string" },
    "disk-faults": { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});
const nodes = Number(values.nodes);
if (nodes !== 3 && nodes !== 5) {
  process.stderr.write("--nodes must be 3 or 5\n");
  process.exit(2);
}
const faults: Partial<SimOptions> =
  values.fault === "commitWithoutQuorum" ? { testFault: "commitWithoutQuorum" }
  : values.fault === "syncReadEarly" ? { simFault: "syncReadEarly" }
  : values.fault === "replayBadRecords" ? { simFault: "replayBadRecords" }
  : {};
if (values.fault !== undefined && Object.keys(faults).length === 0) {
  process.stderr.write("--fault must be commitWithoutQuorum, syncReadEarly or replayBadRecords\n");
  process.exit(2);
}
const mf = values["message-faults"];
if (mf !== undefined) {
  const parts = mf.split(",").map(Number);
  if (mf === "off") faults.messageFaults = undefined;
  else if (parts.length === 4 && parts.every((x) => Number.isFinite(x) && x >= 0) && parts.slice(0, 3).every((p) => p <= 1) && parts[3]! >= 1) {
    const [drop, duplicate, reorder, lateMs] = parts as [number, number, number, number];
    faults.messageFaults = { drop, duplicate, reorder, lateMs };
  } else {
    process.stderr.write("--message-faults must be off or DROP,DUPLICATE,REORDER,LATE_MS (chances 0..1, LATE_MS >= 1)\n");
    process.exit(2);
  }
}
const df = values["disk-faults"];
if (df !== undefined) {
  const rate = Number(df);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    process.stderr.write("--disk-faults must be a chance per simulated millisecond, 0..1 (0: none)\n");
    process.exit(2);
  }
  faults.diskFaultRate = rate;
}
const first = Number(values.seed ?? values.start);
const count = values.seed !== undefined ? 1 : Number(values.seeds);
const started = performance.now();
let failed = 0;
let ops = 0;
for (let seed = first; seed < first + count; seed++) {
  const sim = new SimCluster({ ...defaultSimOptions, nodes, seed, ...(values.duration ? { durationMs: Number(values.duration) } : {}), ...faults });
  try {
    sim.run();
    ops += sim.history.ops.length;
    if (values.verbose) process.stdout.write(`seed ${seed} ok: ${sim.check.committedCount} committed, ${sim.history.ops.length} client ops, ${JSON.stringify(sim.stats)}, messages ${JSON.stringify(sim.net.faultStats)}, linearizability ${JSON.stringify(sim.history.stats)}\n`);
  } catch (e) {
    failed++;
    // The message ends with the replay command.
    process.stdout.write(`seed ${seed} FAILED: ${(e as Error).message}\n\n`);
  }
}
const minutes = (performance.now() - started) / 60_000;
process.stdout.write(`${count} seeds of ${nodes} nodes, ${failed} failed, ${ops} client ops checked, ${(count / minutes).toFixed(0)} seeds per minute\n`);
process.exit(failed > 0 ? 1 : 0);
