// One client WebSocket. Replies leave in request order (ZooKeeper's FIFO guarantee): each
// request takes a slot in the queue; a write's slot fills when its transaction is applied, a
// read's slot is evaluated only when it reaches the head, so it sees every earlier write of
// this session. Watch events bypass the queue: they are sent the moment the change applies,
// which puts them before any reply that could show the change.
//
// Reading stops for two reasons, each with its own flag: this connection's backlog is long, or
// the whole node has too many requests in flight (OutstandingRequests). It resumes when neither holds.
import { Code, limits, type ClientMessage, type Identity, type ServerMessage, type SessionId } from "@keeper/protocol";
import { javaSetOrder } from "@keeper/core";
import type { Logger } from "../logger.ts";
import type { OutstandingRequests, Throttled } from "./outstanding.ts";
import type { RequestKind, RequestLatency } from "../metrics/request-latency.ts";

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
/** `op`, when given, names the request for the latency histograms; `arrivedMs` is when it was read. */
type Slot = { xid: number; reply?: Reply; read?: () => Reply; op?: string; kind?: RequestKind; arrivedMs: number };

let nextConnectionId = 1;

export class Connection implements Throttled {
  readonly id = nextConnectionId++;
  sessionId: SessionId | undefined;
  /** A connect request was received and is being answered. */
  connecting = false;
  readOnly = false;
  private readonly queue: Slot[] = [];
  private readonly waiting = new Map<number, Slot>();
  /** Reading stopped because this connection's own backlog is long. */
  private backlogged = false;
  /** Reading stopped because the node has too many requests in flight. */
  private throttled = false;
  private _closed = false;
  readonly log: Logger;
  readonly remote: string;
  readonly openedAt = Date.now();
  received = 0;
  sent = 0;

  /**
   * Who this client is: its address, then what auth packets added, each once, as ACLs name them
   * (digest: user:base64(sha1(user:password))) and as whoAmI shows them (digest: the user).
   */
  private known: Array<{ identity: Identity; info: { authScheme: string; user: string } }> | undefined;
  /** The same, in the order ZooKeeper iterates them (javaSetOrder): recomputed on each auth. */
  private ordered: typeof this.known;

  private get all(): NonNullable<typeof this.known> {
    this.known ??= [{ identity: { scheme: "ip", id: this.remoteHost }, info: { authScheme: "ip", user: this.remoteHost } }];
    return (this.ordered ??= javaSetOrder(this.known, (k) => k.identity));
  }

  hasIdentity(identity: Identity): boolean {
    return this.all.some((k) => k.identity.scheme === identity.scheme && k.identity.id === identity.id);
  }

  /** Adds an identity (an auth packet); false when the connection has it already (a set, as ZooKeeper's). */
  addIdentity(identity: Identity, info: { authScheme: string; user: string }): boolean {
    const all = this.all;
    if (all.some((k) => k.identity.scheme === identity.scheme && k.identity.id === identity.id)) return false;
    this.known!.push({ identity, info });
    this.ordered = undefined;
    return true;
  }

  /** Who this client is for ACL checks, in ZooKeeper's order ("auth" entries expand in it). */
  get identities(): Identity[] {
    return this.all.map((k) => k.identity);
  }

  /** What whoAmI answers, in the same order. */
  get clientInfo(): Array<{ authScheme: string; user: string }> {
    return this.all.map((k) => k.info);
  }

  /** The subject DN of the client's verified TLS certificate, if it presented one (x509 identity). */
  certificate: string | undefined;

  /** The client's TLS certificate named `dn` (verified by the client CA): it is x509:<dn>, as in ZooKeeper. */
  presentedCertificate(dn: string | undefined): void {
    if (dn === undefined) return;
    this.certificate = dn;
    this.addIdentity({ scheme: "x509", id: dn }, { authScheme: "x509", user: dn });
  }

  /** The client's address without the port. */
  get remoteHost(): string {
    const i = this.remote.lastIndexOf(":");
    return i > 0 ? this.remote.slice(0, i) : this.remote;
  }

  /** Connected with canBeReadOnly: may be served by a node without a quorum. */
  canBeReadOnly = false;

  constructor(
    private readonly transport: ClientTransport,
    remote: string,
    log: Logger,
    private readonly outstanding: OutstandingRequests,
    /** Where answered requests report their latency; none in tests that do not measure. */
    private readonly latency?: RequestLatency,
  ) {
    this.remote = remote;
    this.log = log.child({ conn: this.id, remote, wire: transport.kind });
  }

  /** Closed by the server, or its socket is gone: nothing more is sent or queued. */
  get closed(): boolean {
    return this._closed;
  }

  get kind(): ClientTransport["kind"] {
    return this.transport.kind;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** A read, evaluated when every earlier reply of this session has gone; `op` is timed when given. */
  enqueueRead(xid: number, read: () => Reply, op?: string): void {
    this.enqueue({ xid, read, op, kind: "read", arrivedMs: op === undefined ? 0 : performance.now() });
  }

  /** A write whose reply arrives later through complete(); `op` is timed when given. */
  enqueueWrite(xid: number, op?: string): void {
    const slot: Slot = { xid, op, kind: "update", arrivedMs: op === undefined ? 0 : performance.now() };
    if (this.enqueue(slot)) this.waiting.set(xid, slot);
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

  /** Queues a slot (false on a closed connection, which answers nothing more). */
  private enqueue(slot: Slot): boolean {
    if (this._closed) return false;
    this.queue.push(slot);
    this.outstanding.add();
    this.pump();
    if (!this.backlogged && this.queue.length >= limits.pendingRequestsPerSessionMax) {
      // Stop reading until the backlog drains, rather than buffering without bound.
      this.setReading(() => (this.backlogged = true));
    }
    // As in ZooKeeper, only a connection with requests of its own in flight is paused: one whose
    // reads were all answered at once adds nothing to the count.
    if (!this._closed && this.queue.length > 0) this.outstanding.check(this);
    return true;
  }

  private pump(): void {
    let answered = 0;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const reply = head.reply ?? head.read?.();
      // A read may close the connection (setWatches sends events): then the queue is gone.
      if (!reply || this.queue[0] !== head) break;
      this.queue.shift();
      answered++;
      this.send(reply);
      if (head.op !== undefined) this.latency?.observe(head.op, head.kind!, performance.now() - head.arrivedMs);
    }
    if (this.backlogged && this.queue.length < limits.pendingRequestsPerSessionMax / 2) this.setReading(() => (this.backlogged = false));
    // Last: it may resume other connections, whose sockets deliver their data on a later turn.
    if (answered > 0) this.outstanding.remove(answered);
  }

  /** Paused or resumed by the node-wide bound on requests in flight. */
  throttle(paused: boolean): void {
    this.setReading(() => (this.throttled = paused));
  }

  /** Applies a change of either pause reason; the socket is told only when "reading at all" flips. */
  private setReading(change: () => void): void {
    const wasPaused = this.backlogged || this.throttled;
    change();
    const paused = this.backlogged || this.throttled;
    if (this._closed || paused === wasPaused) return;
    if (paused) this.transport.pause();
    else this.transport.resume();
  }

  send(msg: ServerMessage): void {
    if (this._closed) return;
    if (this.transport.bufferedBytes > limits.outboundBytesMax) {
      this.close(Code.CONNECTIONLOSS, "client is not reading its replies");
      return;
    }
    this.sent++;
    this.transport.send(msg);
  }

  /** Says why, then closes. The session (if any) lives on until it expires. */
  close(code: Code, reason: string): void {
    if (this._closed) return;
    this.log.debug({ code, reason }, "closing connection");
    this.release();
    this.transport.close(code, reason);
  }

  /** The socket is gone. */
  ended(): void {
    this.release();
  }

  /**
   * Requests that came behind the connect request, before the session was set up. ZooKeeper's
   * Netty client sends its first requests without waiting for the connect reply; ZooKeeper
   * stops reading the socket until the session is set up, Keeper holds them (at most
   * pendingRequestsPerSessionMax) and handles them then, in order.
   */
  private held: ClientMessage[] = [];

  /** Holds `msg` until the session is attached; false when too many wait already. */
  holdUntilAttached(msg: ClientMessage): boolean {
    if (this.held.length >= limits.pendingRequestsPerSessionMax) return false;
    this.held.push(msg);
    return true;
  }

  takeHeld(): ClientMessage[] {
    const held = this.held;
    this.held = [];
    return held;
  }

  /** Fails every write still waiting: used when the session ends under it. */
  abandon(): void {
    this.waiting.clear();
    this.outstanding.remove(this.queue.length);
    this.queue.length = 0;
  }

  /** Closed for good: whatever is still queued will never be answered, so it no longer counts. */
  private release(): void {
    if (this._closed) return;
    this._closed = true;
    this.abandon();
    this.outstanding.forget(this);
  }
}
