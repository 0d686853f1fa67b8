// The shapes the CLI needs from @keeper/client and @keeper/server, stated here so that the
// commands can be written and tested against small fakes. main.ts checks the real modules
// against these interfaces (`satisfies`) where it loads them.
import type { Acl, CreateMode, EventType, KeeperState, Stat } from "@keeper/protocol";
import type { ServerConfig } from "@keeper/server";

export interface WatchEvent {
  type: EventType;
  state: KeeperState;
  path: string;
}
export type Watcher = (event: WatchEvent) => void;

export type ClientState = "connecting" | "connected" | "readOnly" | "disconnected" | "expired" | "closed";

export interface CreateOptions {
  mode?: CreateMode;
  ephemeral?: boolean;
  sequential?: boolean;
  acl?: Acl[];
  ttlMs?: number;
}

/** The part of @keeper/client's KeeperClient that the commands use. */
export interface KeeperClient {
  create(path: string, data?: Uint8Array | string, opts?: CreateOptions): Promise<string>;
  delete(path: string, version?: number): Promise<void>;
  exists(path: string, opts?: { watch?: Watcher }): Promise<Stat | null>;
  getData(path: string, opts?: { watch?: Watcher }): Promise<{ data: Uint8Array; stat: Stat }>;
  setData(path: string, data: Uint8Array | string, version?: number): Promise<Stat>;
  getChildren(path: string, opts?: { watch?: Watcher }): Promise<{ children: string[]; stat: Stat }>;
  sync(path: string): Promise<unknown>;
  getACL(path: string): Promise<{ acl: Acl[]; stat: Stat }>;
  setACL(path: string, acl: Acl[], version?: number): Promise<unknown>;
  /** Keeper's own: the next sequential child of path is numbered at least `next`. */
  setSequence(path: string, next: number): Promise<unknown>;
  /** A persistent watch (recursive: the whole subtree), re-armed across reconnects. */
  addWatch(path: string, watcher: Watcher, opts?: { recursive?: boolean }): Promise<void>;
  whoAmI(): Promise<Array<{ authScheme: string; user: string }>>;
  addAuth(scheme: string, auth: string): Promise<void>;
  on(event: "state", listener: (state: ClientState) => void): unknown;
  close(): Promise<void>;
}

export interface ConnectOptions {
  sessionTimeoutMs?: number;
  canBeReadOnly?: boolean;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
}
export type Connect = (connectString: string, options?: ConnectOptions) => Promise<KeeperClient>;

// The server's own type (erased at run time, so importing it loads no server code): a new
// field fails the type check of SERVER_FIELDS until it gets its flag and variable.
export type { ServerConfig } from "@keeper/server";

export interface RunningServer {
  /** The address the client listeners are bound to. */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
  status(): Record<string, unknown>;
}

/** What `keeper server` needs from @keeper/server. */
export interface ServerModule {
  resolveServerConfig(partial: Partial<ServerConfig>): ServerConfig;
  startServer(config: ServerConfig): Promise<RunningServer>;
}
