// Network faults on loopback for the real-process chaos tests, with iptables. Every node of
// a chaos cluster binds (client and peer listeners) and dials its peers from its own loopback
// address 127.0.0.X, so a rule `-s A -d B -j DROP` cuts exactly the peer traffic from A to B
// (clients and the test's /status polls come from 127.0.0.1 and are never cut). Existing
// TCP connections stall rather than reset: the nodes notice by heartbeat timeout.
//
// All rules live in one chain of our own (KEEPER_CHAOS_<pid>_<tag>) jumped to from the top
// of INPUT. Cleanup removes that jump, flushes and deletes that chain, and nothing else; it
// runs from destroy() (afterAll), and synchronously on process exit and on SIGINT / SIGTERM
// / SIGHUP, so an interrupted run leaves no rule behind.
import { execFileSync } from "node:child_process";

const IPTABLES = "iptables";

function iptables(args: string[]): { ok: boolean; out: string } {
  try {
    const out = execFileSync(IPTABLES, ["-w", ...args], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
    return { ok: true, out };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, out: String(err.stderr ?? err.message) };
  }
}

/** Why chaos tests cannot cut links here, or undefined when iptables is usable. */
export function iptablesProblem(): string | undefined {
  if (process.platform !== "linux") return `iptables needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "iptables needs root";
  const r = iptables(["-S", "INPUT"]);
  if (!r.ok) return `iptables is not usable (${r.out.trim()}); on Debian: apt-get install -y iptables`;
  return undefined;
}

const live = new Set<Firewall>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const fw of [...live]) fw.destroySync();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      for (const fw of [...live]) fw.destroySync();
      process.exit(sig === "SIGINT" ? 130 : sig === "SIGTERM" ? 143 : 129);
    });
  }
}

/** Deletes chains this module made in processes that no longer exist (a run killed with SIGKILL). */
function removeStaleChains(): void {
  const r = iptables(["-S"]);
  if (!r.ok) return;
  for (const m of r.out.matchAll(/^-N (KEEPER_CHAOS_(\d+)_\w+)$/gm)) {
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === "EPERM";
    }
    if (!alive) removeChain(m[1]!);
  }
}

function removeChain(chain: string): void {
  // The jump may have been inserted more than once only by a bug; remove every copy.
  for (let i = 0; i < 10 && iptables(["-D", "INPUT", "-j", chain]).ok; i++);
  iptables(["-F", chain]);
  iptables(["-X", chain]);
}

export interface Cut {
  from: string;
  to: string;
}

/** One chain of DROP rules between loopback addresses. */
export class Firewall {
  readonly chain: string;
  private readonly cuts: Cut[] = [];
  private destroyed = false;

  private constructor(tag: string) {
    this.chain = `KEEPER_CHAOS_${process.pid}_${tag}`.slice(0, 28);
  }

  /** Creates the chain and hooks it at the top of INPUT; throws when iptables is unusable. */
  static create(tag: string): Firewall {
    const problem = iptablesProblem();
    if (problem) throw new Error(`chaos tests need iptables: ${problem}`);
    installExitHooks();
    removeStaleChains();
    const fw = new Firewall(tag.replace(/\W/g, ""));
    removeChain(fw.chain); // a leftover of an earlier process that had our pid
    const mk = iptables(["-N", fw.chain]);
    if (!mk.ok) throw new Error(`iptables -N ${fw.chain} failed: ${mk.out}`);
    live.add(fw);
    const hook = iptables(["-I", "INPUT", "1", "-j", fw.chain]);
    if (!hook.ok) {
      fw.destroySync();
      throw new Error(`iptables -I INPUT -j ${fw.chain} failed: ${hook.out}`);
    }
    return fw;
  }

  private rule(op: "-A" | "-D", c: Cut): void {
    const r = iptables([op, this.chain, "-s", c.from, "-d", c.to, "-j", "DROP"]);
    if (!r.ok && op === "-A") throw new Error(`iptables ${op} ${this.chain} -s ${c.from} -d ${c.to} failed: ${r.out}`);
  }

  /** Drops every packet from `from` to `to` (one direction). */
  cutOneWay(from: string, to: string): void {
    if (this.cuts.some((c) => c.from === from && c.to === to)) return;
    this.rule("-A", { from, to });
    this.cuts.push({ from, to });
  }

  cutBoth(a: string, b: string): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Cuts `ip` off from every address in `others`, both ways. */
  isolate(ip: string, others: string[]): void {
    for (const o of others) if (o !== ip) this.cutBoth(ip, o);
  }

  /** Two-way cuts between every member of `side` and every member of `rest`. */
  split(side: string[], rest: string[]): void {
    for (const a of side) for (const b of rest) this.cutBoth(a, b);
  }

  healOneWay(from: string, to: string): void {
    const i = this.cuts.findIndex((c) => c.from === from && c.to === to);
    if (i < 0) return;
    this.rule("-D", this.cuts[i]!);
    this.cuts.splice(i, 1);
  }

  /** Removes every cut. */
  healAll(): void {
    if (this.destroyed) return;
    iptables(["-F", this.chain]);
    this.cuts.length = 0;
  }

  get activeCuts(): readonly Cut[] {
    return this.cuts;
  }

  /** The chain's rules as iptables lists them, for failure reports. */
  listing(): string {
    return iptables(["-S", this.chain]).out;
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    removeChain(this.chain);
    this.cuts.length = 0;
  }

  /** True when the chain and its hook are gone (checked in tests' cleanup). */
  static chainExists(chain: string): boolean {
    return iptables(["-S", chain]).ok;
  }
}
