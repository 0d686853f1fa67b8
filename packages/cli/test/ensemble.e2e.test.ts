// `keeper ensemble --nodes 3` for real: three node processes on free ports, `keeper status`,
// a write and a read, a kill -9 of the leader and the failover, then Ctrl-C stops them all.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const MAIN = join(REPO_ROOT, "packages/cli/src/main.ts");

function keeper(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, KEEPER_CONNECT: "" }, stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs a keeper command to completion. */
function run(args: string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = keeper(args);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((res) => child.once("close", (code) => (clearTimeout(timer), res({ code, stdout, stderr }))));
}

function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => res(true)));
  });
}

/** A base port whose next `n` ports all accept a listener right now, outside `avoid`. */
async function freeRange(n: number, avoid: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    // Below the ephemeral range (32768+), where outgoing connections could take a port first.
    const base = 20_000 + Math.floor(Math.random() * (12_000 - n));
    if (avoid.some((a) => Math.abs(a - base) < 2 * n)) continue;
    const ok = await Promise.all(Array.from({ length: n }, (_, i) => canListen(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error("no free port range found");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

type Status = { serverId: number; state: string; serving: boolean; leader: number | null; pid: number };

describe("keeper ensemble (real processes)", () => {
  const dir = mkdtempSync(join(tmpdir(), "keeper-cli-ensemble-"));
  let ensemble: ChildProcess | undefined;
  let out = "";
  let err = "";
  const nodePids: number[] = [];

  afterAll(async () => {
    // Only what this test started: the ensemble process and the nodes it reported.
    if (ensemble && ensemble.exitCode === null && ensemble.signalCode === null) {
      ensemble.kill("SIGTERM");
      await Promise.race([new Promise((r) => ensemble!.once("close", r)), sleep(7_000)]);
      if (ensemble.exitCode === null && ensemble.signalCode === null) ensemble.kill("SIGKILL");
    }
    for (const pid of nodePids) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }, 15_000);

  it("starts 3 nodes, serves reads and writes, fails over on kill -9, stops cleanly on SIGINT", async () => {
    const clientBase = await freeRange(3);
    const peerBase = await freeRange(3, [clientBase]);
    ensemble = keeper(["ensemble", "--nodes", "3", "--data-dir", dir, "--base-client-port", String(clientBase), "--base-peer-port", String(peerBase), "--base-zk-port=-1"]);
    ensemble.stdout!.on("data", (d) => (out += d));
    ensemble.stderr!.on("data", (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => ensemble!.once("close", (code, signal) => r({ code, signal })));

    const connect = await until("the connect string", 25_000, async () => {
      if (ensemble!.exitCode !== null) throw new Error(`ensemble exited ${ensemble!.exitCode}:\n${out}\n${err}`);
      return /connect string: (\S+)/.exec(out)?.[1];
    });
    expect(connect).toBe([0, 1, 2].map((i) => `127.0.0.1:${clientBase + i}`).join(","));
    expect(out).toMatch(/keeper create \/hello world --connect /);
    expect(out).toMatch(/NODE\s+ADDRESS\s+STATE\s+LEADER/);

    const status = await run(["status", "--connect", connect]);
    expect(status.code, status.stderr).toBe(0);
    const lines = status.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => /\bleading\b/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /\bfollowing\b/.test(l))).toHaveLength(2);

    const json = await run(["status", "--json", "--connect", connect]);
    const statuses = JSON.parse(json.stdout) as Status[];
    nodePids.push(...statuses.map((s) => s.pid));
    expect(statuses.map((s) => s.serverId)).toEqual([1, 2, 3]);

    const created = await run(["create", "/hello", "world", "--connect", connect]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toBe("/hello");
    const got = await run(["get", "/hello", "--connect", connect]);
    expect(got.stdout.trim()).toBe("world");

    const leader = statuses.find((s) => s.state === "leading")!;
    process.kill(leader.pid, "SIGKILL");
    // Each probe is a `keeper status` process (seconds under tsx on a loaded machine), so this
    // bounds the probing, not the failover: npm run bench measures that.
    const newLeader = await until("a new leader", 20_000, async () => {
      const r = await run(["status", "--json", "--connect", connect]);
      const now = JSON.parse(r.stdout) as Array<Partial<Status>>;
      return now.find((s) => s.state === "leading" && s.serving === true && s.serverId !== leader.serverId);
    });
    expect(newLeader.serverId).not.toBe(leader.serverId);
    const after = await run(["status", "--connect", connect]);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/unreachable/);
    expect(err).toContain(`[node ${leader.serverId}] exited (signal SIGKILL)`);

    ensemble.kill("SIGINT");
    const end = await Promise.race([exited, sleep(12_000).then(() => undefined)]);
    expect(end, `ensemble did not exit:\n${err}`).toEqual({ code: 0, signal: null });
    expect(nodePids.filter(alive)).toEqual([]);
    expect(err).toMatch(/all nodes stopped/);
  }, 45_000);
});
