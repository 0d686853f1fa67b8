// `keeper ensemble`: runs a local ensemble of `keeper server` child processes until Ctrl-C.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ExitCode, reportError } from "./errors.ts";
import { dialHost, ensembleHelp, parseEnsembleArgs, planEnsemble, type EnsemblePlan } from "./ensemble-plan.ts";
import type { Io } from "./io.ts";
import { NodeProcess, describeExit, portProblem, type SpawnCommand } from "./node-process.ts";
import { fetchJson, fetchStatuses, formatStatusTable, type FetchJson, type StatusResult } from "./status.ts";

export type EnsembleSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

export interface EnsembleDeps {
  signals: { on(signal: EnsembleSignal, listener: () => void): unknown; removeListener(signal: EnsembleSignal, listener: () => void): unknown };
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How to run the keeper CLI in a child: node, the tsx loader and main.ts by default. */
  spawnCommand?: Omit<SpawnCommand, "cwd" | "env">;
  fetchJson?: FetchJson;
  startTimeoutMs?: number;
  stopGraceMs?: number;
  pollMs?: number;
}

const STOP_SIGNALS: readonly EnsembleSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * How to start a node: `node --import tsx .../cli/src/main.ts` where the sources run, plain
 * `node .../dist/main.js` in a built package (npm install, the Docker image), which has no tsx.
 * Resolved from this file, so any working directory works.
 */
export function defaultSpawnCommand(): Omit<SpawnCommand, "cwd" | "env"> {
  if (!import.meta.url.endsWith(".ts")) return { command: process.execPath, args: [fileURLToPath(new URL("./main.js", import.meta.url))] };
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  let tsx = "tsx";
  try {
    tsx = import.meta.resolve("tsx");
  } catch {
    // Left to Node's resolution from the working directory.
  }
  return { command: process.execPath, args: ["--import", tsx, main] };
}

export function processEnsembleDeps(): EnsembleDeps {
  return { signals: process, cwd: process.cwd(), env: process.env };
}

/** Why the ensemble is not up yet, or undefined once every node answers and a leader serves. */
export function notReady(plan: EnsemblePlan, results: readonly StatusResult[]): string[] | undefined {
  const problems: string[] = [];
  results.forEach((r, i) => {
    const node = plan.nodes[i]!;
    if ("error" in r) problems.push(`node ${node.id} (${r.address}) did not answer /status: ${r.error}`);
    else if (r.status.serving !== true) problems.push(`node ${node.id} (${r.address}) is ${String(r.status.state)} and not serving`);
  });
  const leaderServing = results.some((r) => "status" in r && r.status.serving === true && (r.status.state === "leading" || r.status.state === "standalone"));
  if (!leaderServing) problems.push("no leader is serving");
  return problems.length === 0 ? undefined : problems;
}

export async function runEnsemble(argv: readonly string[], deps: EnsembleDeps, io: Io): Promise<number> {
  let plan: EnsemblePlan;
  try {
    const invocation = parseEnsembleArgs(argv);
    if (invocation.help) {
      io.out(ensembleHelp());
      return ExitCode.OK;
    }
    plan = planEnsemble(invocation.options, deps.cwd);
  } catch (err) {
    return reportError(io, err, "keeper ensemble");
  }
  for (const warning of plan.warnings) io.err(warning);

  const busy = await busyPorts(plan);
  if (busy.length > 0) {
    io.err(`keeper ensemble: cannot start, ${busy.length === 1 ? "a port is" : "ports are"} not free:`);
    for (const line of busy) io.err(`  ${line}`);
    io.err("Stop what holds them (another ensemble?) or choose others with --base-client-port and --base-peer-port.");
    return ExitCode.FAILED;
  }

  let stopRequested: (signal: EnsembleSignal) => void = () => {};
  const stopSignal = new Promise<EnsembleSignal>((resolve) => (stopRequested = resolve));
  // Registered for the whole run: a Ctrl-C may arrive twice (terminal and bin/keeper.mjs).
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => stopRequested(signal)] as const);
  for (const [signal, handler] of handlers) deps.signals.on(signal, handler);
  const spawnCommand: SpawnCommand = { ...(deps.spawnCommand ?? defaultSpawnCommand()), cwd: deps.cwd, env: ensembleEnv(deps.env, plan.nodes.length, memberOrigins(plan, plan.options.host)) };
  io.err(`Starting ${plan.nodes.length} Keeper node${plan.nodes.length > 1 ? "s" : ""}, data in ${plan.nodes[0]!.dataDir}/node<i> ...`);
  const nodes = plan.nodes.map((n) => new NodeProcess(n.id, n.args, spawnCommand, io));
  // Children live in their own process group; should this process die without stopping them,
  // kill them rather than leave orphans holding the ports.
  const killAll = () => nodes.forEach((n) => n.signal("SIGKILL"));
  process.once("exit", killAll);
  // Exits are reported as they happen once the ensemble is up; during start-up and shutdown
  // waitUntilUp and the stop sequence report them.
  let watching = false;
  const allExited = Promise.all(nodes.map((n) => n.exited));
  for (const node of nodes) {
    void node.exited.then((exit) => {
      if (watching) io.err(`[node ${node.id}] ${describeExit(exit)}${node.pid !== undefined ? ` (pid ${node.pid})` : ""}`);
    });
  }

  let code: number = ExitCode.OK;
  try {
    const up = await waitUntilUp(plan, nodes, deps, io, stopSignal);
    if (up === "failed") code = ExitCode.FAILED;
    else if (up === "up") {
      watching = true;
      const outcome = await Promise.race([stopSignal, allExited.then(() => "all-exited" as const)]);
      if (outcome === "all-exited") {
        io.err("keeper ensemble: every node has exited; stopping");
        code = ExitCode.FAILED;
      } else io.err(`keeper ensemble: ${outcome}, stopping ${nodes.filter((n) => n.alive).length} node(s)`);
    } else io.err(`keeper ensemble: ${up}, stopping`);
  } finally {
    watching = false;
    await Promise.all(nodes.map((n) => n.stop(deps.stopGraceMs ?? 5_000)));
    process.removeListener("exit", killAll);
    for (const [signal, handler] of handlers) deps.signals.removeListener(signal, handler);
  }
  io.err("keeper ensemble: all nodes stopped");
  return code;
}

/**
 * The nodes' environment. Peer links are always authenticated: unless the caller gave a secret,
 * the nodes of this run share a fresh random one (in the environment: argv would show it to ps).
 * A local dev ensemble answers every four-letter word unless told otherwise.
 */
export function ensembleEnv(env: NodeJS.ProcessEnv, nodes: number, memberOrigins: readonly string[] = []): NodeJS.ProcessEnv {
  const out = { ...env };
  if (!out.KEEPER_FOUR_LETTER_WORDS) out.KEEPER_FOUR_LETTER_WORDS = "*";
  if (nodes >= 2 && !out.KEEPER_PEER_SECRET && !out.KEEPER_PEER_SECRET_FILE && !out.KEEPER_PEER_TLS_CERT) out.KEEPER_PEER_SECRET = randomBytes(32).toString("base64url");
  // One member's dashboard (GET /) talks to every member from the browser, so the members'
  // own pages are allowed origins on each of them, besides any the caller gave.
  if (memberOrigins.length > 0 && out.KEEPER_ALLOWED_ORIGINS !== "*") out.KEEPER_ALLOWED_ORIGINS = [out.KEEPER_ALLOWED_ORIGINS, ...memberOrigins].filter((o) => o).join(",");
  return out;
}

/** The origins of the members' dashboard pages: http://HOST:CLIENT_PORT (and localhost on loopback). */
export function memberOrigins(plan: EnsemblePlan, host: string): string[] {
  const h = dialHost(host);
  const loopback = h === "127.0.0.1" || h === "[::1]";
  return plan.nodes.flatMap((n) => [`http://${h}:${n.clientPort}`, ...(loopback ? [`http://localhost:${n.clientPort}`] : [])]);
}

async function busyPorts(plan: EnsemblePlan): Promise<string[]> {
  const wanted = plan.nodes.flatMap((n) => [
    { port: n.clientPort, what: `node ${n.id} client port` },
    ...(plan.nodes.length > 1 ? [{ port: n.peerPort, what: `node ${n.id} peer port` }] : []),
  ]);
  const host = plan.options.host;
  const problems = await Promise.all(wanted.map(async (w) => ({ ...w, problem: await portProblem(host, w.port) })));
  return problems.filter((p) => p.problem !== undefined).map((p) => `${host}:${p.port} (${p.what}): ${p.problem}`);
}

/**
 * Polls every node's /status until the ensemble is up, then prints how to use it. Returns
 * "failed" (reported) when a node exits first or the time runs out, or the stop signal.
 */
async function waitUntilUp(plan: EnsemblePlan, nodes: NodeProcess[], deps: EnsembleDeps, io: Io, stop: Promise<EnsembleSignal>): Promise<"up" | "failed" | EnsembleSignal> {
  const timeoutMs = deps.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  const addresses = plan.connectString.split(",");
  const fetchFn = deps.fetchJson ?? fetchJson;
  let stopped: EnsembleSignal | undefined;
  void stop.then((s) => (stopped = s));
  const firstExit = Promise.race(nodes.map((n) => n.exited.then(() => n)));
  let exitedNode: NodeProcess | undefined;
  void firstExit.then((n) => (exitedNode = n));
  let problems: string[] = ["no node answered yet"];
  let results: StatusResult[] = [];
  for (;;) {
    if (stopped !== undefined) return stopped;
    if (exitedNode !== undefined) {
      io.err(`keeper ensemble: node ${exitedNode.id} ${describeExit(exitedNode.exit!)} while starting; its last output:`);
      printTail(io, exitedNode);
      return "failed";
    }
    results = await fetchStatuses(addresses, fetchFn, 1_000);
    const pending = notReady(plan, results);
    if (pending === undefined) break;
    problems = pending;
    if (Date.now() >= deadline) {
      io.err(`keeper ensemble: the ensemble did not come up within ${Math.round(timeoutMs / 1000)} s:`);
      for (const p of problems) io.err(`  ${p}`);
      results.forEach((r, i) => {
        if ("status" in r && r.status.serving === true) return;
        io.err(`last output of node ${nodes[i]!.id}:`);
        printTail(io, nodes[i]!);
      });
      return "failed";
    }
    await Promise.race([new Promise((r) => setTimeout(r, deps.pollMs ?? 200)), stop, firstExit]);
  }
  // Followers connect to each other a moment after they serve; a short grace makes the first
  // table show the links up, and changes nothing else.
  for (let i = 0; i < 10 && results.some((r) => "status" in r && r.status.peers?.some((p) => p.connected !== true)); i++) {
    await new Promise((r) => setTimeout(r, 100));
    const again = await fetchStatuses(addresses, fetchFn, 1_000);
    if (notReady(plan, again) === undefined) results = again;
  }
  const many = plan.nodes.length > 1;
  io.out(`Keeper ensemble of ${plan.nodes.length} node${many ? "s" : ""} is up (data in ${plan.nodes[0]!.dataDir}/node<i>).`);
  io.out("");
  io.out(`connect string: ${plan.connectString}`);
  if (plan.zkConnectString !== "") io.out(`ZooKeeper port: ${plan.zkConnectString}   (zkCli.sh -server, kazoo, Curator)`);
  io.out(`try:            keeper create /hello world --connect ${plan.connectString}`);
  io.out(`                keeper status --connect ${plan.connectString}`);
  io.out("");
  for (const line of formatStatusTable(results)) io.out(line);
  io.out("");
  io.out(`Kill a node (kill -9 PID) to watch failover. Ctrl-C stops ${many ? "every node" : "the node"}.`);
  return "up";
}

function printTail(io: Io, node: NodeProcess): void {
  const lines = node.tail();
  if (lines.length === 0) io.err("  (no output)");
  for (const line of lines) io.err(`  ${line}`);
}
