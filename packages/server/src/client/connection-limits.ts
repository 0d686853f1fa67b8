// How many client sockets a node holds, counted when the TCP connection is accepted on either
// client port (the ZooKeeper port and the native/admin port share the budget):
// - per remote address, ZooKeeper's maxClientCnxns (60 by default; 0: no limit), so one host
//   cannot take every slot;
// - in all, the smaller of clientsMax and what the process's file-descriptor limit leaves after
//   a reserve for the store, peer links and logs: a flood of idle sockets is refused at the door
//   instead of starving LevelDB of descriptors.
import { readFileSync } from "node:fs";

/** Descriptors kept out of the client budget: LevelDB's files, peer links, logs, the listeners. */
export const FD_RESERVE_MIN = 64;

export class ConnectionLimits {
  private readonly perIp = new Map<string, number>();
  private total = 0;
  /** Connections refused so far, for /status and logs. */
  refused = 0;

  constructor(
    /** Most sockets from one address; 0: no limit. */
    readonly perIpMax: number,
    /** Most sockets in all. */
    readonly totalMax: number,
  ) {}

  get open(): number {
    return this.total;
  }

  /** Takes a slot for a socket from `ip`, or says why it is refused (the slot is then not taken). */
  admit(ip: string): string | undefined {
    if (this.total >= this.totalMax) return this.refuse(`too many client connections (${this.totalMax})`);
    const n = this.perIp.get(ip) ?? 0;
    if (this.perIpMax > 0 && n >= this.perIpMax) return this.refuse(`too many connections from ${ip} - max is ${this.perIpMax}`);
    this.perIp.set(ip, n + 1);
    this.total++;
    return undefined;
  }

  release(ip: string): void {
    const n = this.perIp.get(ip) ?? 0;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    this.total = Math.max(0, this.total - 1);
  }

  private refuse(reason: string): string {
    this.refused++;
    return reason;
  }
}

/** The process's soft limit on open files (RLIMIT_NOFILE) from /proc, or undefined where unknown. */
export function openFilesLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === "unlimited") return undefined;
  return Number(m[1]);
}

/** Client sockets allowed in all: clientsMax, within the file-descriptor limit less the reserve. */
export function clientSocketsMax(clientsMax: number, fdLimit: number | undefined): number {
  if (fdLimit === undefined) return clientsMax;
  const reserve = Math.max(FD_RESERVE_MIN, Math.floor(fdLimit / 4));
  return Math.max(1, Math.min(clientsMax, fdLimit - reserve));
}
