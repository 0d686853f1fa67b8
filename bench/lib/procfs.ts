// What a benchmark reads about a server process from Linux: resident memory, CPU time, and the
// size of its data directory. Only PIDs the benchmark started are read.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Resident set size in MiB, or NaN if the process is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds the process has used so far (NaN if gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/**
 * Bytes the directory takes on disk: blocks allocated (du -s -B1), so a preallocated but
 * sparse log (ZooKeeper pads its transaction logs to 64 MiB) counts for what it holds.
 */
export function duBytes(dir: string): number {
  try {
    return Number(execFileSync("du", ["-s", "-B1", dir], { encoding: "utf8" }).split("\t")[0]);
  } catch {
    return NaN;
  }
}

/** CPU seconds the whole machine spent busy (all cores) and in total, from /proc/stat. */
export function hostCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
}
