// Exit codes and the one place that turns an error into a message and a code.
import { Code, KeeperError, codeName } from "@keeper/protocol";
import type { Io } from "./io.ts";

export const ExitCode = {
  OK: 0,
  /** The service answered with an error (NONODE, BADVERSION, ...), or a watch timed out. */
  FAILED: 1,
  /** The command line or the configuration is wrong. */
  USAGE: 2,
  /** No connection to the service within the timeout, or the connection was lost. */
  CONNECTION: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in how the command was invoked; reported with exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The service could not be reached; reported with exit code 3. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
}

const CONNECTION_CODES: ReadonlySet<number> = new Set([Code.CONNECTIONLOSS, Code.SESSIONEXPIRED, Code.SESSIONMOVED]);

/** An error carrying a ZooKeeper code: KeeperError, or anything shaped like it. */
export function keeperCodeOf(err: unknown): number | undefined {
  if (err instanceof KeeperError) return err.code;
  if (err instanceof Error && "code" in err && typeof err.code === "number" && codeName(err.code) !== `UNKNOWN(${err.code})`) return err.code;
  return undefined;
}

/** The exit code for an error thrown while running a command. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof Error && err.name === "ConfigError") return ExitCode.USAGE;
  if (err instanceof ConnectionError) return ExitCode.CONNECTION;
  const code = keeperCodeOf(err);
  if (code !== undefined && CONNECTION_CODES.has(code)) return ExitCode.CONNECTION;
  return ExitCode.FAILED;
}

/** Prints `keeper: <message>` to stderr and returns the exit code for `err`. */
export function reportError(io: Io, err: unknown, prefix = "keeper"): ExitCode {
  const message = err instanceof Error ? err.message : String(err);
  io.err(`${prefix}: ${message}`);
  return exitCodeOf(err);
}
