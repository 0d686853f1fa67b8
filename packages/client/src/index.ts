// @keeper/client: the only public entry of the package.

import { Code, KeeperError } from "@keeper/protocol";
import { KeeperClient } from "./client.ts";
import { clientDefaults } from "./constants.ts";
import { HostRing, hostUrl, parseConnectString, shuffle } from "./connect-string.ts";
import { Session, type ClientState } from "./session.ts";
import { resolveWebSocket, type WebSocketConstructor } from "./websocket.ts";

export interface ClientOptions {
  /** Session timeout to ask for; the server may negotiate it within its bounds. Default 30000. */
  sessionTimeoutMs?: number;
  /** Accept a read-only server (one cut off from its quorum) for reads. Default false. */
  canBeReadOnly?: boolean;
  /** Default per-call timeout; none when unset. */
  requestTimeoutMs?: number;
  /** How long connect() waits for the first connection. Default: sessionTimeoutMs. */
  connectTimeoutMs?: number;
  /** Connect over TLS (wss://), to servers given a client certificate (KEEPER_CLIENT_TLS_CERT). Default false. */
  secure?: boolean;
  /** WebSocket implementation; default globalThis.WebSocket, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Resume this session instead of starting a new one. */
  sessionId?: number;
  sessionPassword?: Uint8Array;
  /** Source of randomness for the host order; Math.random by default. */
  random?: () => number;
  /** How often a read-only client probes for a read-write server. Default 3000. */
  readOnlyProbeIntervalMs?: number;
}

/**
 * Connects to the ensemble named by `connectString` ("h1:p1,h2:p2/chroot") and resolves
 * once a server accepted the session. Rejects with CONNECTIONLOSS after connectTimeoutMs,
 * or SESSIONEXPIRED when a resumed session is gone.
 */
export async function connect(connectString: string, options: ClientOptions = {}): Promise<KeeperClient> {
  const { hosts, chroot } = parseConnectString(connectString);
  const sessionTimeoutMs = positive(options.sessionTimeoutMs, clientDefaults.sessionTimeoutMs, "sessionTimeoutMs");
  const connectTimeoutMs = positive(options.connectTimeoutMs, sessionTimeoutMs, "connectTimeoutMs");
  const WebSocket = await resolveWebSocket(options.WebSocket);
  const session = new Session({
    hosts: new HostRing(shuffle(hosts, options.random ?? Math.random).map((h) => hostUrl(h, options.secure ?? false))),
    chroot,
    sessionTimeoutMs,
    canBeReadOnly: options.canBeReadOnly ?? false,
    readOnlyProbeIntervalMs: positive(options.readOnlyProbeIntervalMs, clientDefaults.readOnlyProbeIntervalMs, "readOnlyProbeIntervalMs"),
    WebSocket,
    sessionId: options.sessionId ?? 0,
    sessionPassword: options.sessionPassword ?? new Uint8Array(0),
  });
  const client = new KeeperClient(session, options.requestTimeoutMs);
  await firstConnection(session, connectTimeoutMs);
  return client;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new KeeperError(Code.BADARGUMENTS, `${name} must be a positive number`);
  return value;
}

/** Starts the session and waits for its first connection, closing it again on failure. */
function firstConnection(session: Session, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: KeeperError): void => {
      clearTimeout(timer);
      session.events.off("state", onState);
      if (error === undefined) return resolve();
      void session.close();
      reject(error);
    };
    const onState = (state: ClientState): void => {
      if (state === "connected" || state === "readOnly") done();
      else if (state === "expired") done(new KeeperError(Code.SESSIONEXPIRED, `session expired: ${session.lastDisconnectReason ?? "refused"}`));
      else if (state === "closed") done(new KeeperError(Code.CONNECTIONLOSS, "client closed while connecting"));
    };
    const timer = setTimeout(() => done(new KeeperError(Code.CONNECTIONLOSS, `no server accepted the session within ${timeoutMs} ms`)), timeoutMs);
    session.events.on("state", onState);
    session.start();
  });
}

export { KeeperClient, type WatchOptions } from "./client.ts";
export { MultiError } from "./errors.ts";
export { Transaction, type TransactionCreateOptions } from "./transaction.ts";
export { parseConnectString, type ConnectString, type HostAddress } from "./connect-string.ts";
export type { ClientState } from "./session.ts";
export type { CallOptions, CreateOptions, CreateModeName } from "./requests.ts";
export type { Watcher, WatchEvent } from "./watches.ts";
export type { WebSocketConstructor, WebSocketLike } from "./websocket.ts";
export { clientDefaults, clientLimits } from "./constants.ts";
export { Code, CreateMode, EventType, KeeperError, KeeperState, OPEN_ACL_UNSAFE, Perms } from "@keeper/protocol";
export type { Acl, MultiOp, MultiOpResult, Stat } from "@keeper/protocol";
export * from "./recipes/index.ts";
