// One client WebSocket. Replies leave in request order (ZooKeeper's FIFO guarantee): each
// request takes a slot in the queue; a write's slot fills when its transaction is applied, a
// read's slot is evaluated only when it reaches the head, so it sees every earlier write of
// this session. Watch events bypass the queue: they are sent the moment the change applies,
// which puts them before any reply that could show the change.
import type { WebSocket } from "ws";
import { Code, encodeServerMessage, limits, type ServerMessage, type SessionId } from "@keeper/protocol";
import type { Logger } from "../logger.ts";

type Reply = Extract<ServerMessage, { kind: "response" }>;
type Slot = { xid: number; reply?: Reply; read?: () => Reply };

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  sessionId: SessionId | undefined;
  /** A connect request was received and is being answered. */
  connecting = false;
  readOnly = false;
  private readonly queue: Slot[] = [];
  private readonly waiting = new Map<number, Slot>();
  private paused = false;
  closed = false;
  readonly log: Logger;
  readonly remote: string;
  readonly openedAt = Date.now();
  received = 0;
  sent = 0;

  constructor(private readonly socket: WebSocket, remote: string, log: Logger) {
    this.remote = remote;
    this.log = log.child({ conn: this.id, remote });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** A read, evaluated when every earlier reply of this session has gone. */
  enqueueRead(xid: number, read: () => Reply): void {
    this.queue.push({ xid, read });
    this.afterEnqueue();
  }

  /** A write whose reply arrives later through complete(). */
  enqueueWrite(xid: number): void {
    const slot: Slot = { xid };
    this.queue.push(slot);
    this.waiting.set(xid, slot);
    this.afterEnqueue();
  }

  /** Fills the slot of a write. False if this connection is not waiting for `xid`. */
  complete(xid: number, reply: Reply): boolean {
    const slot = this.waiting.get(xid);
    if (!slot) return false;
    this.waiting.delete(xid);
    slot.reply = reply;
    this.pump();
    return true;
  }

  isWaitingFor(xid: number): boolean {
    return this.waiting.has(xid);
  }

  private afterEnqueue(): void {
    this.pump();
    if (!this.paused && this.queue.length >= limits.pendingRequestsPerSessionMax) {
      // Stop reading until the backlog drains, rather than buffering without bound.
      this.paused = true;
      this.socket.pause();
    }
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const reply = head.reply ?? head.read?.();
      if (!reply) return;
      this.queue.shift();
      this.send(reply);
    }
    if (this.paused && this.queue.length < limits.pendingRequestsPerSessionMax / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  send(msg: ServerMessage): void {
    if (this.closed) return;
    if (this.socket.bufferedAmount > limits.outboundBytesMax) {
      this.close(Code.CONNECTIONLOSS, "client is not reading its replies");
      return;
    }
    this.sent++;
    this.socket.send(encodeServerMessage(msg));
  }

  /** Says why, then closes. The session (if any) lives on until it expires. */
  close(code: Code, reason: string): void {
    if (this.closed) return;
    this.send({ kind: "close", code, reason });
    this.closed = true;
    this.log.debug({ code, reason }, "closing connection");
    this.socket.close(code === Code.OK ? 1000 : 4000, reason.slice(0, 120));
    // A peer that never answers the close handshake must not hold the socket open.
    setTimeout(() => this.socket.terminate(), 2000).unref();
  }

  /** Fails every write still waiting: used when the session ends under it. */
  abandon(): void {
    this.waiting.clear();
    this.queue.length = 0;
  }
}
