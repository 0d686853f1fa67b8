// Real node processes for end-to-end tests: free ports, private data directories, and only
// the PIDs we started are ever signalled.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
const CLI_MAIN = join(REPO_ROOT, "packages/cli/src/main.ts");

/**
 * A port nothing listens on right now, for a server a test is about to start. It is chosen at
 * random below Linux's ephemeral range (32768+), because a port the OS hands out there can be
 * taken by any outgoing connection between this check and the server's bind.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    if (await canListen(port, host)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error("no free port found below the ephemeral range");
}

/** Ports this process has handed out, so one test run never hands the same one out twice. */
const taken = new Set<number>();

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

export function tempDir(prefix = "keeper-e2e-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly host: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for the process to end (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The peer secret test ensembles share: peer links are always authenticated, in tests too.
 * Given to every CLI child as KEEPER_PEER_SECRET unless the test's env says otherwise; tests
 * also get every four-letter word (KEEPER_FOUR_LETTER_WORDS=*), as the local dev ensemble does.
 */
export const TEST_PEER_SECRET = "keeper-test-ensemble-secret";
export const TEST_PEER_AUTH = { secret: Buffer.from(TEST_PEER_SECRET) };

/** Runs the keeper CLI with `args` as a child process. */
export function runCli(args: string[], env: Record<string, string> = {}, wrap: string[] = []): ChildProcess {
  // `wrap`: a command that runs node, e.g. ["prlimit", "--nofile=256:256"] for a lower limit.
  const [command, ...prefix] = [...wrap, process.execPath];
  return spawn(command!, [...prefix, "--import", "tsx", CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, KEEPER_PEER_SECRET: TEST_PEER_SECRET, KEEPER_FOUR_LETTER_WORDS: "*", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts `keeper server` and resolves once its /healthz answers. */
export async function startNodeProcess(opts: { dataDir: string; port?: number; zkPort?: number; host?: string; serverId?: number; extraArgs?: string[]; env?: Record<string, string>; healthTimeoutMs?: number; wrap?: string[] }): Promise<NodeProcess> {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? (await freePort(host));
  const args = ["server", "--server-id", String(opts.serverId ?? 1), "--data-dir", opts.dataDir, "--host", host, "--client-port", String(port), `--zk-port=${opts.zkPort ?? -1}`, "--log-level", "warn", ...(opts.extraArgs ?? [])];
  const child = runCli(args, opts.env, opts.wrap);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const proc: NodeProcess = {
    child,
    pid: child.pid!,
    port,
    host,
    output: () => out,
    exited,
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async (graceMs = 5000) => {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await waitForHealthy(host, port, exited, () => out, opts.healthTimeoutMs);
  } catch (err) {
    // Never leave a half-started server behind.
    await proc.stop(1000);
    throw err;
  }
  return proc;
}

async function waitForHealthy(host: string, port: number, exited: Promise<number | null>, output: () => string, ms = 20_000): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`server exited before it was healthy:\n${output()}`);
    try {
      const res = await fetch(`http://${host}:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server on ${host}:${port} not healthy after ${ms} ms:\n${output()}`);
}

export async function fetchStatus(host: string, port: number): Promise<Record<string, any>> {
  const res = await fetch(`http://${host}:${port}/status`);
  return (await res.json()) as Record<string, any>;
}
