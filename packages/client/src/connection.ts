// One WebSocket to one server: the connect handshake, then decoded frames in arrival order.
// Frames are handed on synchronously as they arrive, which is what keeps a watch event that
// precedes a response ahead of that response's promise continuation.

import { decodeServerMessage, encodeClientMessage, type ClientMessage, type Code, type ConnectRequest, type ConnectResponse, type ServerMessage } from "@keeper/protocol";
import { frameBytes, WS_OPEN, type WebSocketConstructor, type WebSocketLike } from "./websocket.ts";

export interface ConnectionHandlers {
  /** Every frame after the handshake, in arrival order. */
  onMessage(msg: Exclude<ServerMessage, { kind: "connected" }>): void;
  /** The socket closed or failed; not called after close() from our side. */
  onClose(reason: string): void;
}

export type HandshakeResult =
  | { kind: "connected"; conn: Connection; info: ConnectResponse }
  /** The server answered with a close notice, e.g. SESSIONEXPIRED. */
  | { kind: "refused"; code: Code; reason: string }
  /** No answer: refused socket, dropped socket, bad frame or timeout. */
  | { kind: "failed"; reason: string };

export class Connection {
  private handlers: ConnectionHandlers | undefined;
  private closed = false;

  private constructor(
    private readonly socket: WebSocketLike,
    readonly url: string,
  ) {}

  /** Opens a socket to `url` and runs the connect handshake, giving up after `waitMs`. */
  static open(WebSocket: WebSocketConstructor, url: string, request: ConnectRequest, waitMs: number): Promise<HandshakeResult> {
    return new Promise((resolve) => {
      let socket: WebSocketLike;
      try {
        socket = new WebSocket(url);
      } catch (e) {
        resolve({ kind: "failed", reason: `cannot open ${url}: ${(e as Error).message}` });
        return;
      }
      const conn = new Connection(socket, url);
      let pending = true;
      const finish = (result: HandshakeResult): void => {
        if (!pending) return;
        pending = false;
        clearTimeout(timer);
        if (result.kind !== "connected") conn.close();
        resolve(result);
      };
      const timer = setTimeout(() => finish({ kind: "failed", reason: `no handshake from ${url} within ${waitMs} ms` }), waitMs);
      socket.binaryType = "arraybuffer";
      socket.onopen = () => conn.sendFrame({ kind: "connect", ...request });
      socket.onerror = () => finish({ kind: "failed", reason: `socket error on ${url}` });
      socket.onclose = (ev: { code?: number }) => {
        if (pending) finish({ kind: "failed", reason: `socket to ${url} closed (${ev?.code ?? "?"})` });
        else conn.lost(`socket closed (${ev?.code ?? "?"})`);
      };
      socket.onmessage = (ev: { data: unknown }) => {
        const msg = conn.decode(ev.data);
        if (!pending) {
          if (msg !== undefined && msg.kind !== "connected") conn.handlers?.onMessage(msg);
          // A frame the client cannot read leaves the stream in an unknown place: drop it.
          else conn.lost("unreadable or unexpected frame after handshake");
          return;
        }
        if (msg?.kind === "connected") finish({ kind: "connected", conn, info: msg });
        else if (msg?.kind === "close") finish({ kind: "refused", code: msg.code, reason: msg.reason });
        else finish({ kind: "failed", reason: `bad handshake frame from ${url}` });
      };
    });
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  /** Sends a frame; false when the socket is no longer open (the close handler follows). */
  sendFrame(msg: Exclude<ClientMessage, { kind: "invalid" }>): boolean {
    if (this.closed || this.socket.readyState !== WS_OPEN) return false;
    try {
      this.socket.send(encodeClientMessage(msg));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes from our side; the handlers hear nothing more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers = undefined;
    try {
      this.socket.close(1000, "client closing");
    } catch {
      // Closing a socket that is still connecting may throw in some implementations.
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private decode(data: unknown): ServerMessage | undefined {
    const bytes = frameBytes(data);
    if (bytes === undefined) return undefined;
    try {
      return decodeServerMessage(bytes);
    } catch {
      return undefined;
    }
  }

  private lost(reason: string): void {
    if (this.closed) return;
    const handlers = this.handlers;
    this.close();
    handlers?.onClose(reason);
  }
}
