// npm run sim -- [--seeds N] [--start S] [--nodes 3|5] [--seed S] [--fault commitWithoutQuorum]
// Runs seeded simulations of a whole ensemble; a failing seed prints the command that replays it.
import { parseArgs } from "node:util";
import { SimCluster, defaultSimOptions } from "./cluster.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "200" },
    start: { type: "string", default: "1" },
    seed: { type: "string" },
    nodes: { type: "string", default: "3" },
    fault: { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});
const nodes = Number(values.nodes);
if (nodes !== 3 && nodes !== 5) {
  process.stderr.write("--nodes must be 3 or 5\n");
  process.exit(2);
}
const first = Number(values.seed ?? values.start);
const count = values.seed !== undefined ? 1 : Number(values.seeds);
const fault = values.fault === "commitWithoutQuorum" ? values.fault : undefined;
const started = performance.now();
let failed = 0;
for (let seed = first; seed < first + count; seed++) {
  const sim = new SimCluster({ ...defaultSimOptions, nodes, seed, ...(fault ? { testFault: fault } : {}) });
  try {
    sim.run();
    if (values.verbose) process.stdout.write(`seed ${seed} ok: ${sim.check.committedCount} committed, ${JSON.stringify(sim.stats)}\n`);
  } catch (e) {
    failed++;
    process.stdout.write(`seed ${seed} FAILED: ${(e as Error).message}\n`);
    process.stdout.write(`replay: npm run sim -- --nodes ${nodes} --seed ${seed}${fault ? ` --fault ${fault}` : ""} --verbose\n\n`);
  }
}
const minutes = (performance.now() - started) / 60_000;
process.stdout.write(`${count} seeds of ${nodes} nodes, ${failed} failed, ${(count / minutes).toFixed(0)} seeds per minute\n`);
process.exit(failed > 0 ? 1 : 0);
