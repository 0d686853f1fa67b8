// One client WebSocket. Replies leave in request order (ZooKeeper's FIFO guarantee): each
// request takes a slot in the queue; a write's slot fills when its transaction is applied, a
// read's slot is evaluated only when it reaches the head, so it sees every earlier write of
// this session. Watch events bypass the queue: they are sent the moment the change applies,
// which puts them before any reply that could show the change.
import { Code, limits, type Identity, type ServerMessage, type SessionId } from "@keeper/protocol";
import type { Logger } from "../logger.ts";

/**
 * The wire under a connection: the native WebSocket protocol or ZooKeeper's own. It encodes
 * each message in its format; the connection above it is the same for both.
 */
export interface ClientTransport {
  /** The protocol's name, for logs and /status. */
  readonly kind: "native" | "zookeeper";
  send(msg: ServerMessage): void;
  /** Tells the peer why (if the protocol can say), then closes. */
  close(code: Code, reason: string): void;
  pause(): void;
  resume(): void;
  /** Bytes queued for the peer but not yet written. */
  readonly bufferedBytes: number;
}

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

  /** Identities added by auth packets, as whoAmI shows them. */
  readonly authIds: Array<{ authScheme: string; user: string }> = [];
  /** Identities added by auth packets, as ACLs name them (digest: user:base64(sha1(user:password))). */
  readonly authIdentities: Identity[] = [];

  /** Who this client is for ACL checks: its address, and what it authenticated as. */
  get identities(): Identity[] {
    return [{ scheme: "ip", id: this.remoteHost }, ...this.authIdentities];
  }

  /** The client's address without the port. */
  get remoteHost(): string {
    const i = this.remote.lastIndexOf(":");
    return i > 0 ? this.remote.slice(0, i) : this.remote;
  }

  /** Connected with canBeReadOnly: may be served by a node without a quorum. */
  canBeReadOnly = false;

  constructor(private readonly transport: ClientTransport, remote: string, log: Logger) {
    this.remote = remote;
    this.log = log.child({ conn: this.id, remote, wire: transport.kind });
  }

  get kind(): ClientTransport["kind"] {
    return this.transport.kind;
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
      this.transport.pause();
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
      this.transport.resume();
    }
  }

  send(msg: ServerMessage): void {
    if (this.closed) return;
    if (this.transport.bufferedBytes > limits.outboundBytesMax) {
      this.close(Code.CONNECTIONLOSS, "client is not reading its replies");
      return;
    }
    this.sent++;
    this.transport.send(msg);
  }

  /** Says why, then closes. The session (if any) lives on until it expires. */
  close(code: Code, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug({ code, reason }, "closing connection");
    this.transport.close(code, reason);
  }

  /** Fails every write still waiting: used when the session ends under it. */
  abandon(): void {
    this.waiting.clear();
    this.queue.length = 0;
  }
}
