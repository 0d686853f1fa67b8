// `keeper server`: resolve the configuration, start one node, stop it cleanly on a signal.
import { ExitCode, reportError } from "./errors.ts";
import type { Io } from "./io.ts";
import type { RunningServer, ServerModule } from "./ports.ts";
import { parseServerInvocation, serverHelp, type Env } from "./server-options.ts";

export type StopSignal = "SIGINT" | "SIGTERM";

/** Where stop signals come from: `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown;
  removeListener(signal: StopSignal, listener: () => void): unknown;
}

export interface ServerDeps {
  /** Loaded lazily so that `keeper server --help` and bad flags need no server code. */
  loadServer(): Promise<ServerModule>;
  readFile(path: string): string;
  signals: SignalSource;
  /** How long close() may take before the process gives up and exits 1. */
  closeTimeoutMs?: number;
}

const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM"];

/** Runs `keeper server ARGV` to completion and returns the exit code. */
export async function runServer(argv: readonly string[], env: Env, deps: ServerDeps, io: Io): Promise<number> {
  let server: ServerModule;
  let config;
  try {
    const invocation = parseServerInvocation(argv, env, deps.readFile);
    if (invocation.help) {
      io.out(serverHelp());
      return ExitCode.OK;
    }
    server = await deps.loadServer();
    config = server.resolveServerConfig(invocation.partial);
  } catch (err) {
    return reportError(io, err, "keeper server");
  }

  // Listen before starting, so a signal during start-up still stops the node cleanly. The
  // listeners stay for the whole run: a Ctrl-C can arrive twice (once from the terminal,
  // once forwarded by bin/keeper.mjs), and the second must not kill a close in progress.
  const stop = new Promise<StopSignal>((resolve) => {
    for (const signal of STOP_SIGNALS) deps.signals.on(signal, () => resolve(signal));
  });

  let running: RunningServer;
  try {
    running = await server.startServer(config);
  } catch (err) {
    reportError(io, err, `keeper server: node ${config.serverId} failed to start`);
    return ExitCode.FAILED;
  }
  io.out(`keeper node ${config.serverId} listening on ws://${running.host}:${running.port} (data ${config.dataDir})`);

  const signal = await stop;
  io.err(`keeper node ${config.serverId}: ${signal}, stopping`);
  return closeWithin(running, deps.closeTimeoutMs ?? 10_000, io, config.serverId);
}

async function closeWithin(running: RunningServer, timeoutMs: number, io: Io, serverId: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const outcome = await Promise.race([running.close().then(() => "closed" as const), timeout]);
    if (outcome === "timeout") {
      io.err(`keeper node ${serverId}: did not stop within ${timeoutMs} ms`);
      return ExitCode.FAILED;
    }
    io.err(`keeper node ${serverId}: stopped`);
    return ExitCode.OK;
  } catch (err) {
    reportError(io, err, `keeper node ${serverId}: stop failed`);
    return ExitCode.FAILED;
  } finally {
    clearTimeout(timer);
  }
}
