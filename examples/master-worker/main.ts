// npm run example:master-worker [-- --connect host:port,... --tasks 12 --workers 3 --masters 2 --no-chaos]
import { parseArgs } from "node:util";
import { runMasterWorker } from "./src/run.ts";

const { values } = parseArgs({
  options: {
    connect: { type: "string" },
    root: { type: "string", default: "/master-worker" },
    tasks: { type: "string", default: "12" },
    masters: { type: "string", default: "2" },
    workers: { type: "string", default: "3" },
    "work-ms": { type: "string", default: "300" },
    "session-timeout-ms": { type: "string", default: "2000" },
    "no-chaos": { type: "boolean", default: false },
  },
});

const connectString = values.connect ?? process.env.KEEPER_CONNECT ?? "127.0.0.1:8181,127.0.0.1:8182,127.0.0.1:8183";
console.log(`master-worker against ${connectString}`);
try {
  const result = await runMasterWorker({
    connect: connectString,
    root: values.root,
    tasks: Number(values.tasks),
    masters: Number(values.masters),
    workers: Number(values.workers),
    workMs: Number(values["work-ms"]),
    sessionTimeoutMs: Number(values["session-timeout-ms"]),
    chaos: !values["no-chaos"],
  });
  for (const [task, s] of result.statuses) console.log(`  ${task}: ${s.state} by ${s.worker} -> ${s.output}`);
  console.log(`all ${result.statuses.size} tasks final in ${result.elapsedMs} ms`);
  process.exit(0);
} catch (e) {
  console.error(`master-worker failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
