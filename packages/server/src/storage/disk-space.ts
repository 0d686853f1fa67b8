// The disk under the data dir: a full one raises the NOSPACE alarm (as etcd's): the node keeps
// serving reads, refuses writes from its clients, and probes until a write succeeds again,
// then clears the alarm by itself. Before that, free space is sampled (statfs) and a warning
// logged when it drops below the low-space mark.
import { statfs } from "node:fs/promises";
import type { Logger } from "../logger.ts";

/** True for a write that failed because the disk is full (ENOSPC, or LevelDB's report of it). */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === "ENOSPC") return true;
    if (typeof e.message === "string" && /ENOSPC|No space left on device|disk quota exceeded/i.test(e.message)) return true;
  }
  return false;
}

export interface DiskStatus {
  /** "NOSPACE" while writes fail for lack of space; null otherwise. */
  alarm: "NOSPACE" | null;
  /** The same as a number (1 raised, 0 clear), for metrics. */
  noSpaceAlarm: 0 | 1;
  alarmSinceMs: number | null;
  lastError: string | null;
  /** From the last statfs of the data dir (null before the first). */
  freeBytes: number | null;
  totalBytes: number | null;
  /** 1 while free space is below lowSpaceBytes. */
  lowSpace: 0 | 1;
  lowSpaceBytes: number;
  /** Times the alarm was raised since start. */
  noSpaceAlarms: number;
}

export class DiskWatch {
  private alarmSince: number | undefined;
  private lastError: string | undefined;
  private free: number | undefined;
  private total: number | undefined;
  private low = false;
  private raised = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly dir: string, private readonly lowSpaceBytes: number, private readonly log: Logger, private readonly checkMs = DISK_CHECK_MS) {}

  get alarmed(): boolean {
    return this.alarmSince !== undefined;
  }

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Samples free space; logs once on going below the low-space mark and once on recovering. */
  async check(): Promise<void> {
    try {
      const s = await statfs(this.dir);
      this.free = s.bavail * s.bsize;
      this.total = s.blocks * s.bsize;
    } catch (err) {
      this.log.warn({ err, dir: this.dir }, "cannot read free space of the data dir");
      return;
    }
    const low = this.free < this.lowSpaceBytes;
    if (low && !this.low) this.log.warn({ freeBytes: this.free, lowSpaceBytes: this.lowSpaceBytes, dir: this.dir }, "low disk space under the data dir: writes stop when it is full; free space or grow the volume");
    if (!low && this.low) this.log.info({ freeBytes: this.free }, "disk space above the low-space mark again");
    this.low = low;
  }

  raise(err: unknown): void {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
    this.lastError = err instanceof Error ? err.message + cause : String(err);
    if (this.alarmSince !== undefined) return;
    this.alarmSince = Date.now();
    this.raised++;
    this.log.error({ err, dir: this.dir }, "NOSPACE alarm: the disk is full; writes are refused, reads go on; free space and the node recovers by itself");
    void this.check();
  }

  clear(): void {
    if (this.alarmSince === undefined) return;
    this.log.warn({ alarmMs: Date.now() - this.alarmSince }, "NOSPACE alarm cleared: writes are accepted again");
    this.alarmSince = undefined;
    void this.check();
  }

  status(): DiskStatus {
    return {
      alarm: this.alarmed ? "NOSPACE" : null,
      noSpaceAlarm: this.alarmed ? 1 : 0,
      alarmSinceMs: this.alarmSince ?? null,
      lastError: this.alarmed ? (this.lastError ?? null) : null,
      freeBytes: this.free ?? null,
      totalBytes: this.total ?? null,
      lowSpace: this.low ? 1 : 0,
      lowSpaceBytes: this.lowSpaceBytes,
      noSpaceAlarms: this.raised,
    };
  }
}

/** How often free space is sampled. */
const DISK_CHECK_MS = 10_000;
/** How often a node in the NOSPACE alarm tries to write again. */
export const DISK_RETRY_MS = 1_000;
