// The native client port: WebSocket upgrades go to the protocol, plain HTTP to the admin routes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { Code, FrameError, decodeClientMessage, encodeServerMessage, limits, type ServerMessage } from "@keeper/protocol";
import type { Logger } from "../logger.ts";
import type { KeeperNode } from "../keeper-node.ts";
import { Connection, type ClientTransport } from "./connection.ts";
import type { ConnectionLimits } from "./connection-limits.ts";
import { certificateIdentity, tlsServerOptions, type ClientTls } from "./client-tls.ts";
import { originChecker } from "./origins.ts";

/** The native protocol on a WebSocket: protobuf frames, and a close notice saying why. */
function webSocketTransport(socket: WebSocket): ClientTransport {
  return {
    kind: "native",
    send: (msg: ServerMessage) => socket.send(encodeServerMessage(msg)),
    close: (code, reason) => {
      socket.send(encodeServerMessage({ kind: "close", code, reason }));
      socket.close(code === Code.OK ? 1000 : 4000, reason.slice(0, 120));
      // A peer that never answers the close handshake must not hold the socket open.
      setTimeout(() => socket.terminate(), 2000).unref();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    get bufferedBytes() {
      return socket.bufferedAmount;
    },
  };
}

/** A client must send its connect frame this soon after the socket opens. */
const HANDSHAKE_MS = 10_000;

export interface Listener {
  readonly port: number;
  readonly connections: Set<Connection>;
  close(): Promise<void>;
}

/** `tls`: the port speaks HTTPS and wss:// instead. */
export async function listen(node: KeeperNode, host: string, port: number, admin: (req: IncomingMessage, res: ServerResponse) => void, log: Logger, sockets: ConnectionLimits, tls?: ClientTls): Promise<Listener> {
  const connections = new Set<Connection>();
  const http: Server = tls ? (createHttpsServer(tlsServerOptions(tls), admin) as unknown as Server) : createServer(admin);
  // Counted per TCP connection, before any HTTP is read: admin requests and WebSockets alike.
  http.on("connection", (socket: Socket) => {
    const ip = socket.remoteAddress ?? "";
    const refused = sockets.admit(ip);
    if (refused) {
      log.warn({ remote: ip, reason: refused }, "connection refused");
      return void socket.destroy();
    }
    socket.once("close", () => sockets.release(ip));
  });
  const frameBytesMax = Math.max(limits.frameBytesMax, node.config.dataBytesMax + 64 * 1024);
  const originAllowed = originChecker(node.config.allowedOrigins);
  const wss = new WebSocketServer({
    server: http,
    maxPayload: frameBytesMax,
    perMessageDeflate: false,
    verifyClient: ({ origin, req }: { origin: string | undefined; req: IncomingMessage }) => {
      if (originAllowed(origin === "" ? undefined : origin, req.headers.host)) return true;
      log.warn({ origin, remote: req.socket.remoteAddress }, "WebSocket refused: its page's origin is not in allowedOrigins");
      return false;
    },
  });
  wss.on("connection", (socket: WebSocket, req: IncomingMessage) => {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const conn = new Connection(webSocketTransport(socket), remote, log, node.outstanding, node.latency);
    conn.presentedCertificate(certificateIdentity(req.socket));
    connections.add(conn);
    node.opened(conn);
    const handshake = setTimeout(() => conn.sessionId === undefined && conn.close(Code.CONNECTIONLOSS, "no connect request in time"), HANDSHAKE_MS);
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (conn.closed) return;
      if (!isBinary) {
        node.counters.badFrames++;
        return conn.close(Code.MARSHALLINGERROR, "text frames are not part of the protocol; send binary frames");
      }
      let msg;
      try {
        msg = decodeClientMessage(data, frameBytesMax);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        node.counters.badFrames++;
        conn.log.warn({ err: e.message }, "malformed frame");
        return conn.close(Code.MARSHALLINGERROR, e.message);
      }
      node.handleMessage(conn, msg);
    });
    socket.on("close", () => {
      clearTimeout(handshake);
      connections.delete(conn);
      node.disconnected(conn);
    });
    socket.on("error", (err) => conn.log.debug({ err: err.message }, "socket error"));
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => {
      http.off("error", reject);
      // After listening, an error is a failed accept (EMFILE when descriptors run out): the
      // connection is lost, the node goes on serving the ones it has.
      http.on("error", (err) => log.error({ err: err.message }, "accepting a connection failed"));
      resolve();
    });
  });
  const address = http.address();
  const boundPort = typeof address === "object" && address ? address.port : port;
  return {
    port: boundPort,
    connections,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
