// A minimal client speaking the native protocol frame by frame, for tests that need to send
// exactly what a well-behaved client would not.
import WebSocket from "ws";
import { decodeServerMessage, encodeClientMessage, PROTOCOL_VERSION, type ClientMessage, type ServerMessage, type SessionId, type Zxid } from "@keeper/protocol";

export class RawClient {
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d: Buffer) => {
      this.messages.push(decodeServerMessage(d));
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static async open(port: number): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new RawClient(ws);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(msg: Exclude<ClientMessage, { kind: "invalid" }>): void {
    this.ws.send(encodeClientMessage(msg));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  connect(opts: { sessionId?: number; password?: Uint8Array; timeoutMs?: number; lastZxidSeen?: number; protocolVersion?: number } = {}): void {
    this.send({
      kind: "connect",
      protocolVersion: opts.protocolVersion ?? PROTOCOL_VERSION,
      sessionId: (opts.sessionId ?? 0) as SessionId,
      password: opts.password ?? new Uint8Array(),
      timeoutMs: opts.timeoutMs ?? 5000,
      lastZxidSeen: (opts.lastZxidSeen ?? 0) as Zxid,
      canBeReadOnly: false,
    });
  }

  /** Waits until a message matching `pred` has arrived (or the socket closed), up to `ms`. */
  async waitFor<T extends ServerMessage>(pred: (m: ServerMessage) => m is T, ms = 3000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) before the message arrived`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.messages).slice(0, 400)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, left);
      });
    }
  }

  response(xid: number, ms?: number) {
    return this.waitFor((m): m is Extract<ServerMessage, { kind: "response" }> => m.kind === "response" && m.xid === xid, ms);
  }

  connected(ms?: number) {
    return this.waitFor((m): m is Extract<ServerMessage, { kind: "connected" }> => m.kind === "connected", ms);
  }

  async closedWith(ms = 3000): Promise<{ notice?: Extract<ServerMessage, { kind: "close" }>; code: number }> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.closed) throw new Error("socket did not close");
    const notice = this.messages.find((m): m is Extract<ServerMessage, { kind: "close" }> => m.kind === "close");
    return { ...(notice ? { notice } : {}), code: this.closed.code };
  }

  close(): void {
    this.ws.terminate();
  }
}
