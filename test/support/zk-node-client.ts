// node-zookeeper-client (npm, a devDependency; it ships no types) behind a small typed promise
// API for test/zookeeper/node-zookeeper-client.test.ts. Callbacks are turned into promises and
// nothing else: every request goes out exactly as the library sends it.
import { createRequire } from "node:module";

export interface NzcStat {
  czxid: Buffer;
  mzxid: Buffer;
  pzxid: Buffer;
  ctime: Buffer;
  mtime: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
}

export interface NzcEvent {
  type: number;
  name: string;
  path: string;
  getType(): number;
  getName(): string;
  getPath(): string;
}

export interface NzcException extends Error {
  code: number;
  getCode(): number;
  getName(): string;
}

type Cb<T> = (err: NzcException | null, value: T) => void;

interface RawTransaction {
  create(path: string, data?: Buffer | null, acls?: unknown[] | number, mode?: number): RawTransaction;
  check(path: string, version?: number): RawTransaction;
  setData(path: string, data: Buffer | null, version?: number): RawTransaction;
  remove(path: string, version?: number): RawTransaction;
  commit(cb: (err: NzcException | null, results: Array<{ type: number; path?: string; stat?: NzcStat; err?: number }>) => void): void;
}

interface RawClient {
  connect(): void;
  close(): void;
  once(event: string, fn: (...a: any[]) => void): void;
  on(event: string, fn: (...a: any[]) => void): void;
  getSessionId(): Buffer;
  getState(): { name: string; code: number };
  create(path: string, data: Buffer | null, acls: unknown[], mode: number, cb: Cb<string>): void;
  remove(path: string, version: number, cb: (err: NzcException | null) => void): void;
  setData(path: string, data: Buffer | null, version: number, cb: Cb<NzcStat>): void;
  getData(path: string, watcher: ((e: NzcEvent) => void) | undefined, cb: (err: NzcException | null, data: Buffer | undefined, stat: NzcStat) => void): void;
  exists(path: string, watcher: ((e: NzcEvent) => void) | undefined, cb: Cb<NzcStat | null>): void;
  getChildren(path: string, watcher: ((e: NzcEvent) => void) | undefined, cb: (err: NzcException | null, children: string[], stat: NzcStat) => void): void;
  mkdirp(path: string, data: Buffer | null, acls: unknown[], mode: number, cb: Cb<string>): void;
  transaction(): RawTransaction;
}

interface Library {
  createClient(connectString: string, options: { sessionTimeout?: number; spinDelay?: number; retries?: number }): RawClient;
  CreateMode: { PERSISTENT: number; PERSISTENT_SEQUENTIAL: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
  ACL: { OPEN_ACL_UNSAFE: unknown[] };
  Exception: Record<string, number>;
  Event: Record<string, number>;
}

export const nzc = createRequire(import.meta.url)("node-zookeeper-client") as Library;
export const CreateMode = nzc.CreateMode;

/** The library's version, from its package.json. */
export const nzcVersion: string = (createRequire(import.meta.url)("node-zookeeper-client/package.json") as { version: string }).version;

function p<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/** The ZooKeeper error name of a rejected call ("NO_NODE", "BAD_VERSION", ...), or "ok". */
export async function errName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (e) {
    const ex = e as NzcException;
    return typeof ex.getName === "function" ? ex.getName() : String(e);
  }
}

export class NzcClient {
  private constructor(readonly raw: RawClient) {}

  static async connect(connectString: string, opts: { sessionTimeout?: number; timeoutMs?: number } = {}): Promise<NzcClient> {
    const raw = nzc.createClient(connectString, { sessionTimeout: opts.sessionTimeout ?? 10_000, spinDelay: 100, retries: 5 });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`node-zookeeper-client: not connected to ${connectString} within ${opts.timeoutMs ?? 15_000} ms`)), opts.timeoutMs ?? 15_000);
      raw.once("connected", () => {
        clearTimeout(t);
        resolve();
      });
      raw.connect();
    });
    return new NzcClient(raw);
  }

  get sessionId(): string {
    return this.raw.getSessionId().toString("hex");
  }

  /** Closes the session (closeSession), resolving once the library reports it disconnected. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 3_000);
      this.raw.once("disconnected", () => {
        clearTimeout(t);
        resolve();
      });
      this.raw.close();
    });
  }

  create(path: string, data: Buffer | null = null, mode: number = CreateMode.PERSISTENT): Promise<string> {
    return p((cb) => this.raw.create(path, data, nzc.ACL.OPEN_ACL_UNSAFE, mode, cb));
  }
  remove(path: string, version = -1): Promise<void> {
    return new Promise((resolve, reject) => this.raw.remove(path, version, (err) => (err ? reject(err) : resolve())));
  }
  setData(path: string, data: Buffer | null, version = -1): Promise<NzcStat> {
    return p((cb) => this.raw.setData(path, data, version, cb));
  }
  getData(path: string, watcher?: (e: NzcEvent) => void): Promise<{ data: Buffer | undefined; stat: NzcStat }> {
    return new Promise((resolve, reject) => this.raw.getData(path, watcher, (err, data, stat) => (err ? reject(err) : resolve({ data, stat }))));
  }
  exists(path: string, watcher?: (e: NzcEvent) => void): Promise<NzcStat | null> {
    return p((cb) => this.raw.exists(path, watcher, cb));
  }
  getChildren(path: string, watcher?: (e: NzcEvent) => void): Promise<{ children: string[]; stat: NzcStat }> {
    return new Promise((resolve, reject) => this.raw.getChildren(path, watcher, (err, children, stat) => (err ? reject(err) : resolve({ children, stat }))));
  }
  mkdirp(path: string): Promise<string> {
    return p((cb) => this.raw.mkdirp(path, null, nzc.ACL.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, cb));
  }
  transaction(): RawTransaction {
    return this.raw.transaction();
  }
  commit(t: RawTransaction): Promise<Array<{ type: number; path?: string; stat?: NzcStat; err?: number }>> {
    return new Promise((resolve, reject) => t.commit((err, results) => (err ? reject(Object.assign(err, { results })) : resolve(results))));
  }
}

/** A one-shot watcher as a promise of its event. */
export function nextEvent(): { watcher: (e: NzcEvent) => void; event: Promise<{ name: string; path: string }> } {
  let resolve!: (v: { name: string; path: string }) => void;
  const event = new Promise<{ name: string; path: string }>((r) => (resolve = r));
  return { watcher: (e) => resolve({ name: e.getName(), path: e.getPath() }), event };
}
