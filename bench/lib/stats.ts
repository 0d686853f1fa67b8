// Small helpers shared by the benchmarks.
import { execSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(xs: number[]): { median: number; min: number; max: number; n: number } {
  return { median: median(xs), min: xs.length ? Math.min(...xs) : NaN, max: xs.length ? Math.max(...xs) : NaN, n: xs.length };
}

export const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)} ms` : "n/a");

export function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}

function sh(cmd: string): string {
  try {
    return execSync(cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return (err.stderr ?? "").trim() || `unavailable (${err.message.split("\n")[0]})`;
  }
}

export function machineInfo(): Record<string, string> {
  return {
    date: new Date().toISOString(),
    nproc: sh("nproc"),
    cpu: cpus()[0]?.model ?? "unknown",
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: sh("uname -sr"),
    node: process.version,
    java: sh("java -version 2>&1 | head -1"),
    "load average at the end (1/5/15 min)": loadavg().map((x) => x.toFixed(2)).join(" / "),
  };
}
