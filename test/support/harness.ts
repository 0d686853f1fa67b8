// End-to-end harness: one object per test file that owns every server process, client and
// temporary directory the file creates, and tears all of them down in afterAll (also after a
// failure). Only PIDs started here are ever signalled.
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { WebSocket as WsWebSocket } from "ws";
import { connect, type ClientOptions, type ClientState, type KeeperClient, type WebSocketConstructor } from "@keeper/client";
import { poll, sleep } from "./ensemble.ts";
import { fetchStatus, freePort, runCli, startNodeProcess, tempDir, type NodeProcess } from "./processes.ts";

export const HOST = "127.0.0.1";

export { sleep };

/** Polls `cond` until it returns a truthy value (which is returned) or `timeoutMs` passes: ensemble.ts's poll, every 20 ms by default. */
export function waitFor<T>(cond: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  return poll(cond, { ...opts, intervalMs: opts.intervalMs ?? 20 });
}

/** Resolves when `client` reaches `state` (immediately if it is there already). */
export function waitForState(client: KeeperClient, state: ClientState, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.state === state) return resolve();
    const timer = setTimeout(() => {
      client.off("state", on);
      reject(new Error(`client did not reach state ${state} within ${timeoutMs} ms (now ${client.state})`));
    }, timeoutMs);
    const on = (s: ClientState): void => {
      if (s !== state) return;
      clearTimeout(timer);
      client.off("state", on);
      resolve();
    };
    client.on("state", on);
  });
}

/**
 * A WebSocket constructor for the client, built on `ws`, that lets a test cut the client's
 * connection abruptly (no closeSession, no close frame) and keep it from reconnecting.
 */
export interface SocketControl {
  readonly WebSocket: WebSocketConstructor;
  /** Destroys every open socket at once, as a crashed client or a pulled cable would. */
  dropAll(): void;
  /** While blocked, every new connection attempt fails at once. */
  block(): void;
  unblock(): void;
  readonly openCount: number;
}

export function socketControl(opts: { onFrame?: (bytes: Uint8Array) => void } = {}): SocketControl {
  const sockets = new Set<WsWebSocket>();
  let blocked = false;
  const onFrame = opts.onFrame;
  class ControlledWebSocket extends WsWebSocket {
    constructor(url: string) {
      if (blocked) throw new Error("connection blocked by the test");
      super(url);
      sockets.add(this);
      this.once("close", () => sockets.delete(this));
      // Registered before the client sets onmessage, so it sees every frame just before the client does.
      if (onFrame) this.on("message", (data: unknown) => onFrame(frameBytes(data)));
    }
  }
  return {
    WebSocket: ControlledWebSocket as unknown as WebSocketConstructor,
    dropAll: () => {
      for (const s of sockets) s.terminate();
      sockets.clear();
    },
    block: () => (blocked = true),
    unblock: () => (blocked = false),
    get openCount() {
      return sockets.size;
    },
  };
}

function frameBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data as Buffer[]));
  throw new Error("unexpected frame data");
}

/** One `keeper server` node whose process can be killed and started again on the same port and data. */
export class ServerNode {
  proc: NodeProcess | undefined;
  constructor(
    private readonly harness: Harness,
    readonly port: number,
    /** The parent data directory passed as --data-dir; the store itself is in storeDir. */
    readonly dataDir: string,
    readonly extraArgs: string[],
  ) {}

  get connectString(): string {
    return `${HOST}:${this.port}`;
  }
  /** The LevelDB directory: `keeper server --data-dir D` stores node 1 in D/node1. */
  get storeDir(): string {
    return join(this.dataDir, "node1");
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    if (this.proc && this.proc.child.exitCode === null && this.proc.child.signalCode === null) throw new Error("server already running");
    this.proc = await startNodeProcess({ dataDir: this.dataDir, port: this.port, host: HOST, extraArgs: this.extraArgs });
    this.harness.track(this.proc);
  }

  /** SIGKILL (or `signal`) and wait for the process to be gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill(signal);
    await p.exited;
  }

  /** SIGTERM, clean shutdown; returns the exit code. */
  async stop(): Promise<number | null> {
    const p = this.proc;
    if (!p) return null;
    await p.stop();
    return p.child.exitCode;
  }

  async restart(how: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    if (how === "SIGTERM") await this.stop();
    else await this.kill("SIGKILL");
    await this.start();
  }

  status(): Promise<Record<string, any>> {
    return fetchStatus(HOST, this.port);
  }

  output(): string {
    return this.proc?.output() ?? "";
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Harness {
  private readonly procs = new Set<NodeProcess>();
  private readonly clients = new Set<KeeperClient>();
  private readonly children = new Set<ChildProcess>();
  private readonly dirs: Array<{ cleanup: () => void }> = [];

  track(p: NodeProcess): void {
    this.procs.add(p);
  }

  tempDir(): string {
    const d = tempDir();
    this.dirs.push(d);
    return d.path;
  }

  /** Starts a fresh node on a free port with its own temporary data directory. */
  async startServer(extraArgs: string[] = []): Promise<ServerNode> {
    const node = new ServerNode(this, await freePort(HOST), this.tempDir(), extraArgs);
    await node.start();
    return node;
  }

  /** Connects a client that is closed in cleanup unless the test closed it. */
  async connect(target: ServerNode | string, options: ClientOptions = {}): Promise<KeeperClient> {
    const cs = typeof target === "string" ? target : target.connectString;
    const client = await connect(cs, { connectTimeoutMs: 10_000, ...options });
    this.clients.add(client);
    return client;
  }

  /** Runs `keeper ARGS` and collects its output and exit code (killed after `timeoutMs`). */
  cli(args: string[], opts: { timeoutMs?: number; onStdout?: (chunk: string) => void } = {}): { child: ChildProcess; done: Promise<CliResult> } {
    const child = runCli(args, { KEEPER_CONNECT: "" });
    this.children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(d.toString());
    });
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
    const done = new Promise<CliResult>((resolve) =>
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        resolve({ code, signal, stdout, stderr });
      }),
    );
    return { child, done };
  }

  /** Closes clients, kills every process this harness started, removes the temp dirs. */
  async cleanup(): Promise<void> {
    await Promise.all(
      [...this.clients].map((c) => Promise.race([c.close().catch(() => {}), sleep(3_000)])),
    );
    this.clients.clear();
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(
      [...this.procs].map(async (p) => {
        p.kill("SIGKILL");
        await p.exited;
      }),
    );
    this.procs.clear();
    for (const d of this.dirs.splice(0)) d.cleanup();
  }
}

/** A KeeperError-like code from a rejection, for expect(...).rejects checks. */
export async function codeOf(p: Promise<unknown>): Promise<number | "resolved"> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return code;
    throw e;
  }
}

export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
