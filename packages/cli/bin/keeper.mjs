#!/usr/bin/env node
// `keeper` as an installed command: runs src/main.ts under tsx in a child Node process,
// with stdio, exit code and stop signals passed through.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
// Resolved from this file, so the command works from any working directory.
const tsx = import.meta.resolve("tsx");

const child = spawn(process.execPath, ["--import", tsx, main, ...process.argv.slice(2)], { stdio: "inherit" });

// Ctrl-C on a terminal reaches the child directly too; the child ignores the repeat.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

child.on("error", (err) => {
  process.stderr.write(`keeper: cannot start node: ${err.message}\n`);
  process.exit(1);
});

child.on("exit", (code, signal) => {
  if (signal !== null) {
    // Die of the same signal, so the caller sees what the child saw.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
