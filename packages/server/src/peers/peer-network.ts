// Links to the other voting members over WebSocket. One link per pair: the node with the
// higher id dials, the lower one accepts, so two nodes never race two links into existence.
// Each link starts with a hello naming the sender and the peer list it was given; a sender
// outside the ensemble, or with a different list, is refused with a reason both sides log.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import WebSocket, { WebSocketServer } from "ws";
import { FrameError } from "@keeper/protocol";
import { asServerId, type PeerMessage, type ServerId } from "@keeper/core";
import type { Logger } from "../logger.ts";
import type { PeerAddress } from "../config.ts";
import { decodePeerFrame, encodePeerFrame } from "./peer-codec.ts";
import { LinkLiveness } from "./liveness.ts";

/** 2: frames may be batches. 3: a SNAP may come in pieces (snapChunk). */
const PEER_PROTOCOL_VERSION = 3;
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

export class PeerNetwork {
  private readonly links = new Map<ServerId, WebSocket>();
  /**
   * Frames sent in this turn of the event loop, per link, flushed together on the next tick:
   * a leader's commit fans out proposals, commits and pings as many small messages, and one
   * WebSocket frame (one syscall) for the lot costs a fraction of one each.
   */
  private readonly outbox = new Map<ServerId, { ws: WebSocket; frames: Uint8Array[] }>();
  /** When each link last carried any bytes; set up by listen(). */
  private liveness: LinkLiveness<ServerId> | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private readonly dialTimers = new Map<ServerId, NodeJS.Timeout>();
  private readonly redialMs = new Map<ServerId, number>();
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private closed = false;
  /** Why the last connection attempt with a peer was refused, for /status. */
  readonly refusals = new Map<ServerId | string, string>();

  constructor(
    private readonly self: ServerId,
    private readonly members: PeerAddress[],
    private readonly peersSpec: string,
    private readonly events: PeerEvents,
    private readonly log: Logger,
    /** Dial from this address (the node's own peer address), so links are tied to the node's IP. */
    private readonly localAddress?: string,
    /**
     * A link silent this long is closed and dialled again. A partition stalls TCP rather than
     * resetting it; without this, a healed link would wait out TCP's retransmission backoff.
     */
    private readonly silenceMsMax = 1000,
    /** Frames above this are refused (the link is dropped). */
    private readonly frameBytesMax = PEER_FRAME_BYTES_MAX,
  ) {}

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

  get connected(): ServerId[] {
    return [...this.links.keys()];
  }

  async listen(host: string, port: number): Promise<number> {
    this.http = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" });
      res.end("this is a Keeper peer port; clients connect to the client port\n");
    });
    this.wss = new WebSocketServer({ server: this.http, maxPayload: this.frameBytesMax, perMessageDeflate: false });
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
      if (this.outbox.size === 0) process.nextTick(() => this.flush());
      queued = { ws, frames: [] };
      this.outbox.set(to, queued);
    }
    queued.frames.push(encodePeerFrame({ kind: "message", msg }));
  }

  /** Bytes waiting to go to `to`: queued this turn plus what the socket has not sent yet. */
  backlog(to: ServerId): number {
    let bytes = this.links.get(to)?.bufferedAmount ?? 0;
    for (const f of this.outbox.get(to)?.frames ?? []) bytes += f.length;
    return bytes;
  }

  private flush(): void {
    for (const [to, { ws, frames }] of this.outbox) {
      // The link a frame was queued for may be gone: its frames go with it, never on a newer link.
      if (this.links.get(to) !== ws || ws.readyState !== WebSocket.OPEN) continue;
      let batch: Uint8Array[] = [];
      let bytes = 0;
      const sendBatch = () => {
        if (batch.length === 1) ws.send(batch[0]!);
        else if (batch.length > 1) ws.send(encodePeerFrame({ kind: "batch", frames: batch }));
        batch = [];
        bytes = 0;
      };
      for (const f of frames) {
        if (bytes + f.length > BATCH_BYTES_MAX) sendBatch();
        batch.push(f);
        bytes += f.length;
      }
      sendBatch();
    }
    this.outbox.clear();
  }

  private hello(): Uint8Array {
    return encodePeerFrame({ kind: "hello", serverId: this.self, peers: this.peersSpec, protocolVersion: PEER_PROTOCOL_VERSION });
  }

  /** Checks a hello; returns the refusal reason, or undefined when the peer is welcome. */
  private judge(id: ServerId, peers: string, version: number, expected?: ServerId): string | undefined {
    if (version !== PEER_PROTOCOL_VERSION) return `peer protocol ${version} is not ${PEER_PROTOCOL_VERSION}`;
    if (id === this.self) return `server id ${id} is this node's own id: two nodes share an id`;
    if (!this.members.some((m) => m.id === id)) return `server ${id} is not in the ensemble ${this.peersSpec}`;
    if (expected !== undefined && id !== expected) return `expected server ${expected} at that address, found ${id}`;
    if (peers !== this.peersSpec) return `peer lists differ: server ${id} has "${peers}", server ${this.self} has "${this.peersSpec}"`;
    return undefined;
  }

  private accept(ws: WebSocket, socket: Socket): void {
    const timer = setTimeout(() => ws.terminate(), HELLO_TIMEOUT_MS);
    ws.once("message", (data: Buffer) => {
      clearTimeout(timer);
      let f;
      try {
        f = decodePeerFrame(data);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, "peer sent a malformed hello");
        return ws.terminate();
      }
      if (f.kind !== "hello") return ws.close(1008, "hello expected");
      const reason = this.judge(f.serverId, f.peers, f.protocolVersion);
      if (reason) {
        this.refusals.set(f.serverId, reason);
        this.log.error({ peer: f.serverId, reason }, "refused a peer connection");
        ws.send(encodePeerFrame({ kind: "refusal", reason }));
        return ws.close(1008, reason.slice(0, 120));
      }
      ws.send(this.hello());
      this.established(f.serverId, ws, socket);
    });
    ws.on("error", () => ws.terminate());
  }

  private dial(id: ServerId): void {
    if (this.closed || this.links.has(id)) return;
    const addr = this.members.find((m) => m.id === id)!;
    const ws = new WebSocket(`ws://${addr.host}:${addr.port}/`, {
      maxPayload: this.frameBytesMax,
      perMessageDeflate: false,
      handshakeTimeout: HELLO_TIMEOUT_MS,
      ...(this.localAddress ? { localAddress: this.localAddress } : {}),
    });
    let settled = false;
    const retry = () => {
      if (settled) return;
      settled = true;
      ws.terminate();
      this.scheduleDial(id);
    };
    let socket: Socket | undefined;
    ws.once("upgrade", (res: IncomingMessage) => (socket = res.socket));
    ws.once("open", () => ws.send(this.hello()));
    ws.once("message", (data: Buffer) => {
      let f;
      try {
        f = decodePeerFrame(data);
      } catch {
        return retry();
      }
      if (f.kind === "refusal") {
        this.refusals.set(id, f.reason);
        this.log.error({ peer: id, reason: f.reason }, "peer refused this node");
        return retry();
      }
      const reason = f.kind === "hello" ? this.judge(f.serverId, f.peers, f.protocolVersion, id) : "hello expected";
      if (reason) {
        this.refusals.set(id, reason);
        this.log.error({ peer: id, reason }, "refusing peer");
        return retry();
      }
      settled = true;
      this.established(id, ws, socket!);
    });
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
    const old = this.links.get(id);
    if (old) {
      // The peer restarted and came back before we noticed the old link die.
      this.links.delete(id);
      old.removeAllListeners("close");
      old.terminate();
      this.events.down(id);
    }
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
