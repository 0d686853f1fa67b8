// Links to the other voting members over WebSocket. One link per pair: the node with the
// higher id dials, the lower one accepts, so two nodes never race two links into existence.
// Each link starts with a handshake (peer-auth.ts): both ends name themselves and the peer list
// they were given and prove they hold the ensemble's secret, or its TLS certificates, before any
// other message counts. A sender outside the ensemble, with a different list, without proof, or
// for an id that already has a live link, is refused with a reason both sides log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { performance } from "node:perf_hooks";
import WebSocket, { WebSocketServer } from "ws";
import { FrameError } from "@keeper/protocol";
import { assert, asServerId, type PeerMessage, type ServerId } from "@keeper/core";
import type { Logger } from "../logger.ts";
import type { PeerAddress } from "../config.ts";
import { decodePeerFrame, encodePeerFrame } from "./peer-codec.ts";
import { encodeBatch, encodeHot, isHot, outgoingBytes, type OutgoingFrame } from "./peer-hot-codec.ts";
import { LinkLiveness } from "./liveness.ts";
import { NONCE_BYTES, certServerId, newNonce, proofOf, proofValid, type HandshakeFacts, type PeerAuth } from "./peer-auth.ts";

/**
 * 2: frames may be batches. 3: a SNAP may come in pieces (snapChunk). 4: authenticated
 * handshake. 5: forwarded writes carry no identities; followers register their clients'
 * connections and credentials with the leader (bind, auth, unbind). A node of 4 and one of 5
 * refuse each other: mixed, a follower's clients would write as nobody.
 */
export const PEER_PROTOCOL_VERSION = 5;
/**
 * Frames before the other end has proved itself are at most this big (a hello with a long
 * peer list fits many times over): a stranger cannot make the node buffer a large frame.
 */
export const HANDSHAKE_FRAME_BYTES_MAX = 4 * 1024;
/** Connections still in their handshake, all together; beyond this new ones are dropped. */
const HANDSHAKES_MAX = 64;
/** Refusal reasons kept for /status. */
const REFUSALS_MAX = 32;
/** Frames queued in one turn are batched up to this size; a bigger frame (a SNAP) goes alone. */
const BATCH_BYTES_MAX = 256 * 1024;
/**
 * The largest peer frame by default. A SNAP travels in pieces of half a MiB and DIFFs are cut
 * at about a MiB, so the largest message is one transaction: a node raising dataBytesMax passes
 * a larger limit (peerFrameBytesMax).
 */
export const PEER_FRAME_BYTES_MAX = 8 * 1024 * 1024;
/**
 * A peer that has not taken this much of what was sent to it is too slow to follow: its link
 * is closed rather than buffered without bound; it rejoins and catches up by DIFF or SNAP.
 */
const PEER_BACKLOG_BYTES_MAX = 64 * 1024 * 1024;

/** The frame limit peers need for transactions carrying up to `dataBytesMax` bytes of data. */
export function peerFrameBytesMax(dataBytesMax: number): number {
  return Math.max(PEER_FRAME_BYTES_MAX, 2 * dataBytesMax + 1024 * 1024);
}
const REDIAL_MS_MIN = 50;
const REDIAL_MS_MAX = 1000;
/** A dial whose TCP handshake hangs (a partition drops the SYN) is abandoned this soon. */
const HELLO_TIMEOUT_MS = 2000;

export interface PeerEvents {
  up(id: ServerId): void;
  down(id: ServerId): void;
  message(from: ServerId, msg: PeerMessage): void;
}

export interface PeerNetworkOptions {
  /** How members prove themselves to each other (a secret, TLS, or both). */
  auth: PeerAuth;
  /** Dial from this address (the node's own peer address), so links are tied to the node's IP. */
  localAddress?: string;
  /**
   * A link silent this long is closed and dialled again. A partition stalls TCP rather than
   * resetting it; without this, a healed link would wait out TCP's retransmission backoff.
   */
  silenceMsMax?: number;
  /** Frames above this are refused (the link is dropped), once authenticated. */
  frameBytesMax?: number;
}

export class PeerNetwork {
  private readonly links = new Map<ServerId, WebSocket>();
  /**
   * Frames sent in this turn of the event loop, per link, flushed together once the poll phase
   * has handed over all the input it read (setImmediate): a leader's commit fans out proposals,
   * commits and pings as many small messages, and one WebSocket frame (one syscall) for the lot
   * costs a fraction of one each. Flushing on the next tick instead sent a frame per client
   * socket that had data in that turn: a setData run had 20 messages per frame, against 63 now.
   */
  private readonly outbox = new Map<ServerId, { ws: WebSocket; frames: OutgoingFrame[] }>();
  /** When each link last carried any bytes; set up by listen(). */
  private liveness: LinkLiveness<ServerId> | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private readonly dialTimers = new Map<ServerId, NodeJS.Timeout>();
  private readonly redialMs = new Map<ServerId, number>();
  private http: Server | HttpsServer | undefined;
  private wss: WebSocketServer | undefined;
  private closed = false;
  /** Why the last connection attempt with a peer (by id, or by address before it proved itself) was refused, for /status. */
  readonly refusals = new Map<ServerId | string, string>();

  private readonly auth: PeerAuth;
  private readonly localAddress: string | undefined;
  private readonly silenceMsMax: number;
  private readonly frameBytesMax: number;
  private handshakes = 0;
  /** WebSocket frames sent on authenticated links (a batch counts once), for /metrics. */
  framesSent = 0;

  constructor(
    private readonly self: ServerId,
    private readonly members: PeerAddress[],
    private readonly peersSpec: string,
    private readonly events: PeerEvents,
    private readonly log: Logger,
    options: PeerNetworkOptions,
  ) {
    assert(options.auth.secret !== undefined || options.auth.tls !== undefined, "peer links need a secret or TLS");
    this.auth = options.auth;
    this.localAddress = options.localAddress;
    this.silenceMsMax = options.silenceMsMax ?? 1000;
    this.frameBytesMax = options.frameBytesMax ?? PEER_FRAME_BYTES_MAX;
  }

  /**
   * Pings every link and drops the ones that stopped answering. The timer only notes whether
   * this node was paused; the judging waits for setImmediate, after the poll phase has read
   * what arrived in the meantime (a timer due during a block runs before that input is read).
   */
  private checkLinks(liveness: LinkLiveness<ServerId>): void {
    const pausedMs = liveness.check(performance.now());
    if (pausedMs > 0) this.log.info({ pausedMs: Math.round(pausedMs) }, "this node was paused; its peers' silence during the pause does not count");
    setImmediate(() => {
      if (this.closed) return;
      const silent = liveness.silent(performance.now());
      for (const { id, silentMs } of silent) {
        this.log.warn({ peer: id, silentMs }, "peer link silent; closing it to reconnect");
        liveness.forget(id);
        this.links.get(id)?.terminate();
      }
      for (const ws of this.links.values()) if (ws.readyState === WebSocket.OPEN) ws.ping();
    });
  }

  /** Which proofs this node asks of its peers, for the log and /status. */
  get authenticatesBy(): { secret: boolean; tls: boolean } {
    return { secret: this.auth.secret !== undefined, tls: this.auth.tls !== undefined };
  }

  get connected(): ServerId[] {
    return [...this.links.keys()];
  }

  async listen(host: string, port: number): Promise<number> {
    const refuseHttp = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(426, { "content-type": "text/plain", connection: "close" });
      res.end("this is a Keeper peer port; clients connect to the client port\n");
    };
    const tls = this.auth.tls;
    // With TLS a peer without a certificate from the ensemble's CA is turned away by the TLS
    // handshake itself, before a byte of WebSocket is read.
    this.http = tls ? createHttpsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.2" }, refuseHttp) : createServer(refuseHttp);
    this.http.headersTimeout = HELLO_TIMEOUT_MS;
    this.http.requestTimeout = HELLO_TIMEOUT_MS;
    this.wss = new WebSocketServer({ server: this.http, maxPayload: HANDSHAKE_FRAME_BYTES_MAX, perMessageDeflate: false });
    this.wss.on("connection", (ws, req) => this.accept(ws, req.socket));
    await new Promise<void>((resolve, reject) => {
      this.http!.once("error", reject);
      this.http!.listen(port, host, () => resolve());
    });
    const checkEveryMs = Math.max(5, Math.floor(this.silenceMsMax / 4));
    const liveness = (this.liveness = new LinkLiveness<ServerId>(this.silenceMsMax, checkEveryMs, performance.now()));
    this.keepalive = setInterval(() => this.checkLinks(liveness), checkEveryMs);
    for (const m of this.members) if (m.id < this.self) this.dial(asServerId(m.id));
    const a = this.http.address();
    return typeof a === "object" && a ? a.port : port;
  }

  send(to: ServerId, msg: PeerMessage): void {
    const ws = this.links.get(to);
    if (!ws || ws.readyState !== WebSocket.OPEN) return; // a lost message is a lost link: ZAB copes
    if (ws.bufferedAmount > PEER_BACKLOG_BYTES_MAX) {
      this.log.warn({ peer: to, backlogBytes: ws.bufferedAmount }, "peer is not keeping up; closing its link (it rejoins by DIFF or SNAP)");
      ws.terminate();
      return;
    }
    let queued = this.outbox.get(to);
    if (queued === undefined || queued.ws !== ws) {
      if (this.outbox.size === 0) setImmediate(() => this.flush());
      queued = { ws, frames: [] };
      this.outbox.set(to, queued);
    }
    // The broadcast's messages are encoded at the flush, straight into their batch.
    queued.frames.push(isHot(msg) ? msg : encodePeerFrame({ kind: "message", msg }));
  }

  /** Bytes waiting to go to `to`: queued this turn plus what the socket has not sent yet. */
  backlog(to: ServerId): number {
    let bytes = this.links.get(to)?.bufferedAmount ?? 0;
    for (const f of this.outbox.get(to)?.frames ?? []) bytes += outgoingBytes(f);
    return bytes;
  }

  private flush(): void {
    for (const [to, { ws, frames }] of this.outbox) {
      // The link a frame was queued for may be gone: its frames go with it, never on a newer link.
      if (this.links.get(to) !== ws || ws.readyState !== WebSocket.OPEN) continue;
      let from = 0;
      let bytes = 0;
      for (let i = 0; i < frames.length; i++) {
        const size = outgoingBytes(frames[i]!);
        if (i > from && bytes + size > BATCH_BYTES_MAX) {
          this.sendFrames(ws, frames.slice(from, i));
          from = i;
          bytes = 0;
        }
        bytes += size;
      }
      if (from < frames.length) this.sendFrames(ws, from === 0 ? frames : frames.slice(from));
    }
    this.outbox.clear();
  }

  private sendFrames(ws: WebSocket, frames: OutgoingFrame[]): void {
    const only = frames.length === 1 ? frames[0]! : undefined;
    ws.send(only === undefined ? encodeBatch(frames) : only instanceof Uint8Array ? only : encodeHot(only));
    this.framesSent++;
  }

  private hello(nonce: Uint8Array, proof?: Uint8Array): Uint8Array {
    return encodePeerFrame({ kind: "hello", serverId: this.self, peers: this.peersSpec, protocolVersion: PEER_PROTOCOL_VERSION, nonce, ...(proof ? { proof } : {}) });
  }

  /** Checks a hello; returns the refusal reason, or undefined when the peer is welcome. */
  private judge(id: ServerId, peers: string, version: number, nonce: Uint8Array, expected?: ServerId): string | undefined {
    if (version !== PEER_PROTOCOL_VERSION) return `peer protocol ${version} is not ${PEER_PROTOCOL_VERSION}`;
    if (id === this.self) return `server id ${id} is this node's own id: two nodes share an id`;
    if (!this.members.some((m) => m.id === id)) return `server ${id} is not in the ensemble ${this.peersSpec}`;
    if (expected !== undefined && id !== expected) return `expected server ${expected} at that address, found ${id}`;
    if (expected === undefined && id < this.self) return `server ${id} dialled server ${this.self}: the higher id dials, so this link is server ${this.self}'s to make`;
    if (peers !== this.peersSpec) return `peer lists differ: server ${id} has "${peers}", server ${this.self} has "${this.peersSpec}"`;
    if (nonce.length !== NONCE_BYTES) return `a hello's nonce must be ${NONCE_BYTES} bytes, got ${nonce.length}`;
    return undefined;
  }

  /** With TLS: the certificate the other end presented must speak for `id`. */
  private certProblem(socket: Socket, id: ServerId): string | undefined {
    if (!this.auth.tls) return undefined;
    const tls = socket as TLSSocket;
    const certId = typeof tls.getPeerCertificate === "function" ? certServerId(tls.getPeerCertificate()) : undefined;
    if (certId === undefined) return `the TLS certificate names no server id (subject CN server.<id> expected)`;
    if (certId !== id) return `the TLS certificate is for server ${certId}, not server ${id}`;
    return undefined;
  }

  private noteRefusal(key: ServerId | string, reason: string): void {
    // A map fed by whoever connects: bounded, oldest entries go first.
    if (this.refusals.size >= REFUSALS_MAX && !this.refusals.has(key)) this.refusals.delete(this.refusals.keys().next().value!);
    this.refusals.set(key, reason);
  }

  /**
   * A link for an id that has a live one is refused, not swapped in: the live link stays. A
   * peer that restarted is back as soon as the old link is found dead, by the ping sent now
   * (a restarted process answers it with a reset) or by the silence window.
   */
  private liveLinkProblem(id: ServerId): string | undefined {
    const old = this.links.get(id);
    if (!old) return undefined;
    const silentMs = this.liveness?.silentMs(id, performance.now()) ?? 0;
    if (old.readyState === WebSocket.OPEN && silentMs <= this.silenceMsMax) {
      old.ping();
      return `server ${id} already has a live link to server ${this.self}`;
    }
    this.log.warn({ peer: id, silentMs: Math.round(silentMs) }, "a new authenticated link replaces a stale one");
    this.links.delete(id);
    this.liveness?.forget(id);
    old.removeAllListeners("close");
    old.terminate();
    this.events.down(id);
    return undefined;
  }

  /** The acceptor's side: hello in, hello with proof out, proof in, welcome out. */
  private accept(ws: WebSocket, socket: Socket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.handshakes >= HANDSHAKES_MAX) {
      this.log.warn({ remote }, "too many peer handshakes in progress; dropping a connection");
      return ws.terminate();
    }
    this.handshakes++;
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      this.handshakes--;
      clearTimeout(timer);
      ws.removeListener("message", onMessage);
      return true;
    };
    const timer = setTimeout(() => {
      if (finish()) ws.terminate();
    }, HELLO_TIMEOUT_MS);
    // Before the other end proves itself, reasons are noted under its address, not the id it
    // claims: a stranger cannot put words in a real peer's /status line.
    const refuse = (key: ServerId | string, reason: string, level: "warn" | "error" = "error") => {
      if (!finish()) return;
      this.noteRefusal(key, reason);
      this.log[level]({ peer: key, remote, reason }, "refused a peer connection");
      ws.send(encodePeerFrame({ kind: "refusal", reason }));
      ws.close(1008, reason.slice(0, 120));
    };
    let claimed: { id: ServerId; dialerNonce: Uint8Array; acceptorNonce: Uint8Array } | undefined;
    const onMessage = (data: Buffer) => {
      let f;
      try {
        f = decodePeerFrame(data);
      } catch (e) {
        if (finish()) ws.terminate();
        return this.log.warn({ remote, err: (e as Error).message }, "peer sent a malformed handshake frame");
      }
      if (claimed === undefined) {
        if (f.kind !== "hello") return refuse(remote, "hello expected");
        const reason = this.judge(f.serverId, f.peers, f.protocolVersion, f.nonce) ?? this.certProblem(socket, f.serverId);
        if (reason) return refuse(remote, reason);
        claimed = { id: f.serverId, dialerNonce: f.nonce, acceptorNonce: newNonce() };
        const proof = this.auth.secret ? proofOf(this.auth.secret, "accept", this.facts(claimed.id, this.self, claimed)) : undefined;
        ws.send(this.hello(claimed.acceptorNonce, proof));
        return;
      }
      if (f.kind !== "proof") return refuse(remote, "proof expected");
      if (this.auth.secret && !proofValid(this.auth.secret, "dial", this.facts(claimed.id, this.self, claimed), f.proof)) {
        return refuse(remote, `server ${claimed.id} could not prove it holds the ensemble's peer secret`);
      }
      const live = this.liveLinkProblem(claimed.id);
      if (live) return refuse(claimed.id, live, "warn");
      if (!finish()) return;
      ws.send(encodePeerFrame({ kind: "welcome" }));
      this.established(claimed.id, ws, socket);
    };
    ws.on("message", onMessage);
    ws.on("error", () => ws.terminate());
    ws.once("close", () => finish());
  }

  private facts(dialer: ServerId, acceptor: ServerId, n: { dialerNonce: Uint8Array; acceptorNonce: Uint8Array }): HandshakeFacts {
    return { peers: this.peersSpec, dialer, acceptor, dialerNonce: n.dialerNonce, acceptorNonce: n.acceptorNonce };
  }

  /** The dialer's side: hello out, the acceptor's hello and proof in, proof out, welcome in. */
  private dial(id: ServerId): void {
    if (this.closed || this.links.has(id)) return;
    const addr = this.members.find((m) => m.id === id)!;
    const tls = this.auth.tls;
    const ws = new WebSocket(`${tls ? "wss" : "ws"}://${addr.host}:${addr.port}/`, {
      maxPayload: HANDSHAKE_FRAME_BYTES_MAX,
      perMessageDeflate: false,
      handshakeTimeout: HELLO_TIMEOUT_MS,
      ...(this.localAddress ? { localAddress: this.localAddress } : {}),
      // Peers are named by address in the peer list; what binds a certificate to a peer is the
      // server id it names, checked below, not a host name.
      ...(tls ? { key: tls.key, cert: tls.cert, ca: tls.ca, checkServerIdentity: () => undefined } : {}),
      // An all-zero masking key: ws then skips masking, and the acceptor unmasking, every byte
      // in JavaScript (this machine has no bufferutil). Masking protects proxies from a browser
      // page's forged requests; a peer link is server to server and authenticated by its own
      // proof, so it only cost CPU on every replicated byte.
      generateMask: (mask: Buffer) => mask.fill(0),
    });
    let settled = false;
    const timer = setTimeout(() => retry(), HELLO_TIMEOUT_MS * 2);
    const retry = () => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      ws.terminate();
      this.scheduleDial(id);
    };
    const refused = (reason: string) => {
      this.noteRefusal(id, reason);
      this.log.error({ peer: id, reason }, "refusing peer");
      retry();
    };
    let socket: Socket | undefined;
    const dialerNonce = newNonce();
    let acceptorNonce: Uint8Array | undefined;
    ws.once("upgrade", (res: IncomingMessage) => (socket = res.socket));
    ws.once("open", () => ws.send(this.hello(dialerNonce)));
    const onMessage = (data: Buffer) => {
      let f;
      try {
        f = decodePeerFrame(data);
      } catch {
        return retry();
      }
      if (f.kind === "refusal") {
        this.noteRefusal(id, f.reason);
        this.log.warn({ peer: id, reason: f.reason }, "peer refused this node");
        return retry();
      }
      if (acceptorNonce === undefined) {
        if (f.kind !== "hello") return refused("hello expected");
        const reason = this.judge(f.serverId, f.peers, f.protocolVersion, f.nonce, id) ?? this.certProblem(socket!, id);
        if (reason) return refused(reason);
        acceptorNonce = f.nonce;
        const facts = this.facts(this.self, id, { dialerNonce, acceptorNonce });
        if (this.auth.secret && !proofValid(this.auth.secret, "accept", facts, f.proof ?? new Uint8Array())) {
          return refused(`server ${id} could not prove it holds the ensemble's peer secret`);
        }
        ws.send(encodePeerFrame({ kind: "proof", proof: this.auth.secret ? proofOf(this.auth.secret, "dial", facts) : new Uint8Array() }));
        return;
      }
      if (f.kind !== "welcome") return refused("welcome expected");
      if (this.links.has(id)) return retry(); // raced by a link that came up meanwhile
      settled = true;
      clearTimeout(timer);
      ws.removeListener("message", onMessage);
      this.established(id, ws, socket!);
    };
    ws.on("message", onMessage);
    ws.once("error", retry);
    ws.once("close", retry);
  }

  private scheduleDial(id: ServerId): void {
    if (this.closed || this.dialTimers.has(id)) return;
    const ms = this.redialMs.get(id) ?? REDIAL_MS_MIN;
    this.redialMs.set(id, Math.min(REDIAL_MS_MAX, ms * 2));
    this.dialTimers.set(id, setTimeout(() => {
      this.dialTimers.delete(id);
      this.dial(id);
    }, ms));
  }

  private established(id: ServerId, ws: WebSocket, socket: Socket): void {
    assert(!this.links.has(id), `a second link for server ${id}`);
    // Authenticated: from now on frames may be as large as a transaction or a SNAP piece. ws has
    // no public setter for its receiver's limit; the handshake ran under the small one.
    const receiver = (ws as unknown as { _receiver?: { _maxPayload: number } })._receiver;
    assert(receiver !== undefined && typeof receiver._maxPayload === "number", "ws keeps its frame limit in _receiver._maxPayload");
    receiver._maxPayload = this.frameBytesMax;
    this.refusals.delete(id);
    this.redialMs.delete(id);
    this.links.set(id, ws);
    this.liveness?.heard(id, performance.now());
    this.log.info({ peer: id }, "peer link up");
    // Any bytes count, not only whole messages: a SNAP of a large tree is one message that
    // can take longer than the silence window to arrive.
    socket.on("data", () => {
      if (this.links.get(id) === ws) this.liveness?.heard(id, performance.now());
    });
    ws.on("message", (data: Buffer) => {
      let f;
      try {
        f = decodePeerFrame(data);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        this.log.error({ peer: id, err: e.message }, "malformed peer frame; dropping the link");
        return ws.terminate();
      }
      if (f.kind === "message") this.events.message(id, f.msg);
      else if (f.kind === "batch") for (const msg of f.messages) if (this.links.get(id) === ws) this.events.message(id, msg);
    });
    ws.on("close", () => {
      if (this.links.get(id) !== ws) return;
      this.links.delete(id);
      this.liveness?.forget(id);
      this.log.info({ peer: id }, "peer link down");
      this.events.down(id);
      if (id < this.self) this.scheduleDial(id);
    });
    ws.on("error", () => ws.terminate());
    this.events.up(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.keepalive) clearInterval(this.keepalive);
    for (const t of this.dialTimers.values()) clearTimeout(t);
    for (const ws of this.links.values()) ws.terminate();
    this.links.clear();
    if (this.wss) {
      for (const c of this.wss.clients) c.terminate();
      await new Promise<void>((r) => this.wss!.close(() => r()));
    }
    if (this.http) {
      this.http.closeAllConnections();
      await new Promise<void>((r) => this.http!.close(() => r()));
    }
  }
}
