// A bare ZooKeeper wire connection for tests that send what no real client would (truncated
// frames, oversized lengths, unknown opcodes, garbage): raw bytes out, frames in, decoded with
// the jute codec of @keeper/protocol.
import { connect as netConnect, type Socket } from "node:net";
import {
  FrameDecoder,
  NOTIFICATION_XID,
  decodeConnectResponse,
  decodeReply,
  decodeWatchEvent,
  encodeConnectRequest,
  encodeZkRequest,
  zkRequestOpcode,
  type ZkConnectResponse,
  type ZkReply,
  type ZkRequest,
} from "@keeper/protocol";

export class RawZk {
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private readonly frames: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  /** Resolves when the server closes the connection (or it errors). */
  readonly closed: Promise<void>;
  readonly events: Array<{ type: number; state: number; path: string }> = [];

  private constructor(readonly sock: Socket) {
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      };
      sock.once("close", done);
      sock.on("error", () => {}); // a reset is a close here
    });
    sock.on("data", (chunk: Buffer) => {
      try {
        this.frames.push(...this.decoder.push(chunk));
      } catch {
        sock.destroy();
      }
      this.waiter?.();
    });
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawZk> {
    return new Promise((resolve, reject) => {
      const s = netConnect(port, host);
      s.setNoDelay(true);
      s.once("connect", () => resolve(new RawZk(s)));
      s.once("error", reject);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  write(bytes: Uint8Array | string): void {
    this.sock.write(bytes);
  }

  /** The next frame, or "closed" if the server closes first, or "timeout". */
  async nextFrame(timeoutMs = 5_000): Promise<Uint8Array | "closed" | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.ended) return "closed";
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  /** Sends a ConnectRequest (a new session, or `resume` an old one) and reads the ConnectResponse. */
  async handshake(resume?: { sessionId: bigint; passwd: Uint8Array }, timeOut = 10_000): Promise<ZkConnectResponse> {
    this.write(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0n, timeOut, sessionId: resume?.sessionId ?? 0n, passwd: resume?.passwd ?? new Uint8Array(16), readOnly: false }));
    const f = await this.nextFrame();
    if (typeof f === "string") throw new Error(`no ConnectResponse: ${f}`);
    return decodeConnectResponse(f);
  }

  /** The reply to the next non-notification frame, decoded as a reply to `opcode`. */
  async reply(opcode: number, timeoutMs = 5_000): Promise<ZkReply | "closed" | "timeout"> {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (typeof f === "string") return f;
      if (new DataView(f.buffer, f.byteOffset).getInt32(0) === NOTIFICATION_XID) {
        this.events.push(decodeWatchEvent(f).event);
        continue;
      }
      return decodeReply(f, opcode);
    }
  }

  /** Sends `req` with `xid` and waits for its reply. */
  async request(xid: number, req: ZkRequest, timeoutMs = 5_000): Promise<ZkReply | "closed" | "timeout"> {
    this.write(encodeZkRequest(xid, req));
    return this.reply(zkRequestOpcode(req), timeoutMs);
  }

  end(): void {
    this.sock.end();
    this.sock.destroy();
  }
}

/** A 4-byte big-endian length prefix. */
export function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
