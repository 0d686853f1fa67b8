import pino, { type Logger } from "pino";

/** One logger per node; components take child loggers from it. */
export function createNodeLogger(serverId: number, level: string): Logger {
  return pino({ level, base: { node: serverId } });
}

export type { Logger };
