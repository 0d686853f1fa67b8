// One ensemble member as a child process: spawned in its own process group (so a terminal's
// Ctrl-C reaches only `keeper ensemble`, which then stops the nodes in order), its output
// prefixed line by line, its exit observed, and stopped with SIGTERM then SIGKILL.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { Io } from "./io.ts";

const TAIL_LINES = 40;

export interface SpawnCommand {
  command: string;
  /** Arguments before the `keeper` arguments (node flags and the CLI entry). */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null; error?: string };

export function describeExit(exit: ExitInfo): string {
  if (exit.error !== undefined) return `failed to start: ${exit.error}`;
  return exit.signal !== null ? `exited (signal ${exit.signal})` : `exited (code ${exit.code ?? "?"})`;
}

export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;
  private readonly tailLines: string[] = [];

  constructor(
    readonly id: number,
    keeperArgs: readonly string[],
    spawnCommand: SpawnCommand,
    private readonly io: Io,
  ) {
    this.child = spawn(spawnCommand.command, [...spawnCommand.args, ...keeperArgs], {
      cwd: spawnCommand.cwd,
      env: spawnCommand.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.exited = new Promise((resolve) => {
      this.child.once("error", (err) => {
        // A spawn failure emits no exit event; a later error (a failed kill) changes nothing.
        if (this.child.pid === undefined && this.exit === undefined) resolve((this.exit = { code: null, signal: null, error: err.message }));
      });
      // "close" waits for the output streams too, so the last lines are printed first.
      this.child.once("close", (code, signal) => resolve((this.exit ??= { code, signal })));
    });
    this.pipeLines(this.child.stdout);
    this.pipeLines(this.child.stderr);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The node's last lines of output, for an error report. */
  tail(): string[] {
    return [...this.tailLines];
  }

  private pipeLines(stream: NodeJS.ReadableStream | null): void {
    if (stream === null) return;
    let pending = "";
    stream.setEncoding("utf8");
    const emit = (line: string) => {
      const clean = line.replace(/\r$/, "");
      this.tailLines.push(clean);
      if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
      this.io.err(`[node ${this.id}] ${clean}`);
    };
    stream.on("data", (chunk: string) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        emit(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    stream.on("end", () => {
      if (pending !== "") emit(pending);
      pending = "";
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, then SIGKILL if the node has not exited after `graceMs`. */
  async stop(graceMs: number): Promise<ExitInfo> {
    if (this.exit !== undefined) return this.exit;
    this.signal("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome !== "timeout") return outcome;
    this.io.err(`[node ${this.id}] did not stop within ${graceMs} ms; sending SIGKILL`);
    this.signal("SIGKILL");
    return this.exited;
  }
}

/** Resolves to undefined if `port` can be listened on at `host`, else to the reason it cannot. */
export function portProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      resolve(code === "EADDRINUSE" ? "already in use" : code === "EACCES" ? "not allowed (EACCES)" : code === "EADDRNOTAVAIL" ? `address ${host} is not local (EADDRNOTAVAIL)` : code);
    });
    server.listen({ host: host.replace(/^\[(.*)\]$/, "$1"), port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
