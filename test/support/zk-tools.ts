// Helpers for the ZooKeeper-compatibility tests (test/zookeeper): the ensemble's ZooKeeper
// connect string, outside client programs (python3 + kazoo, java + Curator, zkCli.sh, cli_mt)
// run as child processes with a deadline, and four-letter words. Only the PIDs started here are
// ever signalled; killAll() ends whatever is still running, also after a failed test.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect as netConnect } from "node:net";
import type { Ensemble, EnsembleNode } from "./ensemble.ts";
import { HOST } from "./ensemble.ts";

/** Debian's python3, which sees python3-kazoo (a pyenv python3 on PATH would not). */
export const PYTHON = process.env.KEEPER_TEST_PYTHON ?? "/usr/bin/python3";
export const ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh";
export const CLI_MT = "/usr/lib/zookeeper/bin/cli_mt";
export const JAVA_DIR = "/usr/share/java";

/** Fails with what to install when a Debian-packaged tool is missing (.ci/run installs them). */
export function requireFile(path: string, debianPackage: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install Debian's ${debianPackage} (bash .ci/run does: apt-get install -y ${debianPackage})`);
}

/** The node's ZooKeeper port, as its /status reports it. */
export async function zkPortOf(node: EnsembleNode): Promise<number> {
  const st = await node.status(3_000);
  const port = st?.zkPort;
  if (typeof port !== "number" || port <= 0) throw new Error(`node ${node.id} reports no zkPort in /status: ${JSON.stringify(st)}`);
  return port;
}

/** ZooKeeper ports of every node, by node id. Read once while all nodes run. */
export async function zkPorts(e: Ensemble): Promise<Map<number, number>> {
  const m = new Map<number, number>();
  for (const n of e.nodes) m.set(n.id, await zkPortOf(n));
  return m;
}

/** "127.0.0.1:p1,127.0.0.1:p2,...", in the order of `ids` (default: node order). */
export function connectString(ports: Map<number, number>, ids: number[] = [...ports.keys()]): string {
  return ids.map((id) => `${HOST}:${ports.get(id)}`).join(",");
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every child process started here that is still running. */
export function killAll(): void {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  running.clear();
}

export interface Started {
  child: ChildProcess;
  /** Resolves when the process ends (after `timeoutMs` it is SIGKILLed and this rejects). */
  done: Promise<Run>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `re` (rejects if the process ends first). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** Starts `cmd args` with a deadline; stdout and stderr are collected. */
export function start(cmd: string, args: string[], opts: { timeoutMs: number; cwd?: string; env?: Record<string, string>; stdin?: boolean }): Started {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
  running.add(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs);
  const done = new Promise<Run>((resolve, reject) => {
    child.once("error", (e) => {
      clearTimeout(timer);
      running.delete(child);
      reject(new Error(`${cmd} could not start: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const run = { code, signal, stdout: out, stderr: err, ms: Date.now() - t0 };
      if (timedOut) reject(new Error(`${cmd} ${args.join(" ")} killed after ${opts.timeoutMs} ms\n--- stdout ---\n${out}\n--- stderr ---\n${err}`));
      else resolve(run);
    });
  });
  done.catch(() => {}); // observed by whoever awaits it
  const waitForLine = (re: RegExp, timeoutMs = opts.timeoutMs) =>
    new Promise<string>((resolve, reject) => {
      const deadline = setTimeout(() => fail(new Error(`no line matching ${re} within ${timeoutMs} ms\n--- stdout ---\n${out}\n--- stderr ---\n${err}`)), timeoutMs);
      const check = () => {
        const line = out.split("\n").find((l) => re.test(l));
        if (line !== undefined) {
          cleanup();
          resolve(line);
        }
      };
      const onClose = () => fail(new Error(`${cmd} ended before printing a line matching ${re}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`));
      const cleanup = () => {
        clearTimeout(deadline);
        child.stdout!.off("data", check);
        child.off("close", onClose);
      };
      const fail = (e: Error) => {
        cleanup();
        reject(e);
      };
      child.stdout!.on("data", check);
      child.once("close", onClose);
      check();
    });
  return { child, done, stdout: () => out, stderr: () => err, waitForLine };
}

/** Runs `cmd args` to its end (or SIGKILLs it after `timeoutMs` and rejects). */
export function run(cmd: string, args: string[], opts: { timeoutMs: number; cwd?: string; env?: Record<string, string> }): Promise<Run> {
  return start(cmd, args, opts).done;
}

/** The JSON after the last `RESULT ` line of a scenario's stdout. */
export function resultOf<T = any>(r: Run, what: string): T {
  const line = r.stdout.split("\n").reverse().find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`${what} printed no RESULT line (exit ${r.code}${r.signal ? `, ${r.signal}` : ""})\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

/**
 * One named section of a scenario's result. A section that raised carries its traceback in
 * `error`; that fails the test with the traceback (and the program's stderr) as the message.
 */
export function sectionOf(result: { sections: Record<string, any> }, name: string, stderr = ""): Record<string, any> {
  const s = result.sections[name];
  if (s === undefined) throw new Error(`no section ${name} in the result: ${JSON.stringify(result).slice(0, 2000)}`);
  if (s.error) throw new Error(`section ${name} failed:\n${s.error}${stderr ? `\n--- stderr (last 4000 chars) ---\n${stderr.slice(-4000)}` : ""}`);
  return s;
}

/** Sends a four-letter word to host:port and resolves with everything the server answers before it closes. */
export function fourLetterWord(port: number, word: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(port, HOST);
    let text = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${word} on port ${port}: no close within ${timeoutMs} ms (got ${JSON.stringify(text)})`));
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(word));
    sock.on("data", (d: string) => (text += d));
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/** `mntr` parsed into key → value. */
export async function mntr(port: number): Promise<Record<string, string>> {
  const text = await fourLetterWord(port, "mntr");
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l.includes("\t"))
      .map((l) => l.split("\t") as [string, string]),
  );
}
