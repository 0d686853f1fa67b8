// ZooKeeper's client port: length-prefixed jute frames over TCP, sharing everything with the
// native protocol (sessions, watches, FIFO replies) through the same Connection and node.
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import {
  Code,
  FrameDecoder,
  JuteError,
  JuteNullFieldError,
  KeeperError,
  OpCode,
  PROTOCOL_VERSION,
  ZK_PROTOCOL_VERSION,
  asSessionId,
  asZxid,
  decodeConnectRequest,
  decodeZkRequest,
  encodeConnectResponse,
  encodeReply,
  encodeWatchEvent,
  limits,
  peekFourLetterWord,
  type ServerMessage,
  type ZkRequest,
} from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import type { KeeperNode } from "../keeper-node.ts";
import { Connection, type ClientTransport } from "../client/connection.ts";
import type { ConnectionLimits } from "../client/connection-limits.ts";
import { certificateIdentity, tlsServerOptions, type ClientTls } from "../client/client-tls.ts";
import { requestOf, responseOf } from "./translate.ts";

export interface ZkListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Answers a four-letter word (ruok, srvr, ...) with its text. */
export type FourLetterWords = (word: string) => string;

const HANDSHAKE_MS = 10_000;

/**
 * Writes ZooKeeper frames for one socket. Replies leave in request order, so the request each
 * one answers is simply the oldest unanswered: its opcode picks the reply record.
 */
class ZkTransport implements ClientTransport {
  readonly kind = "zookeeper" as const;
  /** Requests awaiting their reply, oldest first. */
  readonly asked: ZkRequest[] = [];
  clientSentReadOnly = false;
  /** The ConnectResponse has gone out: from now on the stream carries replies and events. */
  private handshakeDone = false;

  private corked = false;

  constructor(private readonly socket: Socket) {}

  /**
   * Replies produced in one turn of the event loop (a commit answers many requests at once)
   * leave in one writev instead of a syscall each.
   */
  private write(frame: Uint8Array): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }

  send(msg: ServerMessage): void {
    switch (msg.kind) {
      case "connected":
        this.handshakeDone = true;
        this.write(encodeConnectResponse({ protocolVersion: ZK_PROTOCOL_VERSION, timeOut: msg.timeoutMs, sessionId: BigInt(msg.sessionId), passwd: msg.password, readOnly: msg.readOnly }, this.clientSentReadOnly));
        return;
      case "response": {
        const req = this.asked.shift();
        // ZooKeeper answers a failed multi with header err 0 and the per-op errors in its body.
        const multi = msg.result?.type === "multi" || msg.result?.type === "multiRead";
        const body = req ? responseOf(req, msg.err === Code.OK || multi ? msg.result : undefined) : undefined;
        this.write(encodeReply(msg.xid, BigInt(msg.zxid), multi ? Code.OK : msg.err, body));
        return;
      }
      case "event":
        this.write(encodeWatchEvent(msg.type, msg.state, msg.path, BigInt(msg.zxid)));
        return;
      case "close":
        return; // ZooKeeper has no close notice: close() tells what it can
    }
  }

  close(code: Code, _reason: string): void {
    if (code === Code.SESSIONEXPIRED && !this.handshakeDone) {
      // ZooKeeper's way of saying "expired" during the handshake: timeout 0, session 0.
      this.socket.write(encodeConnectResponse({ protocolVersion: ZK_PROTOCOL_VERSION, timeOut: 0, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false }, this.clientSentReadOnly));
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }
}

/** `tls`: serve the same protocol over TLS, as ZooKeeper's secureClientPort. */
export async function listenZooKeeper(node: KeeperNode, host: string, port: number, words: FourLetterWords, log: Logger, limiter: ConnectionLimits, tls?: ClientTls): Promise<ZkListener> {
  const frameBytesMax = Math.max(limits.frameBytesMax, node.config.dataBytesMax + 64 * 1024);
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    // As ZooKeeper's maxClientCnxns and clientsMax: refused before a byte is read.
    const ip = socket.remoteAddress ?? "";
    const refused = limiter.admit(ip);
    if (refused) {
      log.warn({ remote: ip, reason: refused }, "connection refused");
      return void socket.destroy();
    }
    socket.once("close", () => limiter.release(ip));
    sockets.add(socket);
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const transport = new ZkTransport(socket);
    let conn: Connection | undefined;
    /** The first bytes, held until there are four: they say four-letter word or frame. */
    let head: Buffer | undefined = Buffer.alloc(0);
    const decoder = new FrameDecoder(frameBytesMax);
    const handshake = setTimeout(() => socket.destroy(), HANDSHAKE_MS);
    socket.on("data", (data: Buffer) => {
      let chunk = data;
      if (head) {
        head = Buffer.concat([head, data]);
        if (head.length < 4) return; // a word may arrive a byte at a time
        chunk = head;
        head = undefined;
        const word = peekFourLetterWord(chunk.subarray(0, 4));
        if (word) {
          clearTimeout(handshake);
          socket.end(words(word));
          return;
        }
        conn = new Connection(transport, remote, log, node.outstanding, node.latency);
        conn.presentedCertificate(certificateIdentity(socket));
        node.opened(conn);
      }
      if (!conn || conn.closed) return;
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        node.counters.badFrames++;
        conn.log.warn({ err: (e as Error).message }, "malformed ZooKeeper frame");
        return conn.close(Code.MARSHALLINGERROR, (e as Error).message);
      }
      for (const frame of frames) {
        if (conn.closed) return;
        if (conn.sessionId === undefined && !conn.connecting) {
          clearTimeout(handshake);
          handleConnect(node, conn, transport, frame);
        } else {
          handleRequest(node, conn, transport, frame);
        }
      }
    });
    socket.on("close", () => {
      clearTimeout(handshake);
      sockets.delete(socket);
      if (conn) node.disconnected(conn);
    });
    socket.on("error", () => socket.destroy());
  };
  const server: Server = tls ? createTlsServer(tlsServerOptions(tls), onSocket) : createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      // After listening, an error is a failed accept (EMFILE when descriptors run out): the
      // connection is lost, the node goes on serving the ones it has.
      server.on("error", (err) => log.error({ err: err.message }, "accepting a connection failed"));
      resolve();
    });
  });
  const a = server.address();
  return {
    port: typeof a === "object" && a ? a.port : port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function handleConnect(node: KeeperNode, conn: Connection, transport: ZkTransport, frame: Uint8Array): void {
  let req;
  try {
    req = decodeConnectRequest(frame);
  } catch (e) {
    return conn.close(Code.MARSHALLINGERROR, `bad connect request: ${(e as Error).message}`);
  }
  transport.clientSentReadOnly = req.readOnly !== undefined;
  const tooBig = req.sessionId < 0n || req.sessionId > BigInt(Number.MAX_SAFE_INTEGER);
  node.handleMessage(conn, {
    kind: "connect",
    protocolVersion: PROTOCOL_VERSION,
    // A session id Keeper could never have issued is unknown: it gets the "expired" answer.
    sessionId: asSessionId(tooBig ? Number.MAX_SAFE_INTEGER : Number(req.sessionId)),
    password: req.passwd,
    timeoutMs: req.timeOut,
    lastZxidSeen: asZxid(req.lastZxidSeen < 0n ? 0 : Number(req.lastZxidSeen > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : req.lastZxidSeen)),
    canBeReadOnly: req.readOnly === true,
  });
}

function handleRequest(node: KeeperNode, conn: Connection, transport: ZkTransport, frame: Uint8Array): void {
  let decoded;
  try {
    decoded = decodeZkRequest(frame);
  } catch (e) {
    node.counters.badFrames++;
    const xid = e instanceof JuteError ? e.xid : undefined;
    if (e instanceof JuteNullFieldError && xid !== undefined) {
      // Well-formed jute with a null where a value must be (a path): ZooKeeper answers this
      // request MARSHALLINGERROR and the session goes on, so Keeper does too.
      conn.log.info({ err: e.message, xid, opcode: e.opcode }, "ZooKeeper request with a null field");
      // (setData validates its path first there, so it answers BADARGUMENTS.)
      const err = e.opcode === OpCode.setData ? Code.BADARGUMENTS : Code.MARSHALLINGERROR;
      return refuse(node, conn, transport, xid, { type: "unknown", opcode: e.opcode ?? 0, body: new Uint8Array(0) }, err, `request ${e.opcode}: ${e.message}`);
    }
    conn.log.warn({ err: (e as Error).message, xid }, "malformed ZooKeeper request");
    // As ZooKeeper: a request that does not parse ends the connection (the session lives on).
    return conn.close(Code.MARSHALLINGERROR, (e as Error).message);
  }
  const { xid, request: zk } = decoded;
  let request;
  try {
    request = requestOf(zk);
  } catch (e) {
    if (!(e instanceof KeeperError)) throw e;
    conn.log.info({ err: e.message, xid, opcode: decoded.opcode }, "ZooKeeper request refused");
    return refuse(node, conn, transport, xid, zk, e.code, e.message);
  }
  if (!request) return refuse(node, conn, transport, xid, zk, Code.UNIMPLEMENTED, `operation ${decoded.opcode} is not supported`);
  transport.asked.push(zk);
  node.handleMessage(conn, { kind: "request", xid, request });
}

/** Answers `xid` with `err` in its turn among the connection's replies; the session goes on. */
function refuse(node: KeeperNode, conn: Connection, transport: ZkTransport, xid: number, zk: ZkRequest, err: Code, reason: string): void {
  transport.asked.push(zk);
  node.handleMessage(conn, { kind: "invalid", xid, err, reason });
}
