// Keeps a connection alive and notices when it died silently: a ping after a third of the
// session timeout without sending, and the connection counts as lost after two thirds
// without receiving anything (ZooKeeper's readTimeout), leaving time to reach another
// server before the session expires.

import { clientDefaults } from "./constants.ts";

export interface HeartbeatPorts {
  ping(): void;
  lost(reason: string): void;
}

export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSendMs = 0;
  private lastReceiveMs = 0;
  private pingIntervalMs = 0;
  private readTimeoutMs = 0;

  constructor(private readonly ports: HeartbeatPorts) {}

  start(sessionTimeoutMs: number): void {
    this.stop();
    this.pingIntervalMs = sessionTimeoutMs / 3;
    this.readTimeoutMs = (sessionTimeoutMs * 2) / 3;
    this.lastSendMs = this.lastReceiveMs = Date.now();
    const tickMs = Math.max(clientDefaults.heartbeatTickMsMin, Math.floor(sessionTimeoutMs / 12));
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  noteSend(): void {
    this.lastSendMs = Date.now();
  }

  noteReceive(): void {
    this.lastReceiveMs = Date.now();
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastReceiveMs >= this.readTimeoutMs) {
      this.stop();
      this.ports.lost(`nothing received for ${now - this.lastReceiveMs} ms`);
    } else if (now - this.lastSendMs >= this.pingIntervalMs) {
      this.ports.ping();
    }
  }
}
