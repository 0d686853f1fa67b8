// A read-only ZooKeeper client for `keeper copy --from zk://...`: one TCP session on the
// ZooKeeper wire protocol (the jute codec of @keeper/protocol), requests matched to replies
// by xid, pings at a third of the session timeout, and only the reads a copy needs.
import { connect as netConnect, type Socket } from "node:net";
import { AUTH_XID, Code, FrameDecoder, KeeperError, PING_XID, decodeConnectResponse, decodeReply, encodeConnectRequest, encodeZkRequest, zkRequestOpcode, type Acl, type ZkReply, type ZkRequest } from "@keeper/protocol";
import type { SourceNode, TreeSource } from "./tree-transfer.ts";

const FRAME_BYTES_MAX = 64 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

export interface ZkUrl {
  host: string;
  port: number;
  path: string;
}

/** "zk://host:port/path" (path default "/", port default 2181). */
export function parseZkUrl(text: string): ZkUrl {
  const m = /^zk:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?(\/.*)?$/.exec(text);
  if (!m) throw new Error(`--from: expected zk://HOST[:PORT][/PATH], got "${text}"`);
  const port = m[2] === undefined ? 2181 : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`--from: bad port in "${text}"`);
  const path = m[3] === undefined || m[3] === "/" ? "/" : m[3].replace(/\/+$/, "");
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port, path };
}

export class ZkSource implements TreeSource {
  private xid = 0;
  private readonly pending = new Map<number, { opcode: number; resolve: (r: ZkReply) => void; reject: (e: Error) => void }>();
  private failed: Error | undefined;
  private readonly pinger: NodeJS.Timeout;

  private constructor(
    private readonly socket: Socket,
    private readonly decoder: FrameDecoder,
    timeoutMs: number,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (e) => this.fail(e));
    socket.on("close", () => this.fail(new Error("the ZooKeeper server closed the connection")));
    this.pinger = setInterval(() => this.failed ?? socket.write(encodeZkRequest(PING_XID, { type: "ping" })), Math.max(500, Math.floor(timeoutMs / 3)));
  }

  static async connect(url: ZkUrl, connectTimeoutMs: number): Promise<ZkSource> {
    const socket = netConnect(url.port, url.host);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(FRAME_BYTES_MAX);
    const frame = await new Promise<Uint8Array>((resolve, reject) => {
      const fail = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`cannot connect to ZooKeeper at ${url.host}:${url.port}: ${e.message}`));
      };
      const timer = setTimeout(() => fail(new Error(`no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      socket.once("error", fail);
      socket.once("connect", () => socket.write(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30_000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false })));
      const onData = (chunk: Buffer) => {
        const frames = decoder.push(chunk);
        if (frames.length === 0) return;
        clearTimeout(timer);
        socket.off("data", onData);
        socket.off("error", fail);
        resolve(frames[0]!);
      };
      socket.on("data", onData);
    });
    const rsp = decodeConnectResponse(frame);
    if (rsp.timeOut <= 0) {
      socket.destroy();
      throw new Error(`ZooKeeper at ${url.host}:${url.port} refused the session`);
    }
    return new ZkSource(socket, decoder, rsp.timeOut);
  }

  async addAuth(userPassword: string): Promise<void> {
    const reply = await this.send({ type: "auth", authType: 0, scheme: "digest", auth: new TextEncoder().encode(userPassword) }, AUTH_XID);
    if (reply.err !== Code.OK) throw new KeeperError(reply.err as Code, "ZooKeeper refused the credentials");
  }

  async children(path: string): Promise<string[]> {
    const reply = await this.send({ type: "getChildren", path, watch: false });
    if (reply.err !== Code.OK) throw new KeeperError(reply.err as Code, undefined, path);
    return reply.body?.type === "getChildren" ? reply.body.children : [];
  }

  async node(path: string): Promise<SourceNode> {
    // Pipelined: both go out before either answer is awaited.
    const [data, acl] = await Promise.all([this.send({ type: "getData", path, watch: false }), this.send({ type: "getACL", path })]);
    for (const r of [data, acl]) if (r.err !== Code.OK) throw new KeeperError(r.err as Code, undefined, path);
    if (data.body?.type !== "getData" || acl.body?.type !== "getACL") throw new Error(`unexpected reply for ${path}`);
    const acls: Acl[] = acl.body.acl.map((a) => ({ perms: a.perms, scheme: a.scheme ?? "", id: a.id ?? "" }));
    return { data: data.body.data ?? new Uint8Array(0), acl: acls, ephemeral: data.body.stat.ephemeralOwner !== 0n, cversion: data.body.stat.cversion, numChildren: data.body.stat.numChildren };
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    if (!this.failed) {
      this.failed = new Error("closed");
      await new Promise<void>((resolve) => this.socket.end(encodeZkRequest(++this.xid, { type: "closeSession" }), () => resolve()));
    }
    this.socket.destroy();
  }

  private send(req: ZkRequest, fixedXid?: number): Promise<ZkReply> {
    if (this.failed) return Promise.reject(this.failed);
    const xid = fixedXid ?? ++this.xid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new Error(`ZooKeeper did not answer within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(xid, {
        opcode: zkRequestOpcode(req),
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.socket.write(encodeZkRequest(xid, req));
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      return this.fail(e as Error);
    }
    for (const frame of frames) {
      const xid = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt32(0);
      const waiting = this.pending.get(xid);
      // Pings and (unrequested) notifications have no waiter.
      if (waiting === undefined) continue;
      this.pending.delete(xid);
      waiting.resolve(decodeReply(frame, waiting.opcode));
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    clearInterval(this.pinger);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
