// Shared set-up for the recipe tests: an in-process Keeper server on a private data
// directory, clients that are all closed after each test, a TCP proxy the test can cut
// (to drop a connection, or to keep a session from reaching the server until it expires),
// and poll() instead of sleeps.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer } from "@keeper/server";
import { afterAll, afterEach } from "vitest";
import { connect, type ClientOptions, type KeeperClient } from "../../src/index.ts";

const HOST = "127.0.0.1";

export interface TestKeeper {
  readonly address: string;
  readonly port: number;
  /** Stops the server and starts it again on the same port and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];
const perTest: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of perTest.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One server for the whole file (closed after all tests); use distinct paths per test. */
export async function startKeeper(): Promise<TestKeeper> {
  const dataDir = mkdtempSync(join(tmpdir(), "keeper-recipes-"));
  let server: RunningServer | undefined;
  let port = 0;
  const start = async (): Promise<void> => {
    server = await startServer({ zkPort: -1, serverId: 1, dataDir, host: HOST, clientPort: port, logLevel: "silent", tickMs: 50, minSessionTimeoutMs: 200 });
    port = server.port;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    await s?.close();
  };
  await start();
  cleanups.push(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    get address() {
      return `${HOST}:${port}`;
    },
    get port() {
      return port;
    },
    restart: async () => {
      await stop();
      await start();
    },
    stop,
    start,
  };
}

/** A connected client, closed after the test. */
export async function client(address: string, options: ClientOptions = {}): Promise<KeeperClient> {
  const c = await connect(address, { sessionTimeoutMs: 10_000, ...options });
  perTest.push(() => c.close());
  return c;
}

/** A client factory whose clients are closed after the test (recipes close them too). */
export function factory(address: string, options: ClientOptions = {}): () => Promise<KeeperClient> {
  return () => client(address, options);
}

/** Runs `fn` after the current test, before clients are closed (LIFO). */
export function onCleanup(fn: () => Promise<void> | void): void {
  perTest.push(fn);
}

export async function poll<T>(cond: () => T | Promise<T>, what = "condition", timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try {
      v = await cond();
    } catch {
      v = undefined; // not there yet (e.g. NONODE): look again
    }
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with the arguments of the next `event` the emitter sends. */
export function next<A extends unknown[]>(emitter: { once(event: any, fn: (...args: A) => void): unknown }, event: string): Promise<A> {
  return new Promise((resolve) => emitter.once(event, (...args: A) => resolve(args)));
}

export function stateReached(c: KeeperClient, state: KeeperClient["state"]): Promise<void> {
  if (c.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const fn = (s: KeeperClient["state"]): void => {
      if (s !== state) return;
      c.off("state", fn);
      resolve();
    };
    c.on("state", fn);
  });
}

/**
 * A TCP proxy in front of the server. cut() drops every connection and refuses new ones
 * (the session then cannot reach the server and expires), drop() only drops the current
 * connections, dropOnNextReply() lets the next client bytes through and then drops the
 * connection instead of forwarding the server's answer: the request happened, its reply
 * never arrives (CONNECTIONLOSS on an op that took effect).
 */
export class Proxy {
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  private armed: string | undefined;
  /** How many connections dropOnNextReply() has dropped. */
  replyDrops = 0;

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: () => number): Promise<Proxy> {
    let proxy: Proxy;
    const server = createServer((down) => proxy.accept(down, targetPort()));
    await new Promise<void>((r) => server.listen(0, HOST, r));
    proxy = new Proxy(server, (server.address() as { port: number }).port);
    cleanups.push(() => proxy.close());
    return proxy;
  }

  get address(): string {
    return `${HOST}:${this.port}`;
  }

  cut(): void {
    this.refusing = true;
    this.drop();
  }

  restore(): void {
    this.refusing = false;
  }

  drop(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Arms the reply drop for the next client frame that contains `marker` (e.g. a path fragment). */
  dropOnNextReply(marker = ""): void {
    this.armed = marker;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(down: Socket, targetPort: number): void {
    if (this.refusing) {
      down.destroy();
      return;
    }
    const up = netConnect(targetPort, HOST);
    let watching = false;
    const frames = new ClientFrames();
    this.sockets.add(down);
    this.sockets.add(up);
    down.on("data", (d) => {
      const payloads = frames.push(d);
      if (this.armed !== undefined && payloads.some((p) => p.includes(this.armed!))) {
        this.armed = undefined;
        watching = true;
      }
      up.write(d);
    });
    up.on("data", (d) => {
      if (watching) {
        this.replyDrops++;
        down.destroy();
        up.destroy();
        return;
      }
      down.write(d);
    });
    const end = (): void => {
      down.destroy();
      up.destroy();
      this.sockets.delete(down);
      this.sockets.delete(up);
    };
    down.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
  }
}

/**
 * Reads the payloads of the WebSocket frames a client sends (after the HTTP upgrade),
 * unmasked, so the proxy can recognise a request by its content. Inspection only: the
 * bytes are forwarded unchanged.
 */
class ClientFrames {
  private buf = Buffer.alloc(0);
  private upgraded = false;

  push(chunk: Buffer): Buffer[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.upgraded) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return [];
      this.buf = this.buf.subarray(end + 4);
      this.upgraded = true;
    }
    const out: Buffer[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      const masked = (this.buf[1]! & 0x80) !== 0;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return out;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return out;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      const keyAt = at;
      if (masked) at += 4;
      if (this.buf.length < at + len) return out;
      const payload = Buffer.from(this.buf.subarray(at, at + len));
      if (masked) for (let i = 0; i < len; i++) payload[i]! ^= this.buf[keyAt + (i % 4)]!;
      out.push(payload);
      this.buf = this.buf.subarray(at + len);
    }
  }
}
